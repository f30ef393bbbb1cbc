// GKE settings that hand out cluster or cloud access: legacy ABAC (every service account may do anything),
// basic auth and client certificates (static credentials that never rotate), no Workload Identity (pods
// use the node's account), shielded nodes off, and node metadata exposed to pods (the node's token and
// kubelet credentials are one HTTP call away unless the metadata server is GKE_METADATA).
import { CLUSTER, NODE_POOL } from './gcp-types';
import { at, isUnknown, Props, ResourceRule, RuleContext } from './rule';

/** Reads a value that must be known to judge; notes it when it is not. */
function known(props: Props, path: string, ctx: RuleContext): { value: any } | undefined {
  const value = at(props, path);
  if (isUnknown(value)) {
    ctx.undecided(value);
    return undefined;
  }
  return { value };
}

function metadataModeProblem(path: string, nodeConfig: unknown, ctx: RuleContext): string[] {
  if (isUnknown(nodeConfig)) return (ctx.undecided(nodeConfig), []);
  const mode = at((nodeConfig ?? {}) as Props, 'workloadMetadataConfig.mode');
  if (isUnknown(mode)) return (ctx.undecided(mode), []);
  return mode === 'GKE_METADATA' ? [] : [`${path}.workloadMetadataConfig.mode is ${JSON.stringify(mode) ?? 'unset'}; ` +
    'allowed: "GKE_METADATA" (pods see only their own Workload Identity, never the node\'s credentials)'];
}

function clusterProblems(props: Props, ctx: RuleContext): string[] {
  const problems: string[] = [];
  const check = (path: string, bad: (v: any) => boolean, message: (v: any) => string) => {
    const k = known(props, path, ctx);
    if (k && bad(k.value)) problems.push(message(k.value));
  };
  check('enableLegacyAbac', (v) => v === true, () => 'enableLegacyAbac is true, which lets every service account do anything; allowed: false (RBAC only)');
  for (const field of ['username', 'password']) {
    check(`masterAuth.${field}`, (v) => typeof v === 'string' && v !== '', () =>
      `masterAuth.${field} is set (basic authentication, a static password); allowed: unset (Google identities and RBAC)`);
  }
  check('masterAuth.clientCertificateConfig.issueClientCertificate', (v) => v === true, () =>
    'masterAuth.clientCertificateConfig.issueClientCertificate is true (a static, never-rotated admin credential); allowed: false');
  check('enableShieldedNodes', (v) => v === false, () => 'enableShieldedNodes is false; allowed: true or unset (the default), so nodes boot verified');
  if (props.enableAutopilot !== true) {
    check('workloadIdentityConfig.workloadPool', (v) => typeof v !== 'string' || v === '', (v) =>
      `workloadIdentityConfig.workloadPool is ${JSON.stringify(v) ?? 'unset'}; allowed: "<project>.svc.id.goog" (Workload Identity, so pods never use the node's account)`);
  }
  if (props.nodeConfig !== undefined) problems.push(...metadataModeProblem('nodeConfig', props.nodeConfig, ctx));
  const pools = at(props, 'nodePools');
  if (isUnknown(pools)) ctx.undecided(pools);
  else (Array.isArray(pools) ? pools : []).forEach((pool, i) => problems.push(...metadataModeProblem(`nodePools[${i}].nodeConfig`, pool?.nodeConfig, ctx)));
  return problems;
}

export const gkeHardening: ResourceRule = {
  name: 'gke-hardening',
  description: 'GKE clusters: no legacy ABAC, basic auth or client certificates; Workload Identity on; shielded nodes on; node pools expose only GKE_METADATA.',
  types: [CLUSTER, NODE_POOL],
  validate(type, props, ctx) {
    if (type === NODE_POOL) return metadataModeProblem('nodeConfig', props.nodeConfig, ctx);
    return clusterProblems(props, ctx);
  },
};

/**
 * A control plane on a public endpoint is open to every address unless authorised networks narrow it.
 * Advisory: the program's own cluster has a public endpoint with none yet, because CI runners and the VMs
 * (through Cloud NAT) reach it from addresses not known in advance; that needs a design decision (a DNS
 * endpoint, or the NAT address and runner ranges as authorised networks), not a policy that blocks every update.
 */
export const gkeAuthorizedNetworks: ResourceRule = {
  name: 'gke-authorized-networks',
  description: 'A GKE control plane on a public endpoint admits only authorised networks, none of them 0.0.0.0/0.',
  types: [CLUSTER],
  enforcement: 'advisory',
  validate(_type, props, ctx) {
    const privateEndpoint = at(props, 'privateClusterConfig.enablePrivateEndpoint');
    if (isUnknown(privateEndpoint)) return (ctx.undecided(privateEndpoint), []);
    if (privateEndpoint === true) return [];
    const config = at(props, 'masterAuthorizedNetworksConfig');
    if (isUnknown(config)) return (ctx.undecided(config), []);
    if (!config || typeof config !== 'object') {
      return ['the control plane has a public endpoint and no masterAuthorizedNetworksConfig, so every address may reach it; ' +
        'allowed: privateClusterConfig.enablePrivateEndpoint true, or authorised networks naming who may connect'];
    }
    const blocks = at(config, 'cidrBlocks');
    if (isUnknown(blocks)) return (ctx.undecided(blocks), []);
    return (Array.isArray(blocks) ? blocks : [])
      .filter((b) => b && ['0.0.0.0/0', '::/0'].includes(b.cidrBlock))
      .map((b) => `masterAuthorizedNetworksConfig.cidrBlocks includes ${b.cidrBlock}, which authorises every address; allowed: the ranges that must reach the control plane`);
  },
};
