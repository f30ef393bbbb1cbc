// The hot path's decoder of StreamAccessLogsMessage: reads only the fields analysis uses, straight into the
// shapes of envoy-protos.ts (what @grpc/proto-loader's decode + toObject would give for them), and walks
// every other field without building anything. It steps through the bytes exactly as protobufjs's
// generated decoder does (its own Reader, the same length, depth and position checks, the same read per
// field type), so it accepts and refuses exactly what protobufjs does; any error, and the rare shapes it
// does not build itself (a message-valued map entry without a value, a `__proto__` map key, a TCP byte
// count beyond 2^53), are handed to the reference decoder, so failures carry protobufjs's own message.
// test/receiver/als-decoder.test.ts proves it equal to the reference on random and mutated messages.
import * as protobuf from 'protobufjs';
import type {
  AccessLogCommon, Any, HttpAccessLogEntry, StreamAccessLogsMessage, TcpAccessLogEntry, TlsProperties,
  Timestamp,
} from './access-log';

type Reader = protobuf.Reader;
type Decode = (bytes: Buffer) => StreamAccessLogsMessage;

/** Raised to leave the fast path for the reference decoder (not an error of the message). */
class Rare extends Error {}
const RARE = new Rare('rare shape: decoded by the reference decoder');

// Read once: compiled namespace imports are getters, and these are on the hot path.
const ReaderClass = protobuf.Reader;
const RECURSION_LIMIT = (protobuf.Reader as unknown as { recursionLimit: number }).recursionLimit;

/**
 * protobufjs's Reader.uint32 with its one- and two-byte cases inline (every tag, most lengths): the same
 * value, position and errors (a longer varint, or one that runs into the limit, is left to it).
 */
function u32(r: Reader): number {
  const pos = r.pos;
  const buf = r.buf;
  if (pos + 1 < r.len) {
    const b = buf[pos]!;
    if (b < 128) { r.pos = pos + 1; return b; }
    const b2 = buf[pos + 1]!;
    if (b2 < 128) { r.pos = pos + 2; return (b & 127) | (b2 << 7); }
  } else if (pos < r.len) {
    const b = buf[pos]!;
    if (b < 128) { r.pos = pos + 1; return b; }
  }
  return r.uint32();
}

function outOfRange(): RangeError {
  return RangeError('index out of range');
}

/**
 * Enters a length-delimited sub-message as the generated decoder does: depth check, end within the
 * current limit, limit narrowed to the end. Returns the outer limit, for leave().
 */
function enter(r: Reader, n: number): number {
  const l = u32(r);
  if (n > RECURSION_LIMIT) throw Error('maximum nesting depth exceeded');
  const c = r.pos + l;
  if (c > r.len) throw outOfRange();
  const outer = r.len;
  r.len = c;
  return outer;
}

function leave(r: Reader, outer: number): void {
  if (r.pos !== r.len) throw outOfRange();
  r.len = outer;
}

/**
 * A 64-bit varint as toObject gives it with `longs: Number`: protobufjs's readLongVarint step for step
 * (its fast route with more than 4 bytes left, its bounded route near the end, and their quirks), and
 * LongBits.toNumber, without the LongBits and Long objects they allocate for every value.
 */
function varint64(r: Reader, unsigned: boolean): number {
  const buf = r.buf;
  let pos = r.pos;
  let lo = 0;
  let hi = 0;
  let b = 0;
  let i = 0;
  done: {
    if (r.len - pos > 4) {
      for (; i < 4; ++i) {
        b = buf[pos++]!;
        lo = (lo | (b & 127) << i * 7) >>> 0;
        if (b < 128) break done;
      }
      b = buf[pos++]!;
      lo = (lo | (b & 127) << 28) >>> 0;
      hi = (hi | (b & 127) >> 4) >>> 0;
      if (b < 128) break done;
      i = 0;
    } else {
      for (; i < 3; ++i) {
        if (pos >= r.len) { r.pos = pos; throw outOfRange(); }
        b = buf[pos++]!;
        lo = (lo | (b & 127) << i * 7) >>> 0;
        if (b < 128) break done;
      }
      // protobufjs reads a 4th byte here without a bound or a continuation check.
      lo = (lo | (buf[pos++]! & 127) << i * 7) >>> 0;
      break done;
    }
    const bounded = !(r.len - pos > 4);
    for (; i < 5; ++i) {
      if (bounded && pos >= r.len) { r.pos = pos; throw outOfRange(); }
      b = buf[pos++]!;
      hi = (hi | (b & 127) << i * 7 + 3) >>> 0;
      if (b < 128) break done;
    }
    r.pos = pos;
    throw Error('invalid varint encoding');
  }
  r.pos = pos;
  if (!unsigned && hi >>> 31) {
    lo = ~lo + 1 >>> 0;
    hi = ~hi >>> 0;
    if (!lo) hi = hi + 1 >>> 0;
    return -(lo + hi * 4294967296);
  }
  return lo + hi * 4294967296;
}

