import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import {
  ENVOY_INCLUDE_DIRS, alsDecoders, type HttpAccessLogEntry, type StreamAccessLogsMessage, type TcpAccessLogEntry,
} from '../../receiver/src/als/envoy-protos';
import { int64Of } from '../../receiver/src/analysis/int64';
import { alsMessage, gateway, httpCall, nodeOf, pod, tcpCall, vm, type PeerEncoding } from '../fixtures/mesh-fixtures';
import { Rng } from './seeded-rng';

// The hot path's decoder (receiver/src/als/als-decoder.ts) against the reference (proto-loader's decode +
// toObject), on messages built at random from Envoy's own schema (every field type, unknown fields of
// every wire type, packed and unpacked repeats, repeated singular fields, extreme varints, empty
// messages, unknown enum values), on realistic fixture messages with both peer metadata formats, and on
// each of those truncated, bit-flipped and spliced. For every input the fast decoder must either give
// exactly what the reference gives for the fields analysis reads, or fail where the reference fails; a
// rare shape it leaves to the reference must be counted, not silently different.
// ALS_DECODER_SEED=<n> replays a run; ALS_DECODER_CASES=<n> changes its size.
const SEED = process.env.ALS_DECODER_SEED ? Number(process.env.ALS_DECODER_SEED) : Date.now() % 2 ** 31;
const CASES = process.env.ALS_DECODER_CASES ? Number(process.env.ALS_DECODER_CASES) : 1500;


// ---- the reference's output, cut to the fields the fast decoder reads ----

type Obj = Record<string, unknown>;
const pickKeys = (o: Obj | undefined, keys: readonly string[]): Obj => {
  const out: Obj = {};
  if (o) for (const k of keys) if (k in o) out[k] = o[k];
  return out;
};
const TIMES = ['start_time', 'time_to_first_upstream_tx_byte', 'time_to_first_upstream_rx_byte', 'time_to_last_upstream_rx_byte',
  'time_to_first_downstream_tx_byte', 'time_to_last_downstream_tx_byte'];

function projectCert(c: Obj | undefined): Obj | undefined {
  if (!c) return undefined;
  const out = pickKeys(c, ['subject']);
  const sans = c.subject_alt_name as Obj[] | undefined;
  if (sans) out.subject_alt_name = sans.map((s) => pickKeys(s, ['uri']));
  return out;
}

function projectCommon(cp: Obj): Obj {
  const out = pickKeys(cp, [...TIMES, 'upstream_cluster', 'filter_state_objects']);
  const tls = cp.tls_properties as Obj | undefined;
  if (tls) {
    out.tls_properties = {};
    for (const k of ['local_certificate_properties', 'peer_certificate_properties']) {
      const c = projectCert(tls[k] as Obj | undefined);
      if (c) (out.tls_properties as Obj)[k] = c;
    }
  }
  const flags = cp.response_flags as Obj | undefined;
  if (flags) {
    out.response_flags = {};
    for (const [k, v] of Object.entries(flags)) {
      if (typeof v === 'boolean') (out.response_flags as Obj)[k] = v;
      else if (k === 'unauthorized_details') (out.response_flags as Obj)[k] = {};
    }
  }
  return out;
}

function projectEntry(e: Obj, http: boolean): Obj {
  const out: Obj = {};
  if (e.common_properties) out.common_properties = projectCommon(e.common_properties as Obj);
  if (http) {
    if ('protocol_version' in e) out.protocol_version = e.protocol_version;
    if (e.request) out.request = pickKeys(e.request as Obj, ['request_method', 'scheme', 'path', 'request_headers']);
    if (e.response) out.response = pickKeys(e.response as Obj, ['response_code', 'response_headers', 'response_trailers']);
  } else if (e.connection_properties) {
    // Beyond 2^53 the reference gives digits: compared as the exact Int64 analysis makes of them.
    const c = e.connection_properties as Obj;
    out.connection_properties = Object.fromEntries(Object.entries(pickKeys(c, ['received_bytes', 'sent_bytes']))
      .map(([k, v]) => [k, int64Of(v as number | string)]));
  }
  return out;
}

