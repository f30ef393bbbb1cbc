import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { ServiceMeshMetricsWire } from '../../../receiver/src/sinks/skywalking-protos';
import { AlsStream, FakeOap, alsClient, waitFor } from '../harness';
import { NodeChild } from '../node-child';
import { httpCall, nodeOf, pod } from '../../fixtures/mesh-fixtures';
import { PARITY_CASES, RULE_SETS, type Expected, type ParityCase } from './skywalking-parity-cases';

// The compatibility contract: with default flags, the receiver sends the OAP what SkyWalking's own mx-mesh
// analysis would make of the same ALS input. Each row of skywalking-parity-cases.ts is streamed, as a
// sidecar does, into the built CLI (receiver/dist/main.js, a child process) whose oap sink sends to a real
// gRPC ServiceMeshMetricService peer; what that peer decodes (int64 fields as exact decimal strings) is
// compared field for field with the row's metrics. Within one entry SkyWalking's order follows its
// filter-state map, so metrics are compared in a fixed order.

const MAIN = path.join(__dirname, '..', '..', '..', 'receiver', 'dist', 'main.js');
const README = path.join(__dirname, '..', '..', '..', 'receiver', 'README.md');

/** A receiver CLI with the oap sink, and counters read from its /metrics. */
class ReceiverProcess extends NodeChild {
  grpcPort = 0;
  adminPort = 0;

  constructor(oapPort: number, flags: readonly string[]) {
    super(MAIN, ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--sink', 'oap', '--oap-address', `127.0.0.1:${oapPort}`,
      '--flush-interval-ms', '10', ...flags], { killAfterMs: 120_000 });
  }

  async started(): Promise<void> {
    const startedLine = () => this.stderr.split('\n').find((l) => l.includes('"receiver started"'));
    await waitFor(() => startedLine() !== undefined || !this.running, 'the receiver\'s started log line', 20_000);
    if (!startedLine()) throw new Error(`receiver exited: ${this.stderr}`);
    const line = JSON.parse(startedLine()!) as { grpcPort: number; adminPort: number };
    this.grpcPort = line.grpcPort;
    this.adminPort = line.adminPort;
  }

  /** The sum of a counter's series. */
  async counter(name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.adminPort}/metrics`)).text();
    return text.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  }
}

/**
 * Streams one sidecar's message (its node, unless undefined, on it) into a receiver and waits until every
 * entry is analysed and every metric delivered; returns what the OAP peer decoded meanwhile.
 */
async function exchange(oap: FakeOap, r: ReceiverProcess, client: grpc.Client, node: ParityCase['node'], logs: ParityCase['logs']): Promise<Expected[]> {
  const entries = await r.counter('receiver_als_entries_received_total');
  const at = oap.received.length;
  const s = new AlsStream(client);
  const identifier = node ? { identifier: { node, log_name: 'envoy_accesslog_service' } } : {};
  s.send('http' in logs ? { ...identifier, http_logs: { log_entry: logs.http } } : { ...identifier, tcp_logs: { log_entry: logs.tcp } });
  const { error } = await s.end();
  if (error) throw new Error(`the ALS stream failed: ${error.message}`);
  const count = ('http' in logs ? logs.http : logs.tcp).length;
  await waitFor(async () => (await r.counter('receiver_als_entries_received_total')) === entries + count
    && (await r.counter('receiver_mesh_metrics_forwarded_total')) === (await r.counter('receiver_mesh_metrics_produced_total')),
  'the entries analysed and their metrics delivered', 10_000);
  return received(oap.received.slice(at));
}

/** Sorted so that one entry's metrics compare whatever order SkyWalking's map iteration gives them. */
function ordered(metrics: Expected[]): Expected[] {
  const key = (e: Expected) => JSON.stringify([e.kind, e.m.detectPoint, e.m.sourceServiceName, e.m.destServiceName, e.m]);
  return [...metrics].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function received(batches: ServiceMeshMetricsWire[]): Expected[] {
  return batches.flatMap((b): Expected[] => [
    ...(b.httpMetrics?.metrics ?? []).map((m) => ({ kind: 'http' as const, m })),
    ...(b.tcpMetrics?.metrics ?? []).map((m) => ({ kind: 'tcp' as const, m })),
  ]);
}

describe('parity with SkyWalking\'s mx-mesh analysis, through the CLI to a gRPC OAP peer', function () {
  this.timeout(180_000);
  const oap = new FakeOap({ exactLongs: true });
  const receivers = new Map<string, ReceiverProcess>();
  const clients = new Map<string, grpc.Client>();
  /** What each case made, by case name. */
  const results = new Map<string, Expected[]>();

  before(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
    const oapPort = await oap.start();
    const sets: [string, readonly string[]][] = [['default', []], ...Object.entries(RULE_SETS)];
    for (const [name, flags] of sets) receivers.set(name, new ReceiverProcess(oapPort, flags));
    for (const [name, r] of receivers) {
      await r.started();
      clients.set(name, alsClient(r.grpcPort));
    }
    // One case at a time, each waited for until every entry is analysed and every metric delivered, so
    // what the OAP peer holds after it is that case's answer.
    for (const c of PARITY_CASES) {
      const set = c.rules ?? 'default';
      results.set(c.name, await exchange(oap, receivers.get(set)!, clients.get(set)!, c.node, c.logs));
    }
  });

  after(() => {
    for (const c of clients.values()) c.close();
    for (const r of receivers.values()) if (r.running) r.proc.kill('SIGTERM');
    oap.stop();
  });

  for (const c of PARITY_CASES) {
    const what = c.skywalking.length === 0 ? 'nothing' : `${c.skywalking.length} metric${c.skywalking.length > 1 ? 's' : ''}`;
    if (!c.difference) {
      it(`sends what SkyWalking does for ${c.name}: ${what}`, () => {
        assert.deepStrictEqual(ordered(results.get(c.name)!), ordered(c.skywalking), `SkyWalking source: ${c.source}`);
      });
    } else {
      it(`sends, for ${c.name}, SkyWalking's ${what} but for the documented difference "${c.difference.readmeRow}"`, () => {
        assert.notDeepStrictEqual(ordered(c.difference!.receiver), ordered(c.skywalking), 'a difference row must differ');
        assert.deepStrictEqual(ordered(results.get(c.name)!), ordered(c.difference!.receiver), `SkyWalking source: ${c.source}`);
      });
    }
  }

  it('lists every difference a row shows in receiver/README.md\'s table of differences', () => {
    const readme = readFileSync(README, 'utf8');
    for (const c of PARITY_CASES) {
      if (c.difference) assert.ok(readme.includes(`| ${c.difference.readmeRow} |`), `README table row "${c.difference.readmeRow}"`);
    }
  });
});