function int64(r: Reader): number {
  return varint64(r, false);
}

function uint64(r: Reader): number {
  const n = varint64(r, true);
  // Beyond 2^53 the reference re-reads the message with exact digits (envoy-protos.ts).
  if (n > Number.MAX_SAFE_INTEGER) throw RARE;
  return n;
}

/**
 * Strings as BufferReader.string reads them (UTF-8, a length past the limit cut at the limit), kept by
 * their bytes: an ALS stream repeats a few strings (filter-state keys, type URLs, cluster names, SANs,
 * paths), and one found here costs a byte comparison rather than a UTF-8 decode and a new string. Bounded:
 * a slot holds the last string whose bytes hash to it.
 */
class StringTable {
  private readonly bytes: (Buffer | undefined)[] = new Array<Buffer | undefined>(STRING_SLOTS).fill(undefined);
  private readonly strings: string[] = new Array<string>(STRING_SLOTS).fill('');

  read(r: Reader): string {
    const len = u32(r);
    const buf = r.buf as Buffer;
    const start = r.pos;
    const end = Math.min(start + len, r.len);
    r.pos = end;
    const n = end - start;
    if (n === 0) return '';
    if (n > MAX_TABLED_STRING) return buf.toString('utf8', start, end);
    const slot = (n * 31 + buf[start]! * 7 + buf[start + (n >> 2)]! * 17 + buf[start + (n >> 1)]! * 131 + buf[end - 1]! * 1031) & (STRING_SLOTS - 1);
    const known = this.bytes[slot];
    if (known !== undefined && known.length === n) {
      let i = 0;
      while (i < n && known[i] === buf[start + i]) i++;
      if (i === n) return this.strings[slot]!;
    }
    const str = buf.toString('utf8', start, end);
    this.bytes[slot] = Buffer.from(buf.subarray(start, end));
    this.strings[slot] = str;
    return str;
  }
}
const STRING_SLOTS = 1024;
/** Longer strings are rarely repeated (paths with ids, long headers): decoded each time. */
const MAX_TABLED_STRING = 128;

// ---- walking the fields analysis does not read, as protobufjs would decode them ----

type FieldWalk = (r: Reader, tag: number, n: number) => void;
type ScalarWalk = (r: Reader) => void;

/** Each scalar type's read, without building its value where protobufjs's read has no other effect. */
const SCALAR_WALK: Record<string, ScalarWalk> = {
  // BufferReader.string: a length that runs past the limit is cut at the limit.
  string: (r) => { const len = u32(r); r.pos = Math.min(r.pos + len, r.len); },
  bytes: (r) => { const len = u32(r); if (r.pos + len > r.len) throw outOfRange(); r.pos += len; },
  int32: (r) => { u32(r); }, uint32: (r) => { u32(r); }, sint32: (r) => { u32(r); }, bool: (r) => { u32(r); },
  // 64-bit varints are read as protobufjs reads them, without the Long it would build (see varint64).
  int64: (r) => { varint64(r, false); }, uint64: (r) => { varint64(r, true); }, sint64: (r) => { varint64(r, false); },
  fixed32: (r) => { r.fixed32(); }, sfixed32: (r) => { r.sfixed32(); }, float: (r) => { r.float(); },
  fixed64: (r) => { r.fixed64(); }, sfixed64: (r) => { r.sfixed64(); }, double: (r) => { r.double(); },
};
/** Scalar types protobufjs accepts packed (every one but string and bytes). */
const PACKABLE = new Set(Object.keys(SCALAR_WALK).filter((t) => t !== 'string' && t !== 'bytes'));

/** Field walks of a message type, by field number. */
type FieldWalks = (FieldWalk | undefined)[];
const walkers = new Map<protobuf.Type, FieldWalks>();

