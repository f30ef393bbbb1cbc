// The collect request's bytes, written by the oap sink itself: the hot half of the sink.
import type { Int64 } from '../analysis/int64';
import type { MeshMetric, HttpMeshMetric, TcpMeshMetric } from '../analysis/mesh-metric';
import { meshMetricFieldNumbers, meshMetricsEncoder } from './skywalking-protos';

export type Batch = { kind: 'http'; metrics: HttpMeshMetric[] } | { kind: 'tcp'; metrics: TcpMeshMetric[] };
export type MetricKind = Batch['kind'];

/** The most a batch's header takes: its tag (one byte) and its length (a varint of up to 5 bytes). */
export const BATCH_HEADER_ROOM = 6;

/**
 * Batches as collect request bytes, the hot half of the sink. It writes the protobuf wire format itself
 * (tags from the .proto's field numbers, meshMetricFieldNumbers) because most of a metric repeats from one
 * metric to the next: the four service/instance names of a (source, dest) pair, the endpoint, the TLS
 * mode and each workload's instance properties are UTF-8 encoded once, with their tags, and copied after
 * that; UTF-8 string writes were the largest part of the sink's time with protobufjs. The bytes are those
 * protobufjs writes for the same message (every scalar written, even zero or empty; empty lists not at
 * all): test/receiver/oap-encoder.test.ts holds the two encoders together and decodes the result.
 * Each metric is sized first (its length comes before it), then written where the caller keeps it: the
 * sink's queue writes metric after metric into one buffer per batch (batch-queue.ts).
 */
export class BatchEncoder {
  private readonly f = meshMetricFieldNumbers();
  private readonly enums = meshMetricsEncoder().enumNumbers;
  /** (source service, source instance, dest service, dest instance) → their four fields, tags included. */
  private names = new Map<string, Map<string, Map<string, Map<string, Buffer>>>>();
  private namesCount = 0;
  /** One string field (tag + length + UTF-8) per value, by field number. */
  private readonly strings = new Map<number, Map<string, Buffer>>();
  /** An instance-properties map as its repeated field, by field number (analysis shares one map per workload). */
  private readonly props = new Map<number, WeakMap<Record<string, string>, Buffer>>();
  /** The cached pieces of the metric being encoded (see sizeHttp). */
  private readonly pieces: Buffer[] = [];
  private readonly listTag = tag(this.f.list.metrics, LEN);
  /** The body length of the metric last sized. */
  private bodyLength = 0;

  constructor() {
    for (const name of NAME_FIELDS) {
      if (this.f.http[name] !== this.f.tcp[name]) {
        throw new Error(`${name} is field ${this.f.http[name]} of HTTP metrics but ${this.f.tcp[name]} of TCP ones; the name cache assumes one number`);
      }
    }
  }

  /** One batch as a ServiceMeshMetrics message (what the sink's queue builds, metric by metric). */
  encode(b: Batch): Buffer {
    let listLength = 0;
    for (const m of b.metrics) listLength += this.sizeOf(m);
    const out = Buffer.allocUnsafe(BATCH_HEADER_ROOM + listLength);
    let pos = BATCH_HEADER_ROOM;
    for (const m of b.metrics) {
      this.sizeOf(m);
      pos = this.writeSized(out, pos, m);
    }
    const start = this.writeHeader(out, BATCH_HEADER_ROOM, b.kind, listLength);
    return out.subarray(start);
  }

  /**
   * The length of `m` as an element of its list (HTTPServiceMeshMetrics/TCPServiceMeshMetrics field 1:
   * tag, length, body). Its pieces are kept for writeSized, which must follow before the next sizeOf.
   */
  sizeOf(m: MeshMetric): number {
    const n = m.kind === 'http' ? this.sizeHttp(m, 0) : this.sizeTcp(m, 0);
    this.bodyLength = n;
    return varintSize(this.listTag) + varintSize(n) + n;
  }

  /** Writes the metric just sized (sizeOf) at `pos`; returns where it ends. */
  writeSized(out: Buffer, pos: number, m: MeshMetric): number {
    const start = pos;
    pos = writeVarint(out, writeVarint(out, pos, this.listTag), this.bodyLength);
    const end = m.kind === 'http' ? this.writeHttp(out, pos, m, 0) : this.writeTcp(out, pos, m, 0);
    if (end - pos !== this.bodyLength) throw new Error(`BatchEncoder wrote ${end - start} bytes, sized ${this.bodyLength}`);
    return end;
  }

  /**
   * The ServiceMeshMetrics header of a batch (its list as field httpMetrics or tcpMetrics), written so
   * that it ends at `end`, where the list's `listLength` bytes begin; returns where it starts (at least
   * end − BATCH_HEADER_ROOM).
   */
  writeHeader(out: Buffer, end: number, kind: MetricKind, listLength: number): number {
    const batchTag = tag(kind === 'http' ? this.f.batch.httpMetrics : this.f.batch.tcpMetrics, LEN);
    const start = end - varintSize(batchTag) - varintSize(listLength);
    writeVarint(out, writeVarint(out, start, batchTag), listLength);
    return start;
  }

