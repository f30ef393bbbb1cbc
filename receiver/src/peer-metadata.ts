// Istio's metadata exchange as it reaches the ALS: the peer's workload metadata in an entry's
// `filter_state_objects`, in one of two formats, detected per value from the Any's type URL:
//  - `google.protobuf.BytesValue` holding a FlatBuffers FlatNode: what `wasm.upstream_peer` /
//    `wasm.downstream_peer` carry in Istio 1.7-1.23 (Envoy's CelState packs its bytes that way);
//  - `google.protobuf.Struct`: what `upstream_peer` / `downstream_peer` carry from Istio 1.24 on
//    (istio/proxy WorkloadMetadataObject::serializeAsProto: lowercase keys name, namespace, cluster,
//    service, revision, workload, type, app, version, identity, labels); the node-metadata shape
//    (NAME, NAMESPACE, LABELS …) is read the same way, since lookups ignore case.
// Both decode to a MetadataTree keyed like node metadata, so one naming rule serves all.
import type { Any } from './envoy-protos';
import { FlatNode, readFlatNode } from './flat-node';
import { MetadataTree, decodeBytesValue, decodeStruct } from './metadata-struct';

export type PeerDirection = 'upstream' | 'downstream';
export type PeerFormat = 'struct' | 'flatnode';

/** Filter state keys per direction, the Istio 1.24+ key first: it wins when an entry has both. */
export const PEER_KEYS: Readonly<Record<PeerDirection, readonly string[]>> = {
  upstream: ['upstream_peer', 'wasm.upstream_peer'],
  downstream: ['downstream_peer', 'wasm.downstream_peer'],
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
  | { ok: true; format: PeerFormat; metadata: MetadataTree }
  | { ok: false; problem: PeerDecodeProblem; detail: string };

/** Decodes one peer metadata Any, whichever key it came under; never throws. */
export function decodePeerAny(any: Any): PeerDecodeResult {
  const typeUrl = any.type_url ?? '';
  const typeName = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  const value = any.value ?? new Uint8Array(0);
  if (typeName === STRUCT_TYPE) {
    let metadata: MetadataTree;
    try {
      metadata = decodeStruct(value);
    } catch (e) {
      return { ok: false, problem: 'struct_malformed', detail: (e as Error).message };
    }
    if (Object.keys(metadata).length === 0) return { ok: false, problem: 'peer_metadata_empty', detail: 'empty Struct' };
    return { ok: true, format: 'struct', metadata };
  }
  if (typeName === BYTES_VALUE_TYPE) {
    let bytes: Uint8Array;
    try {
      bytes = decodeBytesValue(value);
    } catch (e) {
      return { ok: false, problem: 'bytes_value_malformed', detail: (e as Error).message };
    }
    if (bytes.length === 0) return { ok: false, problem: 'peer_metadata_empty', detail: 'empty BytesValue' };
    try {
      return { ok: true, format: 'flatnode', metadata: flatNodeToMetadata(readFlatNode(bytes)) };
    } catch (e) {
      return { ok: false, problem: 'flatnode_corrupt', detail: (e as Error).message };
    }
  }
  return { ok: false, problem: 'unknown_any_type', detail: `type URL ${JSON.stringify(typeUrl)}` };
}

/** A FlatNode under the node metadata keys Istio's agent uses (lists joined by commas, as there). */
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