/** The field walks of one message type, built once from its reflection. */
function walkersOf(type: protobuf.Type): FieldWalks {
  let fields = walkers.get(type);
  if (fields) return fields;
  fields = [];
  walkers.set(type, fields);
  for (const field of type.fieldsArray) {
    field.resolve();
    const resolved = field.resolvedType;
    const sub = resolved instanceof protobuf.Type ? resolved : undefined;
    const scalar = resolved instanceof protobuf.Enum ? 'int32' : field.type;
    if (field.delimited) throw new Error(`${type.fullName}.${field.name}: groups are not walked`);
    const one: ScalarWalk | undefined = sub ? undefined : SCALAR_WALK[scalar];
    if (!sub && !one) throw new Error(`${type.fullName}.${field.name}: no walk for type ${scalar}`);
    // A sub-message's walks are looked up on first use (types may refer to each other), then kept.
    let subWalks: FieldWalks | undefined;
    const walks = (): FieldWalks => (subWalks ??= walkersOf(sub!));
    if (field.map) {
      const key = SCALAR_WALK[(field as unknown as protobuf.MapField).keyType]!;
      fields[field.id] = (r, _t, n) => walkMapEntry(r, n, key, sub ? walks() : undefined, one);
    } else if (field.repeated && !sub && PACKABLE.has(scalar)) {
      fields[field.id] = (r, t) => {
        if ((t & 7) !== 2) return one!(r);
        const c2 = u32(r) + r.pos;
        if (c2 > r.len) throw outOfRange();
        const outer = r.len;
        r.len = c2;
        while (r.pos < c2) one!(r);
        if (r.pos !== c2) throw outOfRange();
        r.len = outer;
      };
    } else if (sub) {
      fields[field.id] = (r, _t, n) => walkMessage(r, walks(), n + 1);
    } else {
      fields[field.id] = (r) => one!(r);
    }
  }
  return fields;
}

function walkMessage(r: Reader, fields: FieldWalks, n: number): void {
  const outer = enter(r, n);
  while (r.pos < r.len) {
    const t = u32(r);
    const walk = fields[t >>> 3];
    if (walk) walk(r, t, n);
    else r.skipType(t & 7, n);
  }
  leave(r, outer);
}

function walkMapEntry(r: Reader, n: number, key: ScalarWalk, sub: FieldWalks | undefined, value: ScalarWalk | undefined): void {
  const c2 = u32(r) + r.pos;
  if (c2 > r.len) throw outOfRange();
  const outer = r.len;
  r.len = c2;
  let hasValue = false;
  while (r.pos < c2) {
    const t = u32(r);
    switch (t >>> 3) {
      case 1: key(r); break;
      case 2: if (sub) walkMessage(r, sub, n + 1); else value!(r); hasValue = true; break;
      default: r.skipType(t & 7, n);
    }
  }
  if (r.pos !== c2) throw outOfRange();
  r.len = outer;
  // A message value left null fails the reference's toObject, unless a later entry replaces it.
  if (sub && !hasValue) throw RARE;
}

// ---- reading what analysis uses ----

interface Types {
  message: protobuf.Type; identifier: protobuf.Type; httpEntries: protobuf.Type; tcpEntries: protobuf.Type;
  http: protobuf.Type; tcp: protobuf.Type; common: protobuf.Type; request: protobuf.Type; response: protobuf.Type;
  tls: protobuf.Type; cert: protobuf.Type; san: protobuf.Type; flags: protobuf.Type; connection: protobuf.Type;
  httpVersion: protobuf.Enum; requestMethod: protobuf.Enum;
}

/** Field numbers read below, checked against the loaded protos so a renumbering cannot go unnoticed. */
const EXPECTED_IDS: Record<string, Record<string, number>> = {
  message: { identifier: 1, http_logs: 2, tcp_logs: 3 },
  httpEntries: { log_entry: 1 }, tcpEntries: { log_entry: 1 },
  http: { common_properties: 1, protocol_version: 2, request: 3, response: 4 },
  tcp: { common_properties: 1, connection_properties: 2 },
  common: {
    tls_properties: 4, start_time: 5, time_to_first_upstream_tx_byte: 7, time_to_first_upstream_rx_byte: 9,
    time_to_last_upstream_rx_byte: 10, time_to_first_downstream_tx_byte: 11, time_to_last_downstream_tx_byte: 12,
    upstream_cluster: 15, response_flags: 16, filter_state_objects: 21,
  },
  request: { request_method: 1, scheme: 2, path: 5, request_headers: 13 },
  response: { response_code: 1, response_headers: 4, response_trailers: 5 },
  tls: { local_certificate_properties: 4, peer_certificate_properties: 5 },
  cert: { subject_alt_name: 1, subject: 2 }, san: { uri: 1 },
  flags: { unauthorized_details: 13 }, connection: { received_bytes: 1, sent_bytes: 2 },
};

