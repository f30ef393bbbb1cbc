// VMs and nodes run as dedicated service accounts. The default compute account has Editor on the project
// in many projects, and an omitted account means GCE/GKE falls back to it. On nodes, the cloud-platform
// scope would let every pod that reaches the metadata server use all of the account's IAM roles; nodes
// get narrow scopes instead (VMs may keep cloud-platform: their account is theirs alone and IAM bounds it).
import { CLUSTER, NODE_POOL, VM_TYPES } from './gcp-types';
import { at, isUnknown, listAt, Props, ResourceRule, RuleContext } from './rule';

const DEFAULT_COMPUTE_ACCOUNT = /^\d+-compute@developer\.gserviceaccount\.com$/;
const CLOUD_PLATFORM_SCOPES = ['https://www.googleapis.com/auth/cloud-platform', 'cloud-platform'];

function accountProblem(path: string, email: unknown, ctx: RuleContext): string | undefined {
  // Typically the email of an account created in the same update: judged then.
  if (isUnknown(email)) return (ctx.undecided(email), undefined);
  if (email === undefined || email === null || email === '') {
    return `${path} is unset, so the default compute account is used; allowed: the email of a dedicated service account`;
  }
  if (email === 'default' || (typeof email === 'string' && DEFAULT_COMPUTE_ACCOUNT.test(email))) {
    return `${path} is "${email}", the default compute account; allowed: the email of a dedicated service account`;
  }
  return undefined;
}

function scopeProblems(path: string, scopes: unknown, ctx: RuleContext): string[] {
  if (isUnknown(scopes)) return (ctx.undecided(scopes), []);
  return (Array.isArray(scopes) ? scopes : [])
    .filter((s) => CLOUD_PLATFORM_SCOPES.includes(s))
    .map((s) => `${path} includes "${s}"; allowed on nodes: narrow scopes such as logging.write, monitoring, devstorage.read_only`);
}

/** A GKE node configuration (a pool's, the cluster's default pool's, or node auto-provisioning's). */
function nodeConfigProblems(path: string, config: Props, accountKey: string, scopesKey: string, ctx: RuleContext): string[] {
  if (isUnknown(config)) return (ctx.undecided(config), []);
  return [accountProblem(`${path}.${accountKey}`, config[accountKey], ctx), ...scopeProblems(`${path}.${scopesKey}`, config[scopesKey], ctx)]
    .filter((p): p is string => p !== undefined);
}

function clusterProblems(props: Props, ctx: RuleContext): string[] {
  const problems: string[] = [];
  const nodeConfig = at(props, 'nodeConfig');
  if (nodeConfig) {
    problems.push(...nodeConfigProblems('nodeConfig', nodeConfig, 'serviceAccount', 'oauthScopes', ctx));
  } else if (isUnknown(props.removeDefaultNodePool) || isUnknown(props.enableAutopilot)) {
    [props.removeDefaultNodePool, props.enableAutopilot].filter(isUnknown).forEach((u) => ctx.undecided(u));
  } else if (props.removeDefaultNodePool !== true && props.enableAutopilot !== true) {
    // The default pool lives on with no nodeConfig: GKE gives it the default compute account.
    problems.push('the default node pool is kept with no nodeConfig, so it runs as the default compute account; ' +
      'allowed: removeDefaultNodePool: true (and a separate NodePool), or a nodeConfig with a dedicated serviceAccount');
  }
  listAt(props, 'nodePools', ctx).forEach((pool, i) => {
    problems.push(...nodeConfigProblems(`nodePools[${i}].nodeConfig`, (isUnknown(pool) ? pool : pool?.nodeConfig) ?? {}, 'serviceAccount', 'oauthScopes', ctx));
  });
  const autoProvisioning = at(props, 'clusterAutoscaling.autoProvisioningDefaults');
  if (autoProvisioning) {
    problems.push(...nodeConfigProblems('clusterAutoscaling.autoProvisioningDefaults', autoProvisioning, 'serviceAccount', 'oauthScopes', ctx));
  }
  return problems;
}

export const dedicatedServiceAccounts: ResourceRule = {
  name: 'dedicated-service-accounts',
  description: 'VMs and GKE nodes run as a dedicated service account, never the default compute account; nodes never get the cloud-platform scope.',
  types: [...VM_TYPES, NODE_POOL, CLUSTER],
  validate(type, props, ctx) {
    if (type === CLUSTER) return clusterProblems(props, ctx);
    if (type === NODE_POOL) return nodeConfigProblems('nodeConfig', at(props, 'nodeConfig') ?? {}, 'serviceAccount', 'oauthScopes', ctx);
    const account = props.serviceAccount;
    if (isUnknown(account)) return (ctx.undecided(account), []);
    if (!account) return ['serviceAccount is unset; allowed: a dedicated service account ({ email, scopes }) for the VM'];
    const problem = accountProblem('serviceAccount.email', account.email, ctx);
    return problem ? [problem] : [];
  },
};
