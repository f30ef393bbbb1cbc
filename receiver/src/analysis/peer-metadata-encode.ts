// The inverse of peer-metadata.ts: peer metadata packed into an Any the way Istio's proxy logs it, for test
// fixtures and for replaying realistic traffic into a receiver.
import type { Any } from '../als/envoy-protos';
import { FlatNode, buildFlatNode } from './flat-node';
import { MetadataTree, encodeBytesValue, encodeStruct, structFromTree } from './metadata-struct';
import { BYTES_VALUE_TYPE, STRUCT_TYPE, TYPE_URL_PREFIX } from './peer-metadata';

/** Istio 1.7-1.23 form: a BytesValue whose bytes are a FlatNode (keys `wasm.*_peer`). */
export function flatNodePeerAny(node: FlatNode): Any {
  return { type_url: TYPE_URL_PREFIX + BYTES_VALUE_TYPE, value: encodeBytesValue(buildFlatNode(node)) };
}

/** Istio 1.24+ form: a google.protobuf.Struct (keys `*_peer`). */
export function structPeerAny(metadata: MetadataTree): Any {
  return { type_url: TYPE_URL_PREFIX + STRUCT_TYPE, value: encodeStruct(structFromTree(metadata)) };
}