class FastDecoder {
  private readonly flagNames: (string | undefined)[] = [];
  private readonly strings = new StringTable();
  private readonly httpVersions: EnumNames;
  private readonly requestMethods: EnumNames;

  /** The walks of the fields each read type leaves unread, built once. */
  private readonly walks: Record<'common' | 'tls' | 'cert' | 'san' | 'flags' | 'request' | 'response', FieldWalks>;

  constructor(private readonly t: Types, private readonly identifierToObject: (m: protobuf.Message) => unknown) {
    this.walks = {
      common: walkersOf(t.common), tls: walkersOf(t.tls), cert: walkersOf(t.cert), san: walkersOf(t.san),
      flags: walkersOf(t.flags), request: walkersOf(t.request), response: walkersOf(t.response),
    };
    for (const [name, ids] of Object.entries(EXPECTED_IDS)) {
      const type = (t as unknown as Record<string, protobuf.Type>)[name]!;
      for (const [field, id] of Object.entries(ids)) {
        if (type.fields[field]?.id !== id) throw new Error(`${type.fullName}.${field} is not field ${id} in the loaded protos`);
      }
    }
    for (const f of t.flags.fieldsArray) if (f.type === 'bool') this.flagNames[f.id] = f.name;
    this.httpVersions = enumNames(t.httpVersion);
    this.requestMethods = enumNames(t.requestMethod);
  }

  decode(bytes: Buffer): StreamAccessLogsMessage {
    const r = ReaderClass.create(bytes);
    const out: StreamAccessLogsMessage = {};
    let http: { log_entry?: HttpAccessLogEntry[] } | undefined;
    let tcp: { log_entry?: TcpAccessLogEntry[] } | undefined;
    let identifier: protobuf.Message | undefined;
    while (r.pos < r.len) {
      const t = u32(r);
      switch (t >>> 3) {
        case 1: {
          // Once per stream: protobufjs decodes it whole, as the reference does (a later one replaces it).
          identifier = this.t.identifier.decode(r, u32(r), undefined as never, 1 as never);
          break;
        }
        case 2: http = this.entries(r, 1, true) as typeof http; break;
        case 3: tcp = this.entries(r, 1, false) as typeof tcp; break;
        default: r.skipType(t & 7, 0);
      }
    }
    if (identifier) out.identifier = this.identifierToObject(identifier) as StreamAccessLogsMessage['identifier'];
    // toObject's order: both members when both were sent, the oneof naming the last.
    if (http) { out.http_logs = http; out.log_entries = 'http_logs'; }
    if (tcp) { out.tcp_logs = tcp; out.log_entries = 'tcp_logs'; }
    return out;
  }

  private entries(r: Reader, n: number, isHttp: boolean): { log_entry?: (HttpAccessLogEntry | TcpAccessLogEntry)[] } {
    const outer = enter(r, n);
    const list: (HttpAccessLogEntry | TcpAccessLogEntry)[] = [];
    while (r.pos < r.len) {
      const t = u32(r);
      if (t >>> 3 === 1) list.push(isHttp ? this.httpEntry(r, n + 1) : this.tcpEntry(r, n + 1));
      else r.skipType(t & 7, n);
    }
    leave(r, outer);
    return list.length ? { log_entry: list } : {};
  }

  private httpEntry(r: Reader, n: number): HttpAccessLogEntry {
    const outer = enter(r, n);
    const e: HttpAccessLogEntry = {};
    while (r.pos < r.len) {
      const t = u32(r);
      switch (t >>> 3) {
        case 1: e.common_properties = this.common(r, n + 1); break;
        case 2: e.protocol_version = enumName(this.httpVersions, r.int32()) as string; break;
        case 3: e.request = this.request(r, n + 1); break;
        case 4: e.response = this.response(r, n + 1); break;
        default: r.skipType(t & 7, n);
      }
    }
    leave(r, outer);
    return e;
  }

