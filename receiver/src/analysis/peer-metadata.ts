// Istio's metadata exchange as it reaches the ALS: the peer's workload metadata in an entry's
// `filter_state_objects`, in one of two formats, detected per value from the Any's type URL:
//  - `google.protobuf.BytesValue` holding a FlatBuffers FlatNode: what `wasm.upstream_peer` /
//    `wasm.downstream_peer` carry in Istio 1.7-1.23 (Envoy's CelState packs its bytes that way);
//  - `google.protobuf.Struct`: what `upstream_peer` / `downstream_peer` carry from Istio 1.24 on
//    (istio/proxy WorkloadMetadataObject::serializeAsProto: lowercase keys name, namespace, cluster,
//    service, revision, workload, type, app, version, identity, labels); the node-metadata shape
//    (NAME, NAMESPACE, LABELS …) is read the same way, since lookups ignore case.
// Both decode to a MetadataTree keyed like node metadata, so one naming rule serves all. As in SkyWalking's
// MetaExchangeALSHTTPAnalyzer, the key says the format: `*_peer` must unpack as a Struct (Any.unpack checks
// the type), `wasm.*_peer` is read as a BytesValue whatever its type URL (ServiceMetaInfoAdapter(Any)).
// Rules see of a FlatNode only what SkyWalking's ServiceMetaInfoAdapter.extractStructFromNodeFlatBuffer
// puts in its Struct: NAME, NAMESPACE, CLUSTER_ID (each "" when absent) and LABELS; the rest of the FlatNode
// is kept for our own instance properties (--instance-properties extended).
import type { Any } from '../als/envoy-protos';
import { FlatNode, readFlatNode } from './flat-node';
import { MetadataTree, decodeBytesValue, decodeStruct } from './metadata-struct';

export type PeerDirection = 'upstream' | 'downstream';
export type PeerFormat = 'struct' | 'flatnode';

/** Filter state keys per direction with the format each carries, the Istio 1.24+ key first. */
export const PEER_KEYS: Readonly<Record<PeerDirection, readonly { key: string; format: PeerFormat }[]>> = {
  upstream: [{ key: 'upstream_peer', format: 'struct' }, { key: 'wasm.upstream_peer', format: 'flatnode' }],
  downstream: [{ key: 'downstream_peer', format: 'struct' }, { key: 'wasm.downstream_peer', format: 'flatnode' }],
};

export const STRUCT_TYPE = 'google.protobuf.Struct';
export const BYTES_VALUE_TYPE = 'google.protobuf.BytesValue';
export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** Why a peer metadata value could not be used. */
export type PeerDecodeProblem =
  | 'unknown_any_type'
  | 'bytes_value_malformed'
  | 'flatnode_corrupt'
  | 'struct_malformed'
  | 'peer_metadata_empty';

export type PeerDecodeResult =
  | { ok: true; format: PeerFormat; metadata: MetadataTree; naming: MetadataTree }
  | { ok: false; problem: PeerDecodeProblem; detail: string };

/**
 * Decodes one peer metadata Any in the format its key carries (or, without one, the format its type URL
 * names); never throws. `metadata` is everything it holds, `naming` what SkyWalking's rules see of it.
 */
export function decodePeerAny(any: Any, format?: PeerFormat): PeerDecodeResult {
  const typeUrl = any.type_url ?? '';
  const typeName = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  const value = any.value ?? new Uint8Array(0);
  const as = format ?? (typeName === STRUCT_TYPE ? 'struct' : typeName === BYTES_VALUE_TYPE ? 'flatnode' : undefined);
  if (as === 'struct') {
    if (typeName !== STRUCT_TYPE) return { ok: false, problem: 'unknown_any_type', detail: `type URL ${JSON.stringify(typeUrl)} under a Struct key` };
    let metadata: MetadataTree;
    try {
      metadata = decodeStruct(value);
    } catch (e) {
      return { ok: false, problem: 'struct_malformed', detail: (e as Error).message };
    }
    // An empty Struct is a peer all of whose names are "-", as in SkyWalking.
    return { ok: true, format: 'struct', metadata, naming: metadata };
  }
  if (as === 'flatnode') {
    let bytes: Uint8Array;
    try {
      bytes = decodeBytesValue(value);
    } catch (e) {
      return { ok: false, problem: 'bytes_value_malformed', detail: (e as Error).message };
    }
    if (bytes.length === 0) return { ok: false, problem: 'peer_metadata_empty', detail: 'empty BytesValue' };
    let node: FlatNode;
    try {
      node = readFlatNode(bytes);
    } catch (e) {
      return { ok: false, problem: 'flatnode_corrupt', detail: (e as Error).message };
    }
    return { ok: true, format: 'flatnode', metadata: flatNodeToMetadata(node), naming: flatNodeNamingView(node) };
  }
  return { ok: false, problem: 'unknown_any_type', detail: `type URL ${JSON.stringify(typeUrl)}` };
}

/** The Struct SkyWalking builds from a FlatNode for its rules (ServiceMetaInfoAdapter.extractStructFromNodeFlatBuffer). */
export function flatNodeNamingView(node: FlatNode): MetadataTree {
  return { NAME: node.name ?? '', NAMESPACE: node.namespace ?? '', CLUSTER_ID: node.clusterId ?? '', LABELS: node.labels ?? {} };
}

/** A whole FlatNode under the node metadata keys Istio's agent uses (lists joined by commas, as there). */
export function flatNodeToMetadata(node: FlatNode): MetadataTree {
  const tree: Record<string, string | MetadataTree> = {};
  const put = (key: string, value: string | MetadataTree | undefined) => {
    if (value !== undefined) tree[key] = value;
  };
  put('NAME', node.name);
  put('NAMESPACE', node.namespace);
  put('LABELS', node.labels);
  put('OWNER', node.owner);
  put('WORKLOAD_NAME', node.workloadName);
  put('PLATFORM_METADATA', node.platformMetadata);
  put('ISTIO_VERSION', node.istioVersion);
  put('MESH_ID', node.meshId);
  put('APP_CONTAINERS', node.appContainers?.join(','));
  put('CLUSTER_ID', node.clusterId);
  put('INSTANCE_IPS', node.instanceIps?.join(','));
  put('IDENTITY', node.identity);
  return tree;
}