  // Pieces per metric, in field order: names (3-6), endpoint, tlsMode, internalErrorCode, source and dest properties.
  private sizeHttp(m: HttpMeshMetric, p: number): number {
    const f = this.f.http;
    const pc = this.pieces;
    pc[p] = this.nameFields(m, f);
    pc[p + 1] = this.string(f.endpoint, m.endpoint);
    pc[p + 2] = this.string(f.tlsMode, m.tlsMode);
    pc[p + 3] = this.string(f.internalErrorCode, m.internalErrorCode);
    pc[p + 4] = this.properties(f.sourceInstanceProperties, m.sourceInstanceProperties);
    pc[p + 5] = this.properties(f.destInstanceProperties, m.destInstanceProperties);
    return pc[p]!.length + pc[p + 1]!.length + pc[p + 2]!.length + pc[p + 3]!.length + pc[p + 4]!.length + pc[p + 5]!.length +
      varintField(f.startTime, m.startTime) + varintField(f.endTime, m.endTime) +
      varintField(f.latency, m.latency) + varintField(f.responseCode, m.responseCode) + varintField(f.status, m.status ? 1 : 0) +
      varintField(f.protocol, this.enums.protocol[m.protocol]) + varintField(f.detectPoint, this.enums.detectPoint[m.detectPoint]) +
      varintField(f.internalRequestLatencyNanos, m.internalRequestLatencyNanos) +
      varintField(f.internalResponseLatencyNanos, m.internalResponseLatencyNanos);
  }

  private writeHttp(out: Buffer, pos: number, m: HttpMeshMetric, p: number): number {
    const f = this.f.http;
    const pc = this.pieces;
    pos = writeVarintField(out, pos, f.startTime, m.startTime);
    pos = writeVarintField(out, pos, f.endTime, m.endTime);
    pos = copy(out, pos, pc[p]!);
    pos = copy(out, pos, pc[p + 1]!);
    pos = writeVarintField(out, pos, f.latency, m.latency);
    pos = writeVarintField(out, pos, f.responseCode, m.responseCode);
    pos = writeVarintField(out, pos, f.status, m.status ? 1 : 0);
    pos = writeVarintField(out, pos, f.protocol, this.enums.protocol[m.protocol]);
    pos = writeVarintField(out, pos, f.detectPoint, this.enums.detectPoint[m.detectPoint]);
    pos = copy(out, pos, pc[p + 2]!);
    pos = copy(out, pos, pc[p + 3]!);
    pos = writeVarintField(out, pos, f.internalRequestLatencyNanos, m.internalRequestLatencyNanos);
    pos = writeVarintField(out, pos, f.internalResponseLatencyNanos, m.internalResponseLatencyNanos);
    pos = copy(out, pos, pc[p + 4]!);
    return copy(out, pos, pc[p + 5]!);
  }

  private sizeTcp(m: TcpMeshMetric, p: number): number {
    const f = this.f.tcp;
    const pc = this.pieces;
    pc[p] = this.nameFields(m, f);
    pc[p + 1] = EMPTY;
    pc[p + 2] = this.string(f.tlsMode, m.tlsMode);
    pc[p + 3] = this.string(f.internalErrorCode, m.internalErrorCode);
    pc[p + 4] = this.properties(f.sourceInstanceProperties, m.sourceInstanceProperties);
    pc[p + 5] = this.properties(f.destInstanceProperties, m.destInstanceProperties);
    return pc[p]!.length + pc[p + 2]!.length + pc[p + 3]!.length + pc[p + 4]!.length + pc[p + 5]!.length +
      varintField(f.startTime, m.startTime) + varintField(f.endTime, m.endTime) +
      varintField(f.detectPoint, this.enums.detectPoint[m.detectPoint]) +
      varintField(f.internalRequestLatencyNanos, m.internalRequestLatencyNanos) +
      varintField(f.internalResponseLatencyNanos, m.internalResponseLatencyNanos) +
      varintField(f.receivedBytes, m.receivedBytes) + varintField(f.sentBytes, m.sentBytes);
  }

  private writeTcp(out: Buffer, pos: number, m: TcpMeshMetric, p: number): number {
    const f = this.f.tcp;
    const pc = this.pieces;
    pos = writeVarintField(out, pos, f.startTime, m.startTime);
    pos = writeVarintField(out, pos, f.endTime, m.endTime);
    pos = copy(out, pos, pc[p]!);
    pos = writeVarintField(out, pos, f.detectPoint, this.enums.detectPoint[m.detectPoint]);
    pos = copy(out, pos, pc[p + 2]!);
    pos = copy(out, pos, pc[p + 3]!);
    pos = writeVarintField(out, pos, f.internalRequestLatencyNanos, m.internalRequestLatencyNanos);
    pos = writeVarintField(out, pos, f.internalResponseLatencyNanos, m.internalResponseLatencyNanos);
    pos = copy(out, pos, pc[p + 4]!);
    pos = copy(out, pos, pc[p + 5]!);
    pos = writeVarintField(out, pos, f.receivedBytes, m.receivedBytes);
    return writeVarintField(out, pos, f.sentBytes, m.sentBytes);
  }

