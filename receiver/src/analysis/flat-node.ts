// Istio's FlatBuffers `FlatNode` (peer metadata of Istio 1.7-1.23, schema in receiver/schema/node_info.fbs):
// a verifying reader for what sidecars send and a builder for test fixtures and traffic replay.
// The JS runtime reads without bounds checks (a bad offset silently yields garbage), so every offset is
// checked here before it is followed: a corrupt blob raises FlatNodeError, never a wrong answer.
import * as flatbuffers from 'flatbuffers';

export interface FlatNode {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  owner?: string;
  workloadName?: string;
  platformMetadata?: Record<string, string>;
  istioVersion?: string;
  meshId?: string;
  appContainers?: string[];
  clusterId?: string;
  instanceIps?: string[];
  identity?: string;
}

type FieldKind = 'string' | 'keyVals' | 'strings';

/** FlatNode's fields in schema (slot) order; slot i lives at vtable offset 4 + 2i. */
const FLAT_NODE_FIELDS: readonly { name: keyof FlatNode; kind: FieldKind }[] = [
  { name: 'name', kind: 'string' },
  { name: 'namespace', kind: 'string' },
  { name: 'labels', kind: 'keyVals' },
  { name: 'owner', kind: 'string' },
  { name: 'workloadName', kind: 'string' },
  { name: 'platformMetadata', kind: 'keyVals' },
  { name: 'istioVersion', kind: 'string' },
  { name: 'meshId', kind: 'string' },
  { name: 'appContainers', kind: 'strings' },
  { name: 'clusterId', kind: 'string' },
  { name: 'instanceIps', kind: 'strings' },
  { name: 'identity', kind: 'string' },
];

const KEY_VAL_KEY_SLOT = 0;
const KEY_VAL_VALUE_SLOT = 1;
const UOFFSET = 4;

