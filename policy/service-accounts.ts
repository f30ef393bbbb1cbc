// VMs and nodes run as dedicated service accounts. The default compute account has Editor on the project
// in many projects, and an omitted account means GCE/GKE falls back to it. On nodes, the cloud-platform
// scope would let every pod that reaches the metadata server use all of the account's IAM roles; nodes
// get narrow scopes instead (VMs may keep cloud-platform: their account is theirs alone and IAM bounds it).
import { CLUSTER, NODE_POOL, VM_TYPES } from './gcp-types';
import { at, listAt, Props, ResourceRule } from './rule';

const DEFAULT_COMPUTE_ACCOUNT = /^\d+-compute@developer\.gserviceaccount\.com$/;
const CLOUD_PLATFORM_SCOPES = ['https://www.googleapis.com/auth/cloud-platform', 'cloud-platform'];

function accountProblem(path: string, email: unknown): string | undefined {
  if (email === undefined || email === null || email === '') {
    return `${path} is unset, so the default compute account is used; allowed: the email of a dedicated service account`;
  }
  if (email === 'default' || (typeof email === 'string' && DEFAULT_COMPUTE_ACCOUNT.test(email))) {
    return `${path} is "${email}", the default compute account; allowed: the email of a dedicated service account`;
  }
  return undefined;
}

function scopeProblems(path: string, scopes: unknown): string[] {
  return (Array.isArray(scopes) ? scopes : [])
    .filter((s) => CLOUD_PLATFORM_SCOPES.includes(s))
    .map((s) => `${path} includes "${s}"; allowed on nodes: narrow scopes such as logging.write, monitoring, devstorage.read_only`);
}

/** A GKE node configuration (a pool's, the cluster's default pool's, or node auto-provisioning's). */
function nodeConfigProblems(path: string, config: Props, accountKey: string, scopesKey: string): string[] {
  return [accountProblem(`${path}.${accountKey}`, config[accountKey]), ...scopeProblems(`${path}.${scopesKey}`, config[scopesKey])]
    .filter((p): p is string => p !== undefined);
}

function clusterProblems(props: Props): string[] {
  const problems: string[] = [];
  const nodeConfig = at(props, 'nodeConfig');
  if (nodeConfig) {
    problems.push(...nodeConfigProblems('nodeConfig', nodeConfig, 'serviceAccount', 'oauthScopes'));
  } else if (props.removeDefaultNodePool !== true && props.enableAutopilot !== true) {
    // The default pool lives on with no nodeConfig: GKE gives it the default compute account.
    problems.push('the default node pool is kept with no nodeConfig, so it runs as the default compute account; ' +
      'allowed: removeDefaultNodePool: true (and a separate NodePool), or a nodeConfig with a dedicated serviceAccount');
  }
  listAt(props, 'nodePools').forEach((pool, i) => {
    problems.push(...nodeConfigProblems(`nodePools[${i}].nodeConfig`, pool?.nodeConfig ?? {}, 'serviceAccount', 'oauthScopes'));
  });
  const autoProvisioning = at(props, 'clusterAutoscaling.autoProvisioningDefaults');
  if (autoProvisioning) {
    problems.push(...nodeConfigProblems('clusterAutoscaling.autoProvisioningDefaults', autoProvisioning, 'serviceAccount', 'oauthScopes'));
  }
  return problems;
}

export const dedicatedServiceAccounts: ResourceRule = {
  name: 'dedicated-service-accounts',
  description: 'VMs and GKE nodes run as a dedicated service account, never the default compute account; nodes never get the cloud-platform scope.',
  types: [...VM_TYPES, NODE_POOL, CLUSTER],
  validate(type, props) {
    if (type === CLUSTER) return clusterProblems(props);
    if (type === NODE_POOL) return nodeConfigProblems('nodeConfig', at(props, 'nodeConfig') ?? {}, 'serviceAccount', 'oauthScopes');
    const account = props.serviceAccount;
    if (!account) return ['serviceAccount is unset; allowed: a dedicated service account ({ email, scopes }) for the VM'];
    const problem = accountProblem('serviceAccount.email', account.email);
    return problem ? [problem] : [];
  },
};
