// Who one side of a call is: service and instance names (by rule) and instance properties, from workload
// metadata, or from what an entry says about a peer that sent none (address, upstream cluster).
import { PLATFORM_PROPERTY, Platform } from './mesh-metric';
import { MetadataTree, lookupString } from './metadata-struct';
import { NamingRule, compileNamingRule } from './service-naming';

export interface Workload {
  readonly service: string;
  readonly instance: string;
  /** Shared between metrics and frozen: sinks read it, never change it. */
  readonly properties: Readonly<Record<string, string>>;
}

/**
 * Instance properties, each by a naming rule over the same metadata. `pod` and `namespace` are the
 * tags SkyWalking's mx-mesh attaches (ServiceMetaInfoAdapter); the Istio 1.24+ Struct spells cluster
 * and workload in lowercase (`cluster`, `workload`), node metadata and FlatNode in capitals.
 */
const PROPERTY_RULES: readonly (readonly [string, NamingRule])[] = (
  [
    ['pod', '${NAME}'],
    ['namespace', '${NAMESPACE}'],
    ['cluster_id', '${CLUSTER_ID,cluster}'],
    ['workload', '${WORKLOAD_NAME,workload}'],
    ['version', '${LABELS."service.istio.io/canonical-revision",revision,LABELS.version,version}'],
    ['istio_version', '${ISTIO_VERSION}'],
  ] as const
).map(([key, rule]) => [key, compileNamingRule(rule, `${key} property rule`)] as const);

/** Workload types Istio 1.24+ derives from a Kubernetes OWNER (istio/proxy metadata_object.h). */
const KUBERNETES_WORKLOAD_TYPES = new Set(['pod', 'deployment', 'job', 'cronjob']);

/**
 * Where a workload runs, from its metadata alone. Evidence, strongest first:
 *  - kubernetes: OWNER `kubernetes://apis/...` (the sidecar injector sets it for every pod; FlatNode
 *    `owner`); Istio 1.24+ Struct `type` pod/deployment/job/cronjob (derived from that OWNER);
 *    PLATFORM_METADATA `gcp_gke_cluster_name` (the agent found a GKE node); APP_CONTAINERS (set only
 *    by the injector).
 *  - vm: PLATFORM_METADATA `gcp_gce_instance`/`gcp_gce_instance_id` without a GKE cluster (the agent on a
 *    GCE VM); or a proxy that names itself (NAME) and its workload but has no Kubernetes owner: a
 *    WorkloadEntry sidecar, as `istioctl x workload entry configure` sets it up (no injector involved).
 *  - unknown: anything else, e.g. a peer Istio found only through endpoint metadata (no NAME, no owner).
 * Keys come from istio/istio pkg/bootstrap/platform/gcp.go and istio/proxy extensions/common.
 */
export function detectPlatform(m: MetadataTree): Platform {
  if (lookupString(m, 'OWNER').startsWith('kubernetes://')) return 'kubernetes';
  if (KUBERNETES_WORKLOAD_TYPES.has(lookupString(m, 'type'))) return 'kubernetes';
  if (lookupString(m, 'PLATFORM_METADATA', 'gcp_gke_cluster_name') !== '') return 'kubernetes';
  if (lookupString(m, 'APP_CONTAINERS') !== '') return 'kubernetes';
  if (lookupString(m, 'PLATFORM_METADATA', 'gcp_gce_instance') !== '') return 'vm';
  if (lookupString(m, 'PLATFORM_METADATA', 'gcp_gce_instance_id') !== '') return 'vm';
  const workload = lookupString(m, 'WORKLOAD_NAME') || lookupString(m, 'workload');
  if (lookupString(m, 'NAME') !== '' && workload !== '' && lookupString(m, 'OWNER') === '') return 'vm';
  return 'unknown';
}

export class WorkloadNamer {
  private readonly serviceRule: NamingRule;
  private readonly instanceRule: NamingRule;

  /** Throws when a rule is malformed, naming it. */
  constructor(serviceRule: string, instanceRule: string) {
    this.serviceRule = compileNamingRule(serviceRule, 'service name rule');
    this.instanceRule = compileNamingRule(instanceRule, 'instance name rule');
  }

  describe(metadata: MetadataTree): Workload {
    const properties: Record<string, string> = {};
    for (const [key, rule] of PROPERTY_RULES) {
      const v = rule.apply(metadata);
      if (v !== '') properties[key] = v;
    }
    properties[PLATFORM_PROPERTY] = detectPlatform(metadata);
    return Object.freeze({
      service: this.serviceRule.apply(metadata),
      instance: this.instanceRule.apply(metadata),
      properties: Object.freeze(properties),
    });
  }
}

/** The source SkyWalking gives a gateway's call that came from outside the mesh (ServiceMetaInfoFactoryImpl). */
export const UNKNOWN_WORKLOAD: Workload = Object.freeze({
  service: 'UNKNOWN',
  instance: 'UNKNOWN',
  properties: Object.freeze({ [PLATFORM_PROPERTY]: 'unknown' }),
});

/** A peer known only by its address: the client of an inbound call that sent no metadata. */
export function workloadFromAddress(ip: string | undefined): Workload {
  if (!ip) return UNKNOWN_WORKLOAD;
  return Object.freeze({ service: ip, instance: ip, properties: Object.freeze({ [PLATFORM_PROPERTY]: 'unknown', address: ip }) });
}

/**
 * A peer known only by the upstream cluster and address of an outbound call: Istio names outbound clusters
 * `outbound|PORT|SUBSET|HOST`, so HOST is the service called (e.g. `httpbin.org`); other clusters
 * (PassthroughCluster, BlackHoleCluster) say nothing of the peer, so its address names it.
 */
export function workloadFromUpstream(cluster: string | undefined, ip: string | undefined): Workload {
  const host = cluster?.startsWith('outbound|') ? cluster.split('|')[3] ?? '' : '';
  const service = host || ip || cluster || '';
  if (!service) return UNKNOWN_WORKLOAD;
  const properties: Record<string, string> = { [PLATFORM_PROPERTY]: 'unknown' };
  if (ip) properties.address = ip;
  if (cluster) properties.upstream_cluster = cluster;
  return Object.freeze({ service, instance: ip || service, properties: Object.freeze(properties) });
}