function project(m: StreamAccessLogsMessage): Obj {
  const out = pickKeys(m as Obj, ['identifier', 'log_entries']);
  for (const [key, http] of [['http_logs', true], ['tcp_logs', false]] as const) {
    const logs = m[key] as { log_entry?: Obj[] } | undefined;
    if (!logs) continue;
    out[key] = logs.log_entry ? { log_entry: logs.log_entry.map((e) => projectEntry(e, http)) } : {};
  }
  return out;
}

function normalizeFast(m: StreamAccessLogsMessage): Obj {
  for (const e of (m.tcp_logs?.log_entry ?? []) as TcpAccessLogEntry[]) {
    const c = e.connection_properties;
    if (c) for (const k of ['received_bytes', 'sent_bytes'] as const) if (k in c) (c as Obj)[k] = int64Of(c[k]);
  }
  return m as Obj;
}

// ---- random messages from Envoy's schema ----

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of ENVOY_INCLUDE_DIRS) if (fs.existsSync(path.join(dir, target))) return path.join(dir, target);
    return protobuf.util.path.resolve(origin, target);
  };
  root.loadSync('envoy/service/accesslog/v3/als.proto', { keepCase: true });
  root.resolveAll();
  return root;
}

const WIRE: Record<string, number> = {
  double: 1, fixed64: 1, sfixed64: 1, float: 5, fixed32: 5, sfixed32: 5, string: 2, bytes: 2,
};
const wireOf = (type: string): number => WIRE[type] ?? 0;
/** long.js's Long, as protobufjs uses it (its typings leave out the static constructors). */
const Long = protobuf.util.Long as unknown as { fromBits(lo: number, hi: number, unsigned: boolean): protobuf.Long };
const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const STRINGS = ['', 'a', 'upstream_peer', 'downstream_peer', 'wasm.upstream_peer', 'wasm.downstream_peer', 'content-type',
  'grpc-status', 'application/grpc', 'http', 'https', '/hipstershop.CartService/GetCart', 'spiffe://cluster.local/ns/x/sa/y',
  'outbound|8080||cart.boutique.svc.cluster.local', 'ünïcødé ✓', '\u{1F600}'];

class MessageGen {
  constructor(private readonly r: Rng, private readonly peers: readonly protobuf.Message[]) {}

  scalar(w: protobuf.Writer, type: string, enumType?: protobuf.Enum): void {
    const r = this.r;
    if (enumType) {
      const ids = Object.values(enumType.values);
      return void w.int32(r.chance(0.8) ? r.pick(ids) : r.pick([99, -1, 2 ** 31 - 1]));
    }
    if (LONG_TYPES.has(type)) {
      const [lo, hi] = r.pick([[0, 0], [1, 0], [r.int(2 ** 32), 0], [0xffffffff, 0x1fffff], [0, 0x200000], [0xffffffff, 0xffffffff],
        [r.int(2 ** 32), r.int(2 ** 32)], [1_796_179_751, 0]]) as [number, number];
      return void (w as unknown as Record<string, (v: unknown) => void>)[type]!(Long.fromBits(lo, hi, type.startsWith('u') || type === 'fixed64'));
    }
    switch (type) {
      case 'string': return void w.string(r.chance(0.7) ? r.pick(STRINGS) : r.bytes(r.int(12)).toString('latin1'));
      case 'bytes': return void w.bytes(r.bytes(r.int(20)));
      case 'bool': return void w.bool(r.chance(0.5));
      case 'double': return void w.double(r.pick([0, 1.5, -2, 1e300, Number.NaN]));
      case 'float': return void w.float(r.pick([0, 1.5, -2]));
      case 'uint32': case 'fixed32': return void (w as unknown as Record<string, (v: number) => void>)[type]!(r.pick([0, 1, 200, 503, 2 ** 32 - 1, r.int(2 ** 32)]));
      default: return void (w as unknown as Record<string, (v: number) => void>)[type]!(r.pick([0, 1, -1, 2 ** 31 - 1, -(2 ** 31), r.int(1000)]));
    }
  }

