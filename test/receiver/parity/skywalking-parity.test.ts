import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { ServiceMeshMetricsWire } from '../../../receiver/src/skywalking-protos';
import { AlsStream, FakeOap, alsClient, waitFor } from '../harness';
import { NodeChild } from '../node-child';
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

const entryCount = (c: ParityCase) => ('http' in c.logs ? c.logs.http : c.logs.tcp).length;

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
      const r = receivers.get(set)!;
      const before = { entries: await r.counter('receiver_als_entries_received_total'), at: oap.received.length };
      const s = new AlsStream(clients.get(set)!);
      const identifier = c.node ? { identifier: { node: c.node, log_name: 'envoy_accesslog_service' } } : {};
      s.send('http' in c.logs ? { ...identifier, http_logs: { log_entry: c.logs.http } } : { ...identifier, tcp_logs: { log_entry: c.logs.tcp } });
      const { error } = await s.end();
      if (error) throw new Error(`${c.name}: the ALS stream failed: ${error.message}`);
      await waitFor(async () => (await r.counter('receiver_als_entries_received_total')) === before.entries + entryCount(c)
        && (await r.counter('receiver_mesh_metrics_forwarded_total')) === (await r.counter('receiver_mesh_metrics_produced_total')),
      `${c.name}: analysed and delivered`, 10_000);
      results.set(c.name, received(oap.received.slice(before.at)));
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
