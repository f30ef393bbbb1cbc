// The meshscope policy pack. `pulumi preview --policy-pack policy` runs this file: constructing the pack
// starts the analyzer the Pulumi CLI talks to. The policies themselves live in pack.ts and its modules.
import { PolicyPack } from '@pulumi/policy';
import { PACK_ARGS, PACK_NAME } from './pack';

new PolicyPack(PACK_NAME, PACK_ARGS);