  /** Unknown field numbers with a value of any wire type, groups included. */
  unknown(w: protobuf.Writer): void {
    const id = 1000 + this.r.int(1000);
    switch (this.r.pick([0, 1, 2, 3, 5])) {
      case 0: w.uint32((id << 3) | 0).uint64(Long.fromBits(this.r.int(2 ** 32), this.r.int(2 ** 32), true)); break;
      case 1: w.uint32((id << 3) | 1).fixed64(1); break;
      case 2: w.uint32((id << 3) | 2).bytes(this.r.bytes(this.r.int(10))); break;
      case 3: w.uint32((id << 3) | 3).uint32((7 << 3) | 0).uint32(5).uint32((id << 3) | 4); break;
      case 5: w.uint32((id << 3) | 5).fixed32(7); break;
    }
  }

  message(w: protobuf.Writer, type: protobuf.Type, depth: number): void {
    const r = this.r;
    const fields = [...type.fieldsArray];
    if (r.chance(0.3)) fields.sort(() => r.next() - 0.5);
    for (const field of fields) {
      if (!r.chance(depth > 6 ? 0.1 : type.name === 'Any' ? 0.9 : 0.5)) continue;
      const resolved = field.resolvedType;
      const times = field.repeated || field.map ? 1 + r.int(3) : r.chance(0.1) ? 2 : 1;
      for (let i = 0; i < times; i++) {
        if (field.map) {
          w.uint32((field.id << 3) | 2).fork();
          if (r.chance(0.95)) { w.uint32((1 << 3) | wireOf((field as unknown as protobuf.MapField).keyType)); this.scalar(w, (field as unknown as protobuf.MapField).keyType); }
          if (r.chance(0.97)) this.value(w, 2, field.type, resolved, depth);
          w.ldelim();
        } else if (field.repeated && !(resolved instanceof protobuf.Type) && field.type !== 'string' && field.type !== 'bytes' && r.chance(0.5)) {
          w.uint32((field.id << 3) | 2).fork();
          for (let k = 0; k < r.int(4); k++) this.scalar(w, resolved instanceof protobuf.Enum ? 'int32' : field.type, resolved as protobuf.Enum | undefined);
          w.ldelim();
        } else {
          this.value(w, field.id, field.type, resolved, depth);
        }
      }
    }
    if (r.chance(0.1)) this.unknown(w);
  }

  value(w: protobuf.Writer, id: number, type: string, resolved: protobuf.ReflectionObject | null, depth: number): void {
    if (resolved instanceof protobuf.Type) {
      if (resolved.fullName === '.google.protobuf.Any' && this.r.chance(0.5)) {
        w.uint32((id << 3) | 2).bytes(resolved.encode(this.r.pick(this.peers)).finish());
        return;
      }
      w.uint32((id << 3) | 2).fork();
      this.message(w, resolved, depth + 1);
      w.ldelim();
      return;
    }
    const enumType = resolved instanceof protobuf.Enum ? resolved : undefined;
    w.uint32((id << 3) | wireOf(enumType ? 'int32' : type));
    this.scalar(w, enumType ? 'int32' : type, enumType);
  }
}

// ---- realistic messages and their mutations ----

const WORKLOADS = [pod('frontend', 'boutique'), vm('checkoutservice', 'boutique'), pod('cartservice', 'boutique'), gateway()];
const ENCODINGS: PeerEncoding[] = ['struct', 'flatnode', 'both'];

function fixtureMessage(r: Rng, serialize: (m: StreamAccessLogsMessage) => Buffer): Buffer {
  const a = r.pick(WORKLOADS);
  const b = r.pick(WORKLOADS);
  const peerEncoding = r.pick(ENCODINGS);
  const n = r.int(4);
  if (r.chance(0.3)) {
    const tcp = Array.from({ length: n }, () => tcpCall(a, b, { peerEncoding })[r.pick(['client', 'server'] as const)]);
    return serialize({ ...alsMessage({ tcp }), ...(r.chance(0.5) ? { identifier: { node: nodeOf(a), log_name: 'als' } } : {}) });
  }
  const http: HttpAccessLogEntry[] = Array.from({ length: n }, () =>
    httpCall(a, b, { peerEncoding, responseCode: r.pick([200, 404, 503]), path: r.pick(STRINGS) })[r.pick(['client', 'server'] as const)]);
  return serialize({ ...alsMessage({ http }), ...(r.chance(0.5) ? { identifier: { node: nodeOf(a), log_name: 'als' } } : {}) });
}

