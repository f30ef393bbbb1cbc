// The resource type tokens the policies read, named once. The pack does not depend on @pulumi/gcp: it
// judges resources by token and input shape, so it keeps working as components come and go.

export const INSTANCE = 'gcp:compute/instance:Instance';
export const INSTANCE_TEMPLATE = 'gcp:compute/instanceTemplate:InstanceTemplate';
export const REGION_INSTANCE_TEMPLATE = 'gcp:compute/regionInstanceTemplate:RegionInstanceTemplate';
export const FIREWALL = 'gcp:compute/firewall:Firewall';
export const PROJECT_METADATA = 'gcp:compute/projectMetadata:ProjectMetadata';
export const PROJECT_METADATA_ITEM = 'gcp:compute/projectMetadataItem:ProjectMetadataItem';
export const CLUSTER = 'gcp:container/cluster:Cluster';
export const NODE_POOL = 'gcp:container/nodePool:NodePool';

/** Everything that becomes a GCE VM and shares the Instance input shape (interfaces, account, shielding, metadata). */
export const VM_TYPES = [INSTANCE, INSTANCE_TEMPLATE, REGION_INSTANCE_TEMPLATE] as const;

/** The stack's root resource; its outputs are the stack outputs. */
export const STACK = 'pulumi:pulumi:Stack';
