import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import type { Any, HttpAccessLogEntry, StreamAccessLogsMessage } from '../../../receiver/src/als/envoy-protos';
import { buildFlatNode } from '../../../receiver/src/analysis/flat-node';
import { encodeBytesValue, encodeStruct, structFromTree, type MetadataTree } from '../../../receiver/src/analysis/metadata-struct';
import { BYTES_VALUE_TYPE, STRUCT_TYPE, TYPE_URL_PREFIX } from '../../../receiver/src/analysis/peer-metadata';
import type { Receiver } from '../../../receiver/src/receiver';
import { flatNodeOf, gateway, httpCall, nodeOf, peerStructOf, pod, tcpCall, vm } from '../../fixtures/mesh-fixtures';
import { AlsStream, startReceiver } from '../harness';
import { scrape } from './fault-harness';
import { Rng } from '../seeded-rng';

// Thousands of malformed and mutated ALS streams against one real receiver on loopback: random bytes as
// whole gRPC messages, valid messages with bytes flipped, cut or spliced, and well-formed messages
// carrying broken peer metadata (truncated or corrupted FlatBuffers, Any values of the wrong type, huge
// and deep Structs, invalid UTF-8). The receiver must neither crash nor hang: every stream ends with a
// gRPC status, and every entry it received is either analysed or counted as an analysis error.
// FUZZ_SEED=<n> replays a run; FUZZ_CASES=<n> changes its size.
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const CASES = process.env.FUZZ_CASES ? Number(process.env.FUZZ_CASES) : 3000;
const CASE_TIMEOUT_MS = 5000;
const CONCURRENCY = 16;


const serialize = (() => {
  const { alsServiceDefinition } = require('../../../receiver/src/als/envoy-protos') as typeof import('../../../receiver/src/als/envoy-protos');
  return alsServiceDefinition().StreamAccessLogs!.requestSerialize as (m: StreamAccessLogsMessage) => Buffer;
})();

const WORKLOADS = [pod('frontend', 'boutique'), vm('checkoutservice', 'boutique'), pod('cartservice', 'boutique'), gateway()];
/** Same length as the bytes it is swapped for, so the framing around it stays valid. */
const UTF8_MARK = 'UTF8MARK';
const BAD_UTF8 = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28]);

function spoilUtf8(b: Buffer): Buffer {
  const out = Buffer.from(b);
  for (let i = out.indexOf(UTF8_MARK); i >= 0; i = out.indexOf(UTF8_MARK, i + 1)) BAD_UTF8.copy(out, i);
  return out;
}

const anyOf = (typeName: string, value: Uint8Array): Any => ({ type_url: TYPE_URL_PREFIX + typeName, value: Buffer.from(value) });

/** A peer metadata value broken in one of the ways the wire can break it. */
const BROKEN_PEERS: readonly ((r: Rng) => Any)[] = [
  (r) => { const fb = buildFlatNode(flatNodeOf(r.pick(WORKLOADS))); return anyOf(BYTES_VALUE_TYPE, encodeBytesValue(fb.subarray(0, r.int(fb.length)))); },
  (r) => { const fb = Buffer.from(buildFlatNode(flatNodeOf(r.pick(WORKLOADS)))); for (let k = 0; k < 1 + r.int(8); k++) fb[r.int(fb.length)] = r.int(256); return anyOf(BYTES_VALUE_TYPE, encodeBytesValue(fb)); },
  (r) => anyOf(BYTES_VALUE_TYPE, encodeBytesValue(r.bytes(r.int(300)))),
  (r) => anyOf(BYTES_VALUE_TYPE, r.bytes(r.int(100))),
  (r) => anyOf(STRUCT_TYPE, r.bytes(r.int(300))),
  (r) => anyOf(STRUCT_TYPE, encodeBytesValue(buildFlatNode(flatNodeOf(r.pick(WORKLOADS))))),
  (r) => anyOf(BYTES_VALUE_TYPE, encodeStruct(structFromTree(peerStructOf(r.pick(WORKLOADS))))),
  (r) => ({ type_url: r.pick(['', 'garbage', 'type.googleapis.com/google.protobuf.StringValue', `${TYPE_URL_PREFIX}${STRUCT_TYPE}x`]), value: r.bytes(r.int(50)) }),
  (r) => { const s = encodeStruct(structFromTree(peerStructOf(r.pick(WORKLOADS)))); return anyOf(STRUCT_TYPE, s.subarray(0, r.int(s.length))); },
  (r) => anyOf(STRUCT_TYPE, encodeStruct(structFromTree(hugeTree(r)))),
  (r) => anyOf(STRUCT_TYPE, encodeStruct(structFromTree(deepTree(1 + r.int(48))))),
  (r) => anyOf(STRUCT_TYPE, spoilUtf8(encodeStruct(structFromTree({ ...peerStructOf(r.pick(WORKLOADS)), name: UTF8_MARK, namespace: UTF8_MARK })))),
  (r) => anyOf(BYTES_VALUE_TYPE, spoilUtf8(encodeBytesValue(buildFlatNode({ ...flatNodeOf(r.pick(WORKLOADS)), name: UTF8_MARK, labels: { app: UTF8_MARK } })))),
  () => anyOf(STRUCT_TYPE, new Uint8Array(0)),
];