  private tcpEntry(r: Reader, n: number): TcpAccessLogEntry {
    const outer = enter(r, n);
    const e: TcpAccessLogEntry = {};
    while (r.pos < r.len) {
      const t = u32(r);
      switch (t >>> 3) {
        case 1: e.common_properties = this.common(r, n + 1); break;
        case 2: e.connection_properties = this.connection(r, n + 1); break;
        default: r.skipType(t & 7, n);
      }
    }
    leave(r, outer);
    return e;
  }

  private connection(r: Reader, n: number): NonNullable<TcpAccessLogEntry['connection_properties']> {
    const outer = enter(r, n);
    const c: NonNullable<TcpAccessLogEntry['connection_properties']> = {};
    while (r.pos < r.len) {
      const t = u32(r);
      switch (t >>> 3) {
        case 1: c.received_bytes = uint64(r); break;
        case 2: c.sent_bytes = uint64(r); break;
        default: r.skipType(t & 7, n);
      }
    }
    leave(r, outer);
    return c;
  }

  private common(r: Reader, n: number): AccessLogCommon {
    const outer = enter(r, n);
    const cp: AccessLogCommon = {};
    const rest = this.walks.common;
    while (r.pos < r.len) {
      const t = u32(r);
      const id = t >>> 3;
      switch (id) {
        // One store per field (a computed key would make every store here a dictionary lookup).
        case 5: cp.start_time = this.time(r, n + 1); break;
        case 7: cp.time_to_first_upstream_tx_byte = this.time(r, n + 1); break;
        case 9: cp.time_to_first_upstream_rx_byte = this.time(r, n + 1); break;
        case 10: cp.time_to_last_upstream_rx_byte = this.time(r, n + 1); break;
        case 11: cp.time_to_first_downstream_tx_byte = this.time(r, n + 1); break;
        case 12: cp.time_to_last_downstream_tx_byte = this.time(r, n + 1); break;
        case 4: cp.tls_properties = this.tls(r, n + 1); break;
        case 15: cp.upstream_cluster = this.strings.read(r); break;
        case 16: cp.response_flags = this.flags(r, n + 1); break;
        case 21: this.filterState(r, n, (cp.filter_state_objects ??= {})); break;
        default: {
          const walk = rest[id];
          if (walk) walk(r, t, n);
          else r.skipType(t & 7, n);
        }
      }
    }
    leave(r, outer);
    return cp;
  }

  /** Timestamp and Duration share their shape: int64 seconds = 1, int32 nanos = 2. */
  private time(r: Reader, n: number): Timestamp {
    const outer = enter(r, n);
    let seconds: number | undefined;
    let nanos: number | undefined;
    while (r.pos < r.len) {
      const t = u32(r);
      switch (t >>> 3) {
        case 1: seconds = int64(r); break;
        case 2: nanos = r.int32(); break;
        default: r.skipType(t & 7, n);
      }
    }
    leave(r, outer);
    // Literals of exactly the fields sent: six of these per entry, and `{}` would reserve room for four.
    if (seconds === undefined) return nanos === undefined ? {} : { nanos };
    return nanos === undefined ? { seconds } : { seconds, nanos };
  }

  private filterState(r: Reader, n: number, map: Record<string, Any>): void {
    const c2 = u32(r) + r.pos;
    if (c2 > r.len) throw outOfRange();
    const outer = r.len;
    r.len = c2;
    let key = '';
    let value: Any | undefined;
    while (r.pos < c2) {
      const t = u32(r);
      switch (t >>> 3) {
        case 1: key = this.strings.read(r); break;
        case 2: value = this.any(r, n + 1); break;
        default: r.skipType(t & 7, n);
      }
    }
    if (r.pos !== c2) throw outOfRange();
    r.len = outer;
    if (!value || key === '__proto__') throw RARE;
    map[key] = value;
  }

  private any(r: Reader, n: number): Any {
    const outer = enter(r, n);
    const a: Any = {};
    while (r.pos < r.len) {
      const t = u32(r);
      switch (t >>> 3) {
        case 1: a.type_url = this.strings.read(r); break;
        case 2: a.value = r.bytes() as Buffer; break;
        default: r.skipType(t & 7, n);
      }
    }
    leave(r, outer);
    return a;
  }