function mutate(r: Rng, b: Buffer): Buffer {
  switch (r.int(4)) {
    case 0: return b.subarray(0, r.int(b.length + 1));
    case 1: { const out = Buffer.from(b); for (let k = 0; k < 1 + r.int(4); k++) if (out.length) out[r.int(out.length)] = r.int(256); return out; }
    case 2: { const at = r.int(b.length + 1); return Buffer.concat([b.subarray(0, at), r.bytes(1 + r.int(6)), b.subarray(at)]); }
    default: { const at = r.int(b.length + 1); return Buffer.concat([b.subarray(0, at), b.subarray(r.int(b.length + 1))]); }
  }
}

// ---- the comparison ----

type Outcome = { ok: true; value: StreamAccessLogsMessage } | { ok: false; message: string };
const attempt = (f: () => StreamAccessLogsMessage): Outcome => {
  try { return { ok: true, value: f() }; } catch (err) { return { ok: false, message: (err as Error).message }; }
};

describe(`ALS decoder (seed ${SEED}, ALS_DECODER_SEED=${SEED} replays)`, function () {
  this.timeout(300_000);
  const { fast, reference } = alsDecoders();
  const { alsServiceDefinition } = require('../../receiver/src/als/envoy-protos') as typeof import('../../receiver/src/als/envoy-protos');
  const serialize = alsServiceDefinition().StreamAccessLogs!.requestSerialize as (m: StreamAccessLogsMessage) => Buffer;
  const root = loadRoot();
  const messageType = root.lookupType('envoy.service.accesslog.v3.StreamAccessLogsMessage');
  const anyType = root.lookupType('google.protobuf.Any');
  const peers = WORKLOADS.flatMap((w) => {
    const entry = httpCall(w, w, { peerEncoding: 'both' }).client;
    return Object.values(entry.common_properties!.filter_state_objects!).map((a) => anyType.fromObject(a));
  });

  /** Checks one input; returns what happened, for the counts. */
  function check(bytes: Buffer, label: string): 'equal' | 'both failed' | 'rare' {
    const ref = attempt(() => reference(bytes));
    let got: StreamAccessLogsMessage | 'rare';
    try {
      got = fast.fastOnly(bytes);
    } catch (err) {
      assert.ok(!ref.ok, `${label}: the fast decoder failed (${(err as Error).message}) where the reference decodes; bytes ${bytes.toString('hex')}`);
      const viaFallback = attempt(() => fast.decode(bytes));
      assert.deepEqual(viaFallback, ref, `${label}: the error reported is not the reference's`);
      return 'both failed';
    }
    if (got === 'rare') {
      assert.deepEqual(attempt(() => fast.decode(bytes)), ref, `${label}: a rare shape not left to the reference`);
      return 'rare';
    }
    assert.ok(ref.ok, `${label}: the fast decoder accepted what the reference refuses (${(ref as { message: string }).message}); bytes ${bytes.toString('hex')}`);
    assert.deepStrictEqual(normalizeFast(got), project(ref.value), `${label}: differs from the reference; bytes ${bytes.toString('hex')}`);
    return 'equal';
  }

  it('gives the reference\'s fields for random schema-built messages, and fails where it fails on their mutations', () => {
    const r = new Rng(SEED);
    const gen = new MessageGen(r, peers);
    const counts = { equal: 0, 'both failed': 0, rare: 0 };
    for (let i = 0; i < CASES; i++) {
      const w = protobuf.Writer.create();
      if (i % 50 !== 0) gen.message(w, messageType, 0); // every 50th: the empty message
      const bytes = Buffer.from(w.finish());
      counts[check(bytes, `case ${i}`)]++;
      for (let k = 0; k < 3; k++) counts[check(mutate(r, bytes), `case ${i} mutation ${k}`)]++;
    }
    assert.ok(counts.equal > CASES, `too few inputs decoded to compare: ${JSON.stringify(counts)}`);
    assert.ok(counts['both failed'] > CASES / 10, `too few malformed inputs: ${JSON.stringify(counts)}`);
  });

  it('gives the reference\'s fields for realistic messages with both peer metadata formats, and fails where it fails when they are cut or corrupted', () => {
    const r = new Rng(SEED + 1);
    const counts = { equal: 0, 'both failed': 0, rare: 0 };
    for (let i = 0; i < CASES / 3; i++) {
      const bytes = fixtureMessage(r, serialize);
      assert.equal(check(bytes, `fixture ${i}`), 'equal');
      for (let k = 0; k < 3; k++) counts[check(mutate(r, bytes), `fixture ${i} mutation ${k}`)]++;
    }
    assert.ok(counts['both failed'] > 0 && counts.equal > 0, JSON.stringify(counts));
  });

  it('fails like the reference at every truncation point of a realistic message', () => {
    const [a, b] = [WORKLOADS[0]!, WORKLOADS[1]!];
    const bytes = serialize({
      identifier: { node: nodeOf(a), log_name: 'als' },
      ...alsMessage({ http: [httpCall(a, b, { peerEncoding: 'both' }).client, httpCall(b, a, { peerEncoding: 'flatnode' }).server] }),
    });
    let failed = 0;
    for (let end = 0; end < bytes.length; end++) if (check(bytes.subarray(0, end), `cut at ${end}`) === 'both failed') failed++;
    assert.ok(failed > bytes.length / 2, `only ${failed} of ${bytes.length} truncations failed`);
  });

  it('reads 64-bit varints as the reference does: edge values, every length, cut short, over-long, at the end of their message or not', () => {
    // The decoder reads these itself (without protobufjs's Long objects), so every path of protobufjs's
    // readLongVarint is walked here: more than 4 bytes left, 4 or fewer, and the 10-byte limit.
    const varints: Buffer[] = [];
    const edges = ['0', '1', '127', '128', '268435455', '268435456', '2147483647', '2147483648', '4294967295', '4294967296',
      '1765000000', '9007199254740991', '9007199254740993', '9223372036854775807', '-1', '-2', '-2147483648', '-4294967296',
      '-9007199254740993', '-9223372036854775808'];
    for (const v of edges) varints.push(Buffer.from(protobuf.Writer.create().int64(v).finish()));
    // Every length from 1 to 11 bytes, with and without a continuation bit on the last byte.
    for (let len = 1; len <= 11; len++) {
      for (const last of [0x01, 0x7f, 0x81, 0xff]) varints.push(Buffer.from([...Array(len - 1).fill(0xff), last]));
      varints.push(Buffer.from([...Array(len - 1).fill(0x80), 0x00])); // not minimal
    }
    const nanos = Buffer.from([0x10, 0xc0, 0x84, 0x3d]); // nanos: 1000000
    let compared = 0;
    for (const v of varints) {
      for (const after of [Buffer.alloc(0), nanos]) {
        for (let cut = 0; cut <= v.length; cut++) {
          const timestamp = Buffer.concat([Buffer.from([0x08]), v.subarray(0, cut), after]); // seconds = field 1
          const common = protobuf.Writer.create().uint32((5 << 3) | 2).bytes(timestamp).finish();
          const entry = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(common).finish();
          const list = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(entry).finish();
          const bytes = Buffer.from(protobuf.Writer.create().uint32((2 << 3) | 2).bytes(list).finish());
          check(bytes, `seconds ${v.toString('hex')} cut at ${cut}${after.length ? ', nanos after' : ''}`);
          compared++;
        }
      }
    }
    assert.ok(compared > 500, `only ${compared} inputs`);
  });

  it('leaves a TCP byte count beyond 2^53 to the reference, which keeps it exact', () => {
    const [entry] = [tcpCall(WORKLOADS[0]!, WORKLOADS[2]!).client];
    entry!.connection_properties = { received_bytes: '18446744073709551615', sent_bytes: 5 };
    const bytes = serialize(alsMessage({ tcp: [entry!] }));
    assert.equal(fast.fastOnly(bytes), 'rare');
    const decoded = fast.decode(bytes).tcp_logs!.log_entry![0]!.connection_properties!;
    assert.equal(int64Of(decoded.received_bytes), 18446744073709551615n);
  });

  it('leaves a filter state entry without a value to the reference, which refuses the message', () => {
    // http_logs { log_entry { common_properties { filter_state_objects { key: "a" } } } }
    const fixed = Buffer.from([0x12, 0x0a, 0x0a, 0x08, 0x0a, 0x06, 0xaa, 0x01, 0x03, 0x0a, 0x01, 0x61]);
    assert.equal(fast.fastOnly(fixed), 'rare');
    assert.throws(() => fast.decode(fixed), /null/);
    assert.throws(() => reference(fixed), /null/);
  });
});
