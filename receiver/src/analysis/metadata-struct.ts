// One shape for every kind of workload metadata the receiver reads (node metadata, FlatNode peers, Struct
// peers): a tree of strings, so one naming rule serves all of them. Also the protobuf codecs of the two
// well-known types that carry peer metadata inside an Any (google.protobuf.Struct and BytesValue).
import * as protobuf from 'protobufjs';
import type { Struct, Value } from '../als/envoy-protos';

/** Workload metadata as nested string maps; values that are neither strings nor structs are dropped. */
export interface MetadataTree { readonly [key: string]: string | MetadataTree }

/** The parts of a Value we read; fits both @grpc/proto-loader objects and protobufjs messages. */
interface ValueLike {
  stringValue?: string | null;
  structValue?: StructLike | null;
  kind?: string;
}
interface StructLike { fields?: Record<string, ValueLike> | null }

export function treeFromStruct(struct: StructLike | null | undefined): MetadataTree {
  const out: Record<string, string | MetadataTree> = {};
  const fields = struct?.fields;
  if (!fields) return out;
  for (const key of Object.keys(fields)) {
    const v = fields[key];
    if (!v) continue;
    // protobufjs messages expose the set oneof member by `kind`; plain objects just carry the member.
    if (v.structValue && (v.kind === undefined || v.kind === 'structValue')) out[key] = treeFromStruct(v.structValue);
    else if (typeof v.stringValue === 'string' && (v.kind === undefined || v.kind === 'stringValue')) out[key] = v.stringValue;
  }
  return out;
}

/** The google.protobuf.Struct (as @grpc/proto-loader and protobufjs take it) holding `tree`. */
export function structFromTree(tree: MetadataTree): Struct {
  const fields: Record<string, Value> = {};
  for (const [key, value] of Object.entries(tree)) {
    fields[key] = typeof value === 'string' ? { stringValue: value } : { structValue: structFromTree(value) };
  }
  return { fields };
}

/**
 * The value at `key`, matched case-insensitively as SkyWalking's FieldsHelper does (so `NAME` finds
 * Istio 1.24's lowercase `name`); an exact match wins.
 */
export function lookup(tree: MetadataTree, key: string): string | MetadataTree | undefined {
  const exact = tree[key];
  if (exact !== undefined) return exact;
  const lower = key.toLowerCase();
  for (const k of Object.keys(tree)) if (k.toLowerCase() === lower) return tree[k];
  return undefined;
}

/** The string at a path of keys, or '' when any step is missing or not of the right kind. */
export function lookupString(tree: MetadataTree, ...path: string[]): string {
  let node: string | MetadataTree | undefined = tree;
  for (const key of path) {
    if (node === undefined || typeof node === 'string') return '';
    node = lookup(node, key);
  }
  return typeof node === 'string' ? node : '';
}

// ---- well-known type codecs ----

let wkt: { struct: protobuf.Type; bytesValue: protobuf.Type } | undefined;

function types(): { struct: protobuf.Type; bytesValue: protobuf.Type } {
  if (!wkt) {
    // protobufjs bundles the well-known .proto files, so nothing is read from disk here.
    const root = new protobuf.Root();
    root.loadSync(['google/protobuf/struct.proto', 'google/protobuf/wrappers.proto']);
    wkt = { struct: root.lookupType('google.protobuf.Struct'), bytesValue: root.lookupType('google.protobuf.BytesValue') };
  }
  return wkt;
}

/** Decodes a serialized google.protobuf.Struct; throws on malformed bytes. */
export function decodeStruct(bytes: Uint8Array): MetadataTree {
  return treeFromStruct(types().struct.decode(bytes) as unknown as StructLike);
}

export function encodeStruct(struct: Struct): Buffer {
  const t = types().struct;
  return Buffer.from(t.encode(t.fromObject(struct)).finish());
}

/** Decodes a serialized google.protobuf.BytesValue; throws on malformed bytes. */
export function decodeBytesValue(bytes: Uint8Array): Uint8Array {
  const m = types().bytesValue.decode(bytes) as unknown as { value?: Uint8Array };
  return m.value ?? new Uint8Array(0);
}

export function encodeBytesValue(value: Uint8Array): Buffer {
  const t = types().bytesValue;
  return Buffer.from(t.encode(t.create({ value })).finish());
}