  private tls(r: Reader, n: number): TlsProperties {
    const outer = enter(r, n);
    const tls: TlsProperties = {};
    const rest = this.walks.tls;
    while (r.pos < r.len) {
      const t = u32(r);
      switch (t >>> 3) {
        case 4: tls.local_certificate_properties = this.cert(r, n + 1); break;
        case 5: tls.peer_certificate_properties = this.cert(r, n + 1); break;
        default: {
          const walk = rest[t >>> 3];
          if (walk) walk(r, t, n);
          else r.skipType(t & 7, n);
        }
      }
    }
    leave(r, outer);
    return tls;
  }

  private cert(r: Reader, n: number): NonNullable<TlsProperties['local_certificate_properties']> {
    const outer = enter(r, n);
    const c: NonNullable<TlsProperties['local_certificate_properties']> = {};
    const rest = this.walks.cert;
    while (r.pos < r.len) {
      const t = u32(r);
      switch (t >>> 3) {
        case 1: {
          // A literal for the first (usually the only) SAN: push onto [] would reserve room for 17.
          const san = this.san(r, n + 1);
          if (c.subject_alt_name) c.subject_alt_name.push(san);
          else c.subject_alt_name = [san];
          break;
        }
        case 2: c.subject = this.strings.read(r); break;
        default: {
          const walk = rest[t >>> 3];
          if (walk) walk(r, t, n);
          else r.skipType(t & 7, n);
        }
      }
    }
    leave(r, outer);
    return c;
  }

  /** Only the URI is read (SkyWalking ignores DNS SANs); the rest is walked. */
  private san(r: Reader, n: number): { uri?: string } {
    const outer = enter(r, n);
    const s: { uri?: string } = {};
    const rest = this.walks.san;
    while (r.pos < r.len) {
      const t = u32(r);
      if (t >>> 3 === 1) s.uri = this.strings.read(r);
      else {
        const walk = rest[t >>> 3];
        if (walk) walk(r, t, n);
        else r.skipType(t & 7, n);
      }
    }
    leave(r, outer);
    return s;
  }

  /** Every boolean flag by name; unauthorized_details, a message, only as present ({}). */
  private flags(r: Reader, n: number): Record<string, unknown> {
    const outer = enter(r, n);
    const f: Record<string, unknown> = {};
    const rest = this.walks.flags;
    while (r.pos < r.len) {
      const t = u32(r);
      const id = t >>> 3;
      const name = this.flagNames[id];
      if (name !== undefined) f[name] = r.bool();
      else if (id === 13) { rest[13]!(r, t, n); f.unauthorized_details = {}; }
      else {
        const walk = rest[id];
        if (walk) walk(r, t, n);
        else r.skipType(t & 7, n);
      }
    }
    leave(r, outer);
    return f;
  }

  private request(r: Reader, n: number): NonNullable<HttpAccessLogEntry['request']> {
    const outer = enter(r, n);
    const q: NonNullable<HttpAccessLogEntry['request']> = {};
    const rest = this.walks.request;
    while (r.pos < r.len) {
      const t = u32(r);
      switch (t >>> 3) {
        case 1: q.request_method = enumName(this.requestMethods, r.int32()) as string; break;
        case 2: q.scheme = this.strings.read(r); break;
        case 5: q.path = this.strings.read(r); break;
        case 13: stringMapEntry(r, n, (q.request_headers ??= {}), this.strings); break;
        default: {
          const walk = rest[t >>> 3];
          if (walk) walk(r, t, n);
          else r.skipType(t & 7, n);
        }
      }
    }
    leave(r, outer);
    return q;
  }

  private response(r: Reader, n: number): NonNullable<HttpAccessLogEntry['response']> {
    const outer = enter(r, n);
    const s: NonNullable<HttpAccessLogEntry['response']> = {};
    const rest = this.walks.response;
    while (r.pos < r.len) {
      const t = u32(r);
      switch (t >>> 3) {
        case 1: s.response_code = this.uint32Value(r, n + 1); break;
        case 4: stringMapEntry(r, n, (s.response_headers ??= {}), this.strings); break;
        case 5: stringMapEntry(r, n, (s.response_trailers ??= {}), this.strings); break;
        default: {
          const walk = rest[t >>> 3];
          if (walk) walk(r, t, n);
          else r.skipType(t & 7, n);
        }
      }
    }
    leave(r, outer);
    return s;
  }

