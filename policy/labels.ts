// Every GCP resource that can carry labels carries the project's: app=meshscope, stack=<stack>,
// managed-by=pulumi (infra/naming.ts projectLabels; a test keeps the two equal). Labels are how billing,
// inventory and cleanup find what a stack owns.
import { at, isUnknown, Props, ResourceRule, RuleContext } from './rule';

/**
 * Label-carrying types and the input that holds their labels. A test checks every GCP type the program
 * registers against @pulumi/gcp's declarations, so a new labellable type must be added here.
 */
export const LABELLED_TYPES: Readonly<Record<string, string>> = {
  'gcp:container/cluster:Cluster': 'resourceLabels',
  'gcp:container/nodePool:NodePool': 'nodeConfig.resourceLabels',
  'gcp:compute/instance:Instance': 'labels',
  'gcp:compute/instanceTemplate:InstanceTemplate': 'labels',
  'gcp:compute/regionInstanceTemplate:RegionInstanceTemplate': 'labels',
  'gcp:compute/disk:Disk': 'labels',
  'gcp:compute/image:Image': 'labels',
  'gcp:compute/address:Address': 'labels',
  'gcp:compute/globalAddress:GlobalAddress': 'labels',
  'gcp:compute/forwardingRule:ForwardingRule': 'labels',
  'gcp:artifactregistry/repository:Repository': 'labels',
  'gcp:secretmanager/secret:Secret': 'labels',
  'gcp:storage/bucket:Bucket': 'labels',
  'gcp:dns/managedZone:ManagedZone': 'labels',
  'gcp:kms/cryptoKey:CryptoKey': 'labels',
};

/** The label GCP allows for a stack name (lowercase letters, digits, `-`, `_`). */
export function stackLabelValue(stack: string): string {
  return stack.toLowerCase().replace(/[^a-z0-9_-]/g, '-');
}

/** The labels a resource of `stack` must carry; without a stack, the stack label need only be non-empty. */
export function requiredLabels(stack?: string): Record<string, string | undefined> {
  return { app: 'meshscope', stack: stack === undefined ? undefined : stackLabelValue(stack), 'managed-by': 'pulumi' };
}

export const projectLabels: ResourceRule = {
  name: 'project-labels',
  description: 'Every labellable GCP resource carries app=meshscope, stack=<stack> and managed-by=pulumi.',
  types: Object.keys(LABELLED_TYPES),
  validate(type, props: Props, ctx: RuleContext) {
    const path = LABELLED_TYPES[type];
    if (!path) return [];
    const labels = at(props, path);
    if (isUnknown(labels)) return (ctx.undecided(labels), []);
    const have: Props = labels && typeof labels === 'object' ? labels : {};
    return Object.entries(requiredLabels(ctx.stack)).flatMap(([key, want]) => {
      const got = have[key];
      if (isUnknown(got)) return (ctx.undecided(got), []);
      if (want === undefined ? typeof got === 'string' && got !== '' : got === want) return [];
      return [`${path}.${key} is ${JSON.stringify(got) ?? 'missing'}; allowed: ${want === undefined ? 'the stack name' : JSON.stringify(want)}`];
    });
  },
};
