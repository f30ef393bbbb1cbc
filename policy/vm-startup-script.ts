// A VM's boot script goes in metadata["startup-script"], which GCE updates in place. The provider's
// `metadataStartupScript` input forces a new instance on any edit (@pulumi/gcp compute.Instance docs), so
// one changed line of a boot script would recreate every VM of the stack, and its disk with it.
import { VM_TYPES } from './gcp-types';
import { isUnknown, ResourceRule } from './rule';

export const startupScriptInMetadata: ResourceRule = {
  name: 'startup-script-in-metadata',
  description: 'VMs carry their boot script in metadata["startup-script"] (updated in place), never in metadataStartupScript (replaces the VM on every edit).',
  types: VM_TYPES,
  validate(_type, props, ctx) {
    const script = props.metadataStartupScript;
    if (isUnknown(script)) return (ctx.undecided(script), []);
    if (script === undefined || script === null || script === '') return [];
    return [`metadataStartupScript is set (${String(script).length} characters); any edit to it replaces the VM. `
      + 'Allowed: unset, with the script in metadata["startup-script"], which GCE updates in place'];
  },
};
