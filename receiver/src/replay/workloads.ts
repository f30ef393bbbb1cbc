// Who a sidecar is, as Envoy's ALS shows it: the node of a GKE pod, a WorkloadEntry VM or a gateway, and
// the peer metadata Istio's metadata exchange leaves in an entry about it (Istio 1.7-1.23 FlatNode, Istio
// 1.24+ Struct, or both keys, which Istio's mesh ALS config asks for though a proxy sets one). Shapes follow what real sidecars send (node
// ids, metadata keys; cf. apache/skywalking envoy-metrics-receiver-plugin test resources); the values are
// our own. Objects are in @grpc/proto-loader's form (snake_case Envoy fields, camelCase well-known types),
// so they can be encoded with Envoy's protos as they are. Used by the traffic replayer and the tests.
import type { Any, Node } from '../als/envoy-protos';
import type { FlatNode } from '../analysis/flat-node';
import { MetadataTree, encodeBytesValue, structFromTree } from '../analysis/metadata-struct';
import { flatNodePeerAny, structPeerAny } from '../analysis/peer-metadata-encode';
import { BYTES_VALUE_TYPE, TYPE_URL_PREFIX } from '../analysis/peer-metadata';

// ---- workloads ----

export type WorkloadKind = 'pod' | 'vm' | 'gateway';

export interface WorkloadSpec {
  kind: WorkloadKind;
  /** App / canonical service name. */
  app: string;
  namespace: string;
  version: string;
  /** Pod name, or the VM's host name. */
  name: string;
  ip: string;
  /** Port the workload serves on. */
  port: number;
  /** Port of its Kubernetes Service, which callers dial (default: `port`). */
  servicePort?: number;
  serviceAccount: string;
  clusterId: string;
  meshId: string;
  istioVersion: string;
  /** GCP project etc. in PLATFORM_METADATA; false for a VM outside Google Cloud. */
  onGcp: boolean;
}

type WorkloadOptions = Partial<Omit<WorkloadSpec, 'kind' | 'app' | 'namespace'>>;

const GCP = { project: 'meshscope-dev', projectNumber: '123456789012', location: 'us-central1-a', gkeCluster: 'meshscope-dev' };

let nextHost = 10;
function nextIp(prefix: string): string {
  nextHost = nextHost >= 250 ? 10 : nextHost + 1;
  return `${prefix}.${nextHost}`;
}

function workload(kind: WorkloadKind, app: string, namespace: string, name: string, ip: string, o: WorkloadOptions): WorkloadSpec {
  return {
    kind, app, namespace, name, ip,
    version: 'v1', port: 8080, serviceAccount: app, clusterId: 'Kubernetes', meshId: 'cluster.local',
    istioVersion: '1.22.3', onGcp: true,
    ...o,
  };
}

/** A Deployment's pod with an injected sidecar on GKE. */
export function pod(app: string, namespace: string, o: WorkloadOptions = {}): WorkloadSpec {
  return workload('pod', app, namespace, o.name ?? `${app}-7c9d8f6b5-x4k2p`, o.ip ?? nextIp('10.8.1'), o);
}

/** A GCE VM running the Istio sidecar package, registered by a WorkloadEntry (`istioctl x workload entry configure`). */
export function vm(app: string, namespace: string, o: WorkloadOptions = {}): WorkloadSpec {
  return workload('vm', app, namespace, o.name ?? `${app}-vm`, o.ip ?? nextIp('10.128.0'), o);
}

/** The ingress gateway's pod (node id `router~…`). */
export function gateway(o: WorkloadOptions = {}): WorkloadSpec {
  return workload('gateway', 'istio-ingressgateway', 'istio-system', o.name ?? 'istio-ingressgateway-5d9f8c7b6-qw7rt',
    o.ip ?? nextIp('10.8.2'), { serviceAccount: 'istio-ingressgateway-service-account', port: 8080, ...o });
}

function labelsOf(w: WorkloadSpec): Record<string, string> {
  if (w.kind === 'gateway') {
    return { app: w.app, istio: 'ingressgateway', 'service.istio.io/canonical-name': w.app,
      'service.istio.io/canonical-revision': 'latest', 'pod-template-hash': '5d9f8c7b6' };
  }
  const labels: Record<string, string> = { app: w.app, version: w.version,
    'service.istio.io/canonical-name': w.app, 'service.istio.io/canonical-revision': w.version };
  if (w.kind === 'pod') Object.assign(labels, { 'pod-template-hash': '7c9d8f6b5', 'security.istio.io/tlsMode': 'istio' });
  return labels;
}

function ownerOf(w: WorkloadSpec): string | undefined {
  // Set by the sidecar injector from the pod's controller; a VM's sidecar has no owner.
  return w.kind === 'vm' ? undefined : `kubernetes://apis/apps/v1/namespaces/${w.namespace}/deployments/${w.app}`;
}

function platformMetadataOf(w: WorkloadSpec): Record<string, string> | undefined {
  if (!w.onGcp) return undefined;
  const common = { gcp_project: GCP.project, gcp_project_number: GCP.projectNumber, gcp_location: GCP.location };
  return w.kind === 'vm'
    ? { ...common, gcp_gce_instance: w.name, gcp_gce_instance_id: '4519358311283649017' }
    : { ...common, gcp_gke_cluster_name: GCP.gkeCluster };
}

export function spiffeOf(w: WorkloadSpec): string {
  return `spiffe://${w.meshId}/ns/${w.namespace}/sa/${w.serviceAccount}`;
}

