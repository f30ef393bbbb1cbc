// Who one side of a call is: service and instance names (by rule) and instance properties, from workload
// metadata; or, for a call without peer metadata (--peerless-calls upstream-host), from the service host of
// its upstream cluster, never from an address.
import { isIP } from 'node:net';
import { PLATFORM_PROPERTY, Platform } from './mesh-metric';
import { MetadataTree, lookup, lookupString } from './metadata-struct';
import { NamingRule, compileNamingRule, firstValue } from './service-naming';

export interface Workload {
  readonly service: string;
  readonly instance: string;
  /** Shared between metrics and frozen: sinks read it, never change it. */
  readonly properties: Readonly<Record<string, string>>;
}

/**
 * Instance properties: `skywalking` sends what SkyWalking's ServiceMetaInfoAdapter.appendTags does, `pod`
 * (NAME) and `namespace` (NAMESPACE), each when its key is there even if empty, none for UNKNOWN;
 * `extended` adds ours, each only when it has a value, and the platform.
 */
export const INSTANCE_PROPERTY_MODES = ['skywalking', 'extended'] as const;
export type InstancePropertiesMode = (typeof INSTANCE_PROPERTY_MODES)[number];

/** SkyWalking's two tags, from the metadata its rules see. */
const SKYWALKING_PROPERTIES: readonly (readonly [string, string])[] = [['pod', 'NAME'], ['namespace', 'NAMESPACE']];

/**
 * Ours, from the whole metadata (the Istio 1.24+ Struct spells cluster and workload in lowercase, node
 * metadata and FlatNode in capitals): candidate key paths, the first with a value wins.
 */
const EXTENDED_PROPERTIES: readonly (readonly [string, readonly (readonly string[])[]])[] = [
  ['cluster_id', [['CLUSTER_ID'], ['cluster']]],
  ['workload', [['WORKLOAD_NAME'], ['workload']]],
  ['version', [['LABELS', 'service.istio.io/canonical-revision'], ['revision'], ['LABELS', 'version'], ['version']]],
  ['istio_version', [['ISTIO_VERSION']]],
];

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
  /** The source SkyWalking gives a gateway's call that came from outside the mesh (ServiceMetaInfoFactoryImpl). */
  readonly unknown: Workload;

  /** Throws when a rule is malformed, naming it. */
  constructor(serviceRule: string, instanceRule: string, private readonly mode: InstancePropertiesMode = 'skywalking') {
    this.serviceRule = compileNamingRule(serviceRule, 'service name rule');
    this.instanceRule = compileNamingRule(instanceRule, 'instance name rule');
    this.unknown = this.named('UNKNOWN', 'UNKNOWN', {});
  }

  /** Rules that parse but will rarely mean what was written, to log once at startup. */
  get warnings(): readonly string[] {
    return [...this.serviceRule.warnings, ...this.instanceRule.warnings];
  }

  /**
   * A workload from the metadata SkyWalking's rules see (`naming`) and, for our extended properties,
   * everything known of it (`full`: a FlatNode has more than SkyWalking shows its rules).
   */
  describe(naming: MetadataTree, full: MetadataTree = naming): Workload {
    const properties: Record<string, string> = {};
    for (const [property, key] of SKYWALKING_PROPERTIES) {
      const v = lookup(naming, key);
      if (v !== undefined) properties[property] = typeof v === 'string' ? v : '';
    }
    if (this.mode === 'extended') {
      for (const [property, candidates] of EXTENDED_PROPERTIES) {
        const v = firstValue(full, candidates);
        if (v !== undefined) properties[property] = v;
      }
      properties[PLATFORM_PROPERTY] = detectPlatform(full);
    }
    return Object.freeze({
      service: this.serviceRule.apply(naming),
      instance: this.instanceRule.apply(naming),
      properties: Object.freeze(properties),
    });
  }

  /**
   * The peer of a call without peer metadata, by the service host of its upstream cluster (Istio names
   * outbound clusters `outbound|PORT|SUBSET|HOST`); undefined, with why, when there is none or it is an IP
   * address: one service per address would grow without bound.
   */
  fromUpstreamCluster(cluster: string | undefined): Workload | 'peer_is_ip_address' | 'no_service_host' {
    const host = cluster?.startsWith('outbound|') ? cluster.split('|')[3] ?? '' : '';
    if (host === '') return 'no_service_host';
    if (isIP(host) !== 0) return 'peer_is_ip_address';
    return this.named(host, host, { upstream_cluster: cluster! });
  }

  private named(service: string, instance: string, extended: Record<string, string>): Workload {
    const properties = this.mode === 'extended' ? { ...extended, [PLATFORM_PROPERTY]: 'unknown' } : {};
    return Object.freeze({ service, instance, properties: Object.freeze(properties) });
  }
}