function hugeTree(r: Rng): MetadataTree {
  const labels: Record<string, string> = {};
  for (let i = 0; i < 500 + r.int(3000); i++) labels[`k${i}`] = `v${i}`;
  return { NAME: 'huge', NAMESPACE: 'boutique', LABELS: labels };
}

function deepTree(depth: number): MetadataTree {
  let t: MetadataTree = { NAME: 'deep' };
  for (let i = 0; i < depth; i++) t = { NAME: `deep${i}`, LABELS: t };
  return t;
}

/** A realistic entry whose peer metadata is broken, sometimes alongside an intact other key. */
function entryWithBrokenPeer(r: Rng): HttpAccessLogEntry {
  const [client, server] = [r.pick(WORKLOADS), r.pick(WORKLOADS)];
  const entry = httpCall(client, server, { path: r.next() < 0.3 ? `/${UTF8_MARK}` : '/p', peerEncoding: r.pick(['struct', 'flatnode', 'both'] as const) })[r.pick(['client', 'server'] as const)];
  const state = entry.common_properties!.filter_state_objects!;
  const keys = Object.keys(state).filter((k) => !k.endsWith('_id'));
  state[r.pick(keys)] = r.pick(BROKEN_PEERS)(r);
  if (r.next() < 0.2) for (let i = 0; i < 200 + r.int(800); i++) state[`junk.${i}`] = anyOf(STRUCT_TYPE, r.bytes(r.int(20)));
  return entry;
}

function validMessage(r: Rng, first: boolean): StreamAccessLogsMessage {
  const w = r.pick(WORKLOADS);
  const identifier = first ? { node: nodeOf(w), log_name: 'als' } : undefined;
  return r.next() < 0.7
    ? { identifier, http_logs: { log_entry: Array.from({ length: 1 + r.int(5) }, () => entryWithBrokenPeer(r)) } }
    : { identifier, tcp_logs: { log_entry: [tcpCall(w, r.pick(WORKLOADS), { peerEncoding: r.pick(['struct', 'flatnode', 'both'] as const) }).client] } };
}

/** Byte-level damage to an encoded message. */
const MUTATIONS: readonly ((r: Rng, b: Buffer) => Buffer)[] = [
  (r, b) => b.subarray(0, r.int(b.length)),
  (r, b) => { const c = Buffer.from(b); for (let k = 0; k < 1 + r.int(10); k++) c[r.int(c.length)] = r.int(256); return c; },
  (r, b) => { const i = r.int(b.length); return Buffer.concat([b.subarray(0, i), r.bytes(1 + r.int(40)), b.subarray(i)]); },
  (r, b) => { const i = r.int(b.length); const j = i + r.int(b.length - i); return Buffer.concat([b, b.subarray(i, j)]); },
  (_r, b) => spoilUtf8(b),
];

type FuzzCase = { kind: string; messages: Buffer[] };