  /** Fields 3-6 of either metric type (same numbers in both, checked): one cached piece per pair. */
  private nameFields(m: MeshMetric, f: Record<typeof NAME_FIELDS[number], number>): Buffer {
    // Bounded: a churning fleet (pod names) must not grow this forever; starting over costs one encode each.
    if (this.namesCount >= MAX_CACHED) { this.names = new Map(); this.namesCount = 0; }
    let a = this.names.get(m.sourceServiceName);
    if (!a) this.names.set(m.sourceServiceName, (a = new Map()));
    let b = a.get(m.sourceServiceInstance);
    if (!b) a.set(m.sourceServiceInstance, (b = new Map()));
    let c = b.get(m.destServiceName);
    if (!c) b.set(m.destServiceName, (c = new Map()));
    let bytes = c.get(m.destServiceInstance);
    if (!bytes) {
      bytes = Buffer.concat([
        stringField(f.sourceServiceName, m.sourceServiceName), stringField(f.sourceServiceInstance, m.sourceServiceInstance),
        stringField(f.destServiceName, m.destServiceName), stringField(f.destServiceInstance, m.destServiceInstance),
      ]);
      this.namesCount++;
      c.set(m.destServiceInstance, bytes);
    }
    return bytes;
  }

  private string(field: number, value: string): Buffer {
    let cache = this.strings.get(field);
    if (!cache) this.strings.set(field, (cache = new Map()));
    let bytes = cache.get(value);
    if (!bytes) {
      if (cache.size >= MAX_CACHED) cache.clear(); // endpoints can be many (paths with ids): bounded
      cache.set(value, (bytes = stringField(field, value)));
    }
    return bytes;
  }

  private properties(field: number, props: Record<string, string>): Buffer {
    let cache = this.props.get(field);
    if (!cache) this.props.set(field, (cache = new WeakMap()));
    let bytes = cache.get(props);
    if (!bytes) {
      const parts: Buffer[] = [];
      for (const key in props) {
        const pair = Buffer.concat([stringField(this.f.pair.key, key), stringField(this.f.pair.value, props[key]!)]);
        parts.push(lengthDelimited(field, pair));
      }
      cache.set(props, (bytes = Buffer.concat(parts)));
    }
    return bytes;
  }
}

const NAME_FIELDS = ['sourceServiceName', 'sourceServiceInstance', 'destServiceName', 'destServiceInstance'] as const;
/** Entries per string cache before it starts over. */
const MAX_CACHED = 10_000;
const EMPTY = Buffer.alloc(0);
/** Wire types. */
const VARINT = 0;
const LEN = 2;

function tag(field: number, wireType: number): number {
  return field * 8 + wireType;
}

function stringField(field: number, value: string): Buffer {
  return lengthDelimited(field, Buffer.from(value, 'utf8'));
}

function lengthDelimited(field: number, body: Buffer): Buffer {
  const t = tag(field, LEN);
  const out = Buffer.allocUnsafe(varintSize(t) + varintSize(body.length) + body.length);
  const pos = writeVarint(out, writeVarint(out, 0, t), body.length);
  body.copy(out, pos);
  return out;
}

/**
 * Bytes of a varint of an integer as protobuf's int32/int64/uint64/bool/enum carry it: a negative value
 * is its 64-bit two's complement (10 bytes), as protobufjs writes it; a BigInt (an int64/uint64 beyond
 * 2^53: byte counts, nanoseconds) is written exactly, its low 64 bits.
 */
function varintSize(n: Int64): number {
  if (typeof n === 'bigint' || n < 0) return bigVarintSize(n);
  let size = 1;
  while (n >= 128) { n = Math.floor(n / 128); size++; }
  return size;
}

function bigVarintSize(n: Int64): number {
  let v = BigInt.asUintN(64, BigInt(n));
  let size = 1;
  while (v >= 128n) { v >>= 7n; size++; }
  return size;
}

function varintField(field: number, n: Int64): number {
  return varintSize(tag(field, VARINT)) + varintSize(n);
}

function writeVarint(out: Buffer, pos: number, n: Int64): number {
  if (typeof n === 'bigint' || n < 0) {
    let v = BigInt.asUintN(64, typeof n === 'bigint' ? n : BigInt(Math.trunc(n)));
    while (v >= 128n) { out[pos++] = Number(v & 127n) | 128; v >>= 7n; }
    out[pos++] = Number(v);
    return pos;
  }
  while (n >= 0x80000000) { out[pos++] = (n % 128) | 128; n = Math.floor(n / 128); } // beyond 32-bit ops
  while (n >= 128) { out[pos++] = (n & 127) | 128; n >>>= 7; }
  out[pos++] = n;
  return pos;
}

function writeVarintField(out: Buffer, pos: number, field: number, n: Int64): number {
  return writeVarint(out, writeVarint(out, pos, tag(field, VARINT)), n);
}

function copy(out: Buffer, pos: number, piece: Buffer): number {
  out.set(piece, pos);
  return pos + piece.length;
}