describe('our additions through the CLI, each turned on by its flag', function () {
  this.timeout(60_000);
  const oap = new FakeOap({ exactLongs: true });
  let receiver: ReceiverProcess;
  let client: grpc.Client;
  const send = (node: ParityCase['node'], logs: ParityCase['logs']) => exchange(oap, receiver, client, node, logs);
  const frontend = pod('frontend', 'boutique', { name: 'frontend-7d4b9c8f6-h2j5k', ip: '10.8.1.21' });
  const cart = pod('cartservice', 'boutique', { name: 'cartservice-6d7f5c9b8-2kq9x', ip: '10.8.1.34', port: 7070 });
  const outbound = (cluster: string) => {
    const e = httpCall(frontend, cart, { peerEncoding: 'none' }).client;
    e.common_properties!.upstream_cluster = cluster;
    return e;
  };

  before(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
    receiver = new ReceiverProcess(await oap.start(), ['--protocol-detection', 'grpc', '--peerless-calls', 'upstream-host',
      '--instance-properties', 'extended', '--node-without-metadata', 'node-id']);
    await receiver.started();
    client = alsClient(receiver.grpcPort);
  });

  after(() => {
    client?.close();
    if (receiver?.running) receiver.proc.kill('SIGTERM');
    oap.stop();
  });

  it('calls a gRPC call as Istio logs it gRPC, and a request without a scheme HTTP (--protocol-detection grpc)', async () => {
    const got = await send(nodeOf(frontend), { http: [
      httpCall(frontend, cart, { protocolVersion: 'HTTP2', method: 'POST', path: '/hipstershop.CartService/GetCart' }).client,
      httpCall(frontend, cart, { scheme: '' }).client,
    ] });
    assert.deepEqual(got.map((e) => e.kind === 'http' && e.m.protocol), ['gRPC', 'HTTP']);
  });

  it('names a peerless call after its upstream host, and counts one to an IP address instead (--peerless-calls upstream-host)', async () => {
    const skipped = await receiver.counter('receiver_als_entries_skipped_total');
    const got = await send(nodeOf(frontend), { http: [outbound('outbound|443||storage.googleapis.com'), outbound('outbound|80||10.96.4.17')] });
    assert.deepEqual(got.map((e) => [e.m.destServiceName, e.m.destServiceInstance]), [['storage.googleapis.com', 'storage.googleapis.com']]);
    assert.equal(await receiver.counter('receiver_als_entries_skipped_total') - skipped, 1);
  });

  it('sends our properties beside SkyWalking\'s (--instance-properties extended)', async () => {
    const [m] = await send(nodeOf(frontend), { http: [httpCall(frontend, cart).client] });
    assert.deepEqual(m!.m.destInstanceProperties.map((p) => p.key), ['pod', 'namespace', 'cluster_id', 'workload', 'version', 'platform']);
  });

  it('names a node without metadata from its id (--node-without-metadata node-id)', async () => {
    const [m] = await send({ ...nodeOf(cart), metadata: undefined }, { http: [httpCall(frontend, cart).server] });
    assert.deepEqual([m!.m.destServiceName, m!.m.destServiceInstance], ['cartservice.boutique', cart.name]);
  });
});
