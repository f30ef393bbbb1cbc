// The resource type tokens the policies read, named once. The pack does not depend on @pulumi/gcp: it
// judges resources by token and input shape, so it keeps working as components come and go.

export const INSTANCE = 'gcp:compute/instance:Instance';
export const INSTANCE_TEMPLATE = 'gcp:compute/instanceTemplate:InstanceTemplate';
export const REGION_INSTANCE_TEMPLATE = 'gcp:compute/regionInstanceTemplate:RegionInstanceTemplate';
export const INSTANCE_FROM_TEMPLATE = 'gcp:compute/instanceFromTemplate:InstanceFromTemplate';
export const INSTANCE_FROM_MACHINE_IMAGE = 'gcp:compute/instanceFromMachineImage:InstanceFromMachineImage';
export const FIREWALL = 'gcp:compute/firewall:Firewall';
export const PROJECT_METADATA = 'gcp:compute/projectMetadata:ProjectMetadata';
export const PROJECT_METADATA_ITEM = 'gcp:compute/projectMetadataItem:ProjectMetadataItem';
export const CLUSTER = 'gcp:container/cluster:Cluster';
export const NODE_POOL = 'gcp:container/nodePool:NodePool';
export const SERVICE_ACCOUNT_KEY = 'gcp:serviceaccount/key:Key';
export const HMAC_KEY = 'gcp:storage/hmacKey:HmacKey';

/**
 * Everything that becomes a GCE VM and shares the Instance input shape (interfaces, account, shielding,
 * metadata). An instance from a template or image is judged on its own inputs: its source may live outside
 * the stack, where no policy sees it, so it must state the safe settings itself.
 */
export const VM_TYPES = [INSTANCE, INSTANCE_TEMPLATE, REGION_INSTANCE_TEMPLATE, INSTANCE_FROM_TEMPLATE, INSTANCE_FROM_MACHINE_IMAGE] as const;

/** The stack's root resource; its outputs are the stack outputs. */
export const STACK = 'pulumi:pulumi:Stack';