  private uint32Value(r: Reader, n: number): { value?: number } {
    const outer = enter(r, n);
    const v: { value?: number } = {};
    while (r.pos < r.len) {
      const t = u32(r);
      if (t >>> 3 === 1) v.value = u32(r);
      else r.skipType(t & 7, n);
    }
    leave(r, outer);
    return v;
  }
}

/**
 * An enum's value names by number: an array for the usual small numbers, its valuesById for any other
 * (protobufjs's Enum.values finds them through its prototype chain, a slower lookup).
 */
interface EnumNames { small: (string | undefined)[]; byId: Record<number, string | undefined> }

function enumNames(e: protobuf.Enum): EnumNames {
  const small: (string | undefined)[] = new Array<string | undefined>(SMALL_ENUM_IDS).fill(undefined);
  for (let id = 0; id < SMALL_ENUM_IDS; id++) small[id] = e.valuesById[id];
  return { small, byId: e.valuesById };
}
const SMALL_ENUM_IDS = 64;

/** toObject with `enums: String`: the value's name, or the number when the enum has no such value. */
function enumName(names: EnumNames, v: number): string | number {
  const name = v >= 0 && v < SMALL_ENUM_IDS ? names.small[v] : names.byId[v];
  return name === undefined ? v : name;
}

function stringMapEntry(r: Reader, n: number, map: Record<string, string>, strings: StringTable): void {
  const c2 = u32(r) + r.pos;
  if (c2 > r.len) throw outOfRange();
  const outer = r.len;
  r.len = c2;
  let key = '';
  let value = '';
  while (r.pos < c2) {
    const t = u32(r);
    switch (t >>> 3) {
      case 1: key = strings.read(r); break;
      case 2: value = strings.read(r); break;
      default: r.skipType(t & 7, n);
    }
  }
  if (r.pos !== c2) throw outOfRange();
  r.len = outer;
  if (key === '__proto__') throw RARE;
  map[key] = value;
}

/**
 * The fast decoder for `root`'s StreamAccessLogsMessage, falling back to `reference` (proto-loader's
 * decode + toObject) for errors and rare shapes. `fastOnly` skips the fallback, for the equality test.
 */
export function createAlsDecoder(root: protobuf.Root, toObjectOptions: protobuf.IConversionOptions, reference: Decode): {
  decode: Decode; fastOnly: (bytes: Buffer) => StreamAccessLogsMessage | 'rare';
} {
  const type = (name: string) => root.lookupType(name);
  const t: Types = {
    message: type('envoy.service.accesslog.v3.StreamAccessLogsMessage'),
    identifier: type('envoy.service.accesslog.v3.StreamAccessLogsMessage.Identifier'),
    httpEntries: type('envoy.service.accesslog.v3.StreamAccessLogsMessage.HTTPAccessLogEntries'),
    tcpEntries: type('envoy.service.accesslog.v3.StreamAccessLogsMessage.TCPAccessLogEntries'),
    http: type('envoy.data.accesslog.v3.HTTPAccessLogEntry'),
    tcp: type('envoy.data.accesslog.v3.TCPAccessLogEntry'),
    common: type('envoy.data.accesslog.v3.AccessLogCommon'),
    request: type('envoy.data.accesslog.v3.HTTPRequestProperties'),
    response: type('envoy.data.accesslog.v3.HTTPResponseProperties'),
    tls: type('envoy.data.accesslog.v3.TLSProperties'),
    cert: type('envoy.data.accesslog.v3.TLSProperties.CertificateProperties'),
    san: type('envoy.data.accesslog.v3.TLSProperties.CertificateProperties.SubjectAltName'),
    flags: type('envoy.data.accesslog.v3.ResponseFlags'),
    connection: type('envoy.data.accesslog.v3.ConnectionProperties'),
    httpVersion: root.lookupEnum('envoy.data.accesslog.v3.HTTPAccessLogEntry.HTTPVersion'),
    requestMethod: root.lookupEnum('envoy.config.core.v3.RequestMethod'),
  };
  const fast = new FastDecoder(t, (m) => t.identifier.toObject(m, toObjectOptions));
  return {
    decode: (bytes) => {
      try {
        return fast.decode(bytes);
      } catch {
        // Errors and rare shapes: protobufjs decides, and names what is wrong in its own words.
        return reference(bytes);
      }
    },
    fastOnly: (bytes) => {
      try {
        return fast.decode(bytes);
      } catch (err) {
        if (err instanceof Rare) return 'rare';
        throw err;
      }
    },
  };
}
