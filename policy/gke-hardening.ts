// GKE settings that hand out cluster or cloud access: legacy ABAC (every service account may do anything),
// basic auth and client certificates (static credentials that never rotate), no Workload Identity (pods
// use the node's account), shielded nodes off, and node metadata exposed to pods (the node's token and
// kubelet credentials are one HTTP call away unless the metadata server is GKE_METADATA).
import { CLUSTER, NODE_POOL } from './gcp-types';
import { isInsideRange } from './ip-ranges';
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
 * Who can reach the control plane. Its IP endpoint, when it has an external one, admits only authorised
 * networks, all of them private (or Google-internal) ranges, and not every GCE public address; people and
 * CI come through the DNS endpoint instead, where Google checks IAM first, so that endpoint must not also
 * take Kubernetes' own tokens or certificates (which Google does not check). Mandatory: the program's
 * clusters are built this way on every stack (infra/cluster.ts says how CI, laptops and the VMs get in).
 */
export const gkeAuthorizedNetworks: ResourceRule = {
  name: 'gke-authorized-networks',
  description: 'A GKE control plane admits on its IP endpoint only private authorised networks (no 0.0.0.0/0, no GCE public ranges), and its DNS endpoint takes only IAM-checked Google credentials.',
  types: [CLUSTER],
  validate(_type, props, ctx) {
    const problems: string[] = [];
    const dns = at(props, 'controlPlaneEndpointsConfig.dnsEndpointConfig');
    if (isUnknown(dns)) ctx.undecided(dns);
    else if (dns && typeof dns === 'object' && at(dns, 'allowExternalTraffic') === true) {
      for (const field of ['enableK8sTokensViaDns', 'enableK8sCertsViaDns']) {
        const v = at(dns, field);
        if (isUnknown(v)) ctx.undecided(v);
        else if (v === true) problems.push(`controlPlaneEndpointsConfig.dnsEndpointConfig.${field} is true on an endpoint open to external traffic, so a Kubernetes credential works from anywhere without IAM; allowed: false`);
      }
    }

    const ipEnabled = at(props, 'controlPlaneEndpointsConfig.ipEndpointsConfig.enabled');
    const privateEndpoint = at(props, 'privateClusterConfig.enablePrivateEndpoint');
    if (isUnknown(ipEnabled)) return (ctx.undecided(ipEnabled), problems);
    if (isUnknown(privateEndpoint)) return (ctx.undecided(privateEndpoint), problems);
    // No IP endpoint, or only the internal one: nothing outside the VPC reaches it.
    if (ipEnabled === false || privateEndpoint === true) return problems;

    const config = at(props, 'masterAuthorizedNetworksConfig');
    if (isUnknown(config)) return (ctx.undecided(config), problems);
    if (!config || typeof config !== 'object') {
      return [...problems, 'the control plane has an external IP endpoint and no masterAuthorizedNetworksConfig, so every address may reach it; ' +
        'allowed: privateClusterConfig.enablePrivateEndpoint true, ipEndpointsConfig.enabled false, or authorised networks of private ranges'];
    }
    const gcpPublic = at(config, 'gcpPublicCidrsAccessEnabled');
    if (isUnknown(gcpPublic)) ctx.undecided(gcpPublic);
    else if (gcpPublic !== false) {
      problems.push(`masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled is ${JSON.stringify(gcpPublic) ?? 'unset'}, which admits the public address of any GCE VM, anyone's; allowed: false`);
    }
    const blocks = at(config, 'cidrBlocks');
    if (isUnknown(blocks)) return (ctx.undecided(blocks), problems);
    for (const b of Array.isArray(blocks) ? blocks : []) {
      const cidr = b?.cidrBlock;
      if (isUnknown(cidr)) ctx.undecided(cidr);
      else if (typeof cidr !== 'string' || !isInsideRange(cidr)) {
        problems.push(`masterAuthorizedNetworksConfig.cidrBlocks includes ${JSON.stringify(cidr)}, a public range; allowed: private ranges (the VPC's); people and CI use the DNS endpoint`);
      }
    }
    return problems;
  },
};
