// Every policy of the pack, in one list each for resources and the stack: index.ts serves these lists and
// the tests walk the same lists, so a policy added here is enforced and tested without further wiring.
import { noWorldOpenFirewall } from './firewall-world';
import { noHostAccess } from './k8s-host-isolation';
import { imageSources } from './k8s-image-sources';
import { noRbacWildcards } from './k8s-rbac-wildcards';
import { resourceRequests } from './k8s-resource-requests';
import { noSecretValues } from './k8s-secret-values';
import { servicesNotPublic } from './k8s-service-exposure';
import { sshOnlyFromIap } from './firewall-ssh';
import { gkeAuthorizedNetworks, gkeHardening } from './gke-hardening';
import { gkeNetworkPolicy, gkeVpcNative } from './gke-networking';
import { projectLabels } from './labels';
import { noSecretsInMetadata } from './metadata-secrets';
import { noPublicIam } from './public-iam';
import { ResourceRule, StackRule } from './rule';
import { noServiceAccountKeys } from './service-account-keys';
import { dedicatedServiceAccounts } from './service-accounts';
import { noSecretOutputs } from './stack-outputs';
import { vmNoPublicIp } from './vm-public-ip';
import { startupScriptInMetadata } from './vm-startup-script';
import { shieldedVms } from './vm-shielded';
import { workloadEntryHealthChecked } from './workload-entry-health';

export const RESOURCE_RULES: readonly ResourceRule[] = [
  vmNoPublicIp,
  shieldedVms,
  startupScriptInMetadata,
  dedicatedServiceAccounts,
  noSecretsInMetadata,
  noWorldOpenFirewall,
  sshOnlyFromIap,
  noServiceAccountKeys,
  noPublicIam,
  gkeNetworkPolicy,
  gkeVpcNative,
  gkeHardening,
  gkeAuthorizedNetworks,
  projectLabels,
  workloadEntryHealthChecked,
  servicesNotPublic,
  noHostAccess,
  resourceRequests,
  imageSources,
  noSecretValues,
  noRbacWildcards,
];

export const STACK_RULES: readonly StackRule[] = [noSecretOutputs];