export class FlatNodeError extends Error {
  constructor(message: string) {
    super(`corrupt FlatNode: ${message}`);
    this.name = 'FlatNodeError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads a FlatNode blob; throws FlatNodeError when any offset, length or string is out of place. */
export function readFlatNode(bytes: Uint8Array): FlatNode {
  const r = new Reader(bytes);
  if (bytes.length < 2 * UOFFSET) throw new FlatNodeError(`${bytes.length} bytes is too short`);
  const root = r.follow(0, 'root');
  const table = r.table(root, 'FlatNode');
  const node: FlatNode = {};
  FLAT_NODE_FIELDS.forEach((field, slot) => {
    const at = r.field(table, slot, field.name);
    if (at === undefined) return;
    const target = r.follow(at, field.name);
    switch (field.kind) {
      case 'string':
        (node as Record<string, unknown>)[field.name] = r.string(target, field.name);
        break;
      case 'strings':
        (node as Record<string, unknown>)[field.name] = r.offsets(target, field.name).map((s) => r.string(s, field.name));
        break;
      case 'keyVals': {
        const map: Record<string, string> = {};
        for (const kvAt of r.offsets(target, field.name)) {
          const kv = r.table(kvAt, `${field.name} entry`);
          const keyAt = r.field(kv, KEY_VAL_KEY_SLOT, 'key');
          const valueAt = r.field(kv, KEY_VAL_VALUE_SLOT, 'value');
          const key = keyAt === undefined ? '' : r.string(r.follow(keyAt, 'key'), 'key');
          map[key] = valueAt === undefined ? '' : r.string(r.follow(valueAt, 'value'), 'value');
        }
        (node as Record<string, unknown>)[field.name] = map;
        break;
      }
    }
  });
  return node;
}

interface TableRef { pos: number; vtable: number; vtableSize: number; tableSize: number }

class Reader {
  private readonly bb: flatbuffers.ByteBuffer;
  private readonly size: number;

  constructor(private readonly bytes: Uint8Array) {
    this.bb = new flatbuffers.ByteBuffer(bytes);
    this.size = bytes.length;
  }

  private need(at: number, length: number, what: string): void {
    if (at < 0 || length < 0 || at + length > this.size) {
      throw new FlatNodeError(`${what} at ${at} (+${length}) runs past the ${this.size}-byte buffer`);
    }
  }

  /** Follows the unsigned offset stored at `at` to the object it points to. */
  follow(at: number, what: string): number {
    this.need(at, UOFFSET, `offset to ${what}`);
    const target = at + this.bb.readUint32(at);
    this.need(target, UOFFSET, what);
    return target;
  }

  table(pos: number, what: string): TableRef {
    if (pos % 4 !== 0) throw new FlatNodeError(`${what} table at ${pos} is not 4-byte aligned`);
    this.need(pos, 4, `${what} table`);
    const vtable = pos - this.bb.readInt32(pos);
    if (vtable % 2 !== 0) throw new FlatNodeError(`${what} vtable at ${vtable} is not 2-byte aligned`);
    this.need(vtable, 4, `${what} vtable`);
    const vtableSize = this.bb.readUint16(vtable);
    const tableSize = this.bb.readUint16(vtable + 2);
    if (vtableSize < 4 || vtableSize % 2 !== 0) throw new FlatNodeError(`${what} vtable size ${vtableSize}`);
    this.need(vtable, vtableSize, `${what} vtable`);
    if (tableSize < 4) throw new FlatNodeError(`${what} table size ${tableSize}`);
    this.need(pos, tableSize, `${what} table`);
    return { pos, vtable, vtableSize, tableSize };
  }

  /** Position of an offset-typed field of a table, or undefined when the field is absent. */
  field(t: TableRef, slot: number, what: string): number | undefined {
    const entry = 4 + 2 * slot;
    if (entry + 2 > t.vtableSize) return undefined;
    const off = this.bb.readUint16(t.vtable + entry);
    if (off === 0) return undefined;
    if (off + UOFFSET > t.tableSize) throw new FlatNodeError(`field ${what} at ${off} lies outside its table`);
    return t.pos + off;
  }

  string(pos: number, what: string): string {
    const length = this.bb.readUint32(pos);
    this.need(pos + UOFFSET, length + 1, `string ${what}`);
    if (this.bytes[pos + UOFFSET + length] !== 0) throw new FlatNodeError(`string ${what} at ${pos} is not terminated`);
    try {
      return utf8.decode(this.bytes.subarray(pos + UOFFSET, pos + UOFFSET + length));
    } catch {
      throw new FlatNodeError(`string ${what} at ${pos} is not UTF-8`);
    }
  }

  /** The targets of a vector of offsets (strings or tables). */
  offsets(pos: number, what: string): number[] {
    if (pos % 4 !== 0) throw new FlatNodeError(`vector ${what} at ${pos} is not 4-byte aligned`);
    const length = this.bb.readUint32(pos);
    this.need(pos + UOFFSET, length * UOFFSET, `vector ${what}`);
    const out = new Array<number>(length);
    for (let i = 0; i < length; i++) out[i] = this.follow(pos + UOFFSET + i * UOFFSET, `${what}[${i}]`);
    return out;
  }
}

/**
 * Builds a FlatNode blob the way Istio's proxy does: only the fields given, labels and platform
 * metadata as KeyVal tables sorted by key (byte order), no file identifier.
 */
export function buildFlatNode(node: FlatNode): Uint8Array {
  const b = new flatbuffers.Builder(256);
  // Children first: a FlatBuffers table may only point at objects finished before it starts.
  const offsets = FLAT_NODE_FIELDS.map((field) => {
    const value = node[field.name];
    if (value === undefined) return undefined;
    switch (field.kind) {
      case 'string':
        return b.createString(value as string);
      case 'strings':
        return vectorOfOffsets(b, (value as string[]).map((s) => b.createString(s)));
      case 'keyVals':
        return vectorOfOffsets(b, sortedByKey(value as Record<string, string>).map(([k, v]) => keyVal(b, k, v)));
    }
  });
  b.startObject(FLAT_NODE_FIELDS.length);
  offsets.forEach((offset, slot) => {
    if (offset !== undefined) b.addFieldOffset(slot, offset, 0);
  });
  b.finish(b.endObject());
  return b.asUint8Array().slice();
}

function keyVal(b: flatbuffers.Builder, key: string, value: string): flatbuffers.Offset {
  const k = b.createString(key);
  const v = b.createString(value);
  b.startObject(2);
  b.addFieldOffset(KEY_VAL_KEY_SLOT, k, 0);
  b.addFieldOffset(KEY_VAL_VALUE_SLOT, v, 0);
  return b.endObject();
}

function vectorOfOffsets(b: flatbuffers.Builder, items: flatbuffers.Offset[]): flatbuffers.Offset {
  b.startVector(UOFFSET, items.length, UOFFSET);
  for (let i = items.length - 1; i >= 0; i--) b.addOffset(items[i]);
  return b.endVector();
}

/** FlatBuffers' `key` attribute orders by the key's bytes, so compare UTF-8, not UTF-16 units. */
function sortedByKey(map: Record<string, string>): [string, string][] {
  return Object.entries(map).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}