/** Node metadata as Istio's agent sends it in the ALS identifier (the ISTIO_META_* of the proxy). */
export function nodeMetadataOf(w: WorkloadSpec): MetadataTree {
  const m: Record<string, string | MetadataTree> = {
    NAME: w.name,
    NAMESPACE: w.namespace,
    LABELS: labelsOf(w),
    WORKLOAD_NAME: w.app,
    CLUSTER_ID: w.clusterId,
    MESH_ID: w.meshId,
    ISTIO_VERSION: w.istioVersion,
    INSTANCE_IPS: w.ip,
    SERVICE_ACCOUNT: w.serviceAccount,
    INTERCEPTION_MODE: 'REDIRECT',
  };
  const owner = ownerOf(w);
  if (owner) m.OWNER = owner;
  if (w.kind === 'pod') m.APP_CONTAINERS = 'server';
  if (w.kind === 'vm') m.DNS_CAPTURE = 'true';
  const platform = platformMetadataOf(w);
  if (platform) m.PLATFORM_METADATA = platform;
  return m;
}

/** The ALS identifier's node: `sidecar~IP~NAME.NS~NS.svc.cluster.local` (`router~` for a gateway). */
export function nodeOf(w: WorkloadSpec): Node {
  const type = w.kind === 'gateway' ? 'router' : 'sidecar';
  const metadata = structFromTree(nodeMetadataOf(w));
  // Envoy also carries non-string values in node metadata; analysis must skip them.
  metadata.fields!.ENVOY_PROMETHEUS_PORT = { numberValue: 15090 };
  return { id: `${type}~${w.ip}~${w.name}.${w.namespace}~${w.namespace}.svc.cluster.local`, cluster: `${w.app}.${w.namespace}`, metadata };
}

// ---- peer metadata ----

/**
 * FlatNode as Istio ships it. 'agent' (1.7-1.18): built from the peer's whole node metadata.
 * 'workload' (1.19-1.23, peer_metadata filter): name, namespace, cluster, workload, owner, four labels, identity.
 */
export function flatNodeOf(w: WorkloadSpec, style: 'agent' | 'workload' = 'agent'): FlatNode {
  const labels = labelsOf(w);
  if (style === 'workload') {
    return {
      name: w.name, namespace: w.namespace, clusterId: w.clusterId, workloadName: w.app, owner: ownerOf(w),
      labels: { app: labels.app, version: labels.version ?? '', 'service.istio.io/canonical-name': labels['service.istio.io/canonical-name'],
        'service.istio.io/canonical-revision': labels['service.istio.io/canonical-revision'] },
      identity: spiffeOf(w),
    };
  }
  return {
    name: w.name, namespace: w.namespace, labels, owner: ownerOf(w), workloadName: w.app,
    platformMetadata: platformMetadataOf(w), istioVersion: w.istioVersion, meshId: w.meshId,
    appContainers: w.kind === 'pod' ? ['server'] : undefined, clusterId: w.clusterId, instanceIps: [w.ip],
  };
}

/**
 * The Struct Istio 1.24+ logs for `upstream_peer` / `downstream_peer` (istio/proxy
 * WorkloadMetadataObject::serializeAsProto): flat lowercase keys, `type` only for Kubernetes owners.
 * 'node-shaped': the NAME/NAMESPACE/LABELS form of convertWorkloadMetadataToStruct, read the same way.
 */
export function peerStructOf(w: WorkloadSpec, style: 'serialized' | 'node-shaped' = 'serialized'): MetadataTree {
  if (style === 'node-shaped') {
    const labels = labelsOf(w);
    const m: Record<string, string | MetadataTree> = {
      NAME: w.name, NAMESPACE: w.namespace, WORKLOAD_NAME: w.app, CLUSTER_ID: w.clusterId,
      LABELS: { 'service.istio.io/canonical-name': labels['service.istio.io/canonical-name'],
        'service.istio.io/canonical-revision': labels['service.istio.io/canonical-revision'], app: labels.app },
    };
    const owner = ownerOf(w);
    if (owner) m.OWNER = owner;
    return m;
  }
  const m: Record<string, string> = {
    workload: w.app, name: w.name, cluster: w.clusterId, namespace: w.namespace,
    service: w.app, revision: w.kind === 'gateway' ? 'latest' : w.version, app: w.app,
  };
  if (w.kind !== 'gateway') m.version = w.version;
  if (w.kind !== 'vm') m.type = 'deployment';
  return m;
}

/** Which keys carry the peer: Istio ≤1.23 (`wasm.*`), ≥1.24 (`*_peer`), or both (asked for by Istio's mesh ALS config; a real proxy sets only its version's). */
export type PeerEncoding = 'flatnode' | 'struct' | 'both';

export type PeerDirection = 'upstream' | 'downstream';

/** The filter_state_objects an entry carries for one peer, as Istio logs them. */
export function peerFilterState(direction: PeerDirection, peer: WorkloadSpec, encoding: PeerEncoding = 'struct'): Record<string, Any> {
  const state: Record<string, Any> = {};
  if (encoding === 'struct' || encoding === 'both') state[`${direction}_peer`] = structPeerAny(peerStructOf(peer));
  if (encoding === 'flatnode' || encoding === 'both') {
    state[`wasm.${direction}_peer`] = flatNodePeerAny(flatNodeOf(peer));
    // Logged alongside; analysis must ignore it.
    state[`wasm.${direction}_peer_id`] = bytesValueAny(Buffer.from(`sidecar~${peer.ip}~${peer.name}.${peer.namespace}~${peer.namespace}.svc.cluster.local`));
  }
  return state;
}

export function bytesValueAny(bytes: Uint8Array): Any {
  return { type_url: TYPE_URL_PREFIX + BYTES_VALUE_TYPE, value: encodeBytesValue(bytes) };
}