const CASE_KINDS: readonly [string, (r: Rng) => Buffer[]][] = [
  ['random bytes as the message', (r) => Array.from({ length: 1 + r.int(3) }, () => r.bytes(r.int(2000)))],
  ['mutated valid message', (r) => { const msgs = [serialize(validMessage(r, true)), serialize(validMessage(r, false))]; const i = r.int(2); msgs[i] = r.pick(MUTATIONS)(r, msgs[i]!); return msgs; }],
  ['broken peer metadata', (r) => Array.from({ length: 1 + r.int(3) }, (_, i) => spoilUtf8(serialize(validMessage(r, i === 0))))],
  ['no node on the first message', (r) => [serialize({ ...validMessage(r, false) })]],
  ['odd node identity', (r) => [serialize({ ...validMessage(r, false), identifier: { node: { id: r.pick(['', '~', 'router~', 'sidecar~~~', 'x'.repeat(5000), `sidecar~1.2.3.4~${UTF8_MARK}.ns~ns`]), metadata: r.next() < 0.5 ? structFromTree(hugeTree(r)) : structFromTree(deepTree(r.int(45))) }, log_name: 'als' } })].map(spoilUtf8)],
  ['empty messages', (r) => Array.from({ length: 1 + r.int(3) }, () => Buffer.alloc(0))],
];

describe('receiver fuzz', function () {
  this.timeout(60_000);
  let receiver: Receiver;
  let client: grpc.Client;

  before(async () => {
    receiver = await startReceiver('--sink', 'memory', '--max-message-bytes', String(1024 * 1024));
    client = new grpc.Client(`127.0.0.1:${receiver.grpcPort}`, grpc.credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await receiver.stop();
  });

  it('survives every case: each stream ends with a gRPC status, every entry received is analysed or counted', async () => {
    const r = new Rng(SEED);
    const cases: FuzzCase[] = Array.from({ length: CASES }, () => { const [kind, make] = r.pick(CASE_KINDS); return { kind, messages: make(r) }; });
    console.log(`      fuzz: ${CASES} cases, seed ${SEED} (FUZZ_SEED=${SEED} replays this run)`);
    const codes = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const index = next++;
        const c = cases[index]!;
        const s = new AlsStream<Buffer>(client, true);
        for (const m of c.messages) s.send(m);
        let timer: NodeJS.Timeout | undefined;
        const hung = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`case ${index} (${c.kind}) hung: no status after ${CASE_TIMEOUT_MS} ms; seed ${SEED}`)), CASE_TIMEOUT_MS); });
        const { error } = await Promise.race([s.end(), hung]).finally(() => clearTimeout(timer));
        const code = grpc.status[error?.code ?? grpc.status.OK]!;
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    console.log(`      fuzz: statuses ${JSON.stringify(Object.fromEntries(codes))}`);

    const m = await scrape(receiver.adminPort);
    assert.equal(m.value('receiver_als_streams_ended_total'), CASES, 'every stream accounted for in /metrics');
    assert.equal(m.value('receiver_als_active_streams'), 0);
    assert.equal(m.value('receiver_als_entries_received_total'),
      m.value('receiver_als_entries_analyzed_total') + m.value('receiver_mesh_metrics_dropped_total', { reason: 'analysis_error' }));
    assert.ok(m.value('receiver_als_entries_analyzed_total') > 0, 'some of the broken-peer entries were analysed');
    assert.ok(!codes.has('INTERNAL') && !codes.has('UNKNOWN'), `no stream ended with an internal error: ${JSON.stringify(Object.fromEntries(codes))}`);
  });

  it('still analyses a well-formed call correctly afterwards', async () => {
    const before = (await scrape(receiver.adminPort)).value('receiver_mesh_metrics_forwarded_total');
    const [frontend, cart] = [WORKLOADS[0]!, WORKLOADS[2]!];
    const s = new AlsStream(client).send({ identifier: { node: nodeOf(frontend), log_name: 'als' }, http_logs: { log_entry: [httpCall(frontend, cart, { path: '/after-fuzz' }).client] } });
    assert.equal((await s.end()).error, null);
    assert.equal((await scrape(receiver.adminPort)).value('receiver_mesh_metrics_forwarded_total'), before + 1);
    const topology = receiver.sink as unknown as { topology(): { calls: { id: string }[] } };
    assert.ok(topology.topology().calls.some((c) => c.id === 'frontend.boutique->cartservice.boutique'));
  });
});
