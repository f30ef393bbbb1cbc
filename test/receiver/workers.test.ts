import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { TopologyJson } from '../../receiver/src/sinks/memory';
import { httpCall, nodeOf, pod, type WorkloadSpec } from '../fixtures/mesh-fixtures';
import { FakeOap, report, waitFor } from './harness';
import { NodeChild } from './node-child';

// The multi-core mode (--workers N) as the image runs it: one ALS port, N receiver processes, and an
// admin endpoint that answers for all of them.
const MAIN = path.join(__dirname, '..', '..', 'receiver', 'dist', 'main.js');
const LOOPBACK = ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'];

class Child extends NodeChild {
  constructor(args: string[], nodeArgs: string[] = []) {
    super(MAIN, args, { killAfterMs: 25_000, nodeArgs });
  }
  logs(): Record<string, unknown>[] {
    return this.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  async started(): Promise<{ grpcPort: number; adminPort: number }> {
    await waitFor(() => this.logs().some((l) => l.msg === 'receiver started' && l.workers !== undefined), 'the started log line', 15_000);
    const line = this.logs().find((l) => l.msg === 'receiver started' && l.workers !== undefined)!;
    return { grpcPort: line.grpcPort as number, adminPort: line.adminPort as number };
  }
}

const frontend = pod('frontend', 'boutique');
const catalog = pod('productcatalogservice', 'boutique');
const cart = pod('cartservice', 'boutique');
const checkout = pod('checkoutservice', 'boutique');

/** Four sidecars, each on a connection of its own (as each Envoy has), each reporting its side of `calls` calls. */
async function fourSidecars(grpcPort: number, calls: number): Promise<void> {
  const sides: [WorkloadSpec, () => ReturnType<typeof httpCall>['client']][] = [
    [frontend, () => httpCall(frontend, catalog).client],
    [catalog, () => httpCall(frontend, catalog).server],
    [checkout, () => httpCall(checkout, cart).client],
    [cart, () => httpCall(checkout, cart).server],
  ];
  await Promise.all(sides.map(async ([self, entry]) => {
    const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    await report(client, nodeOf(self), [{ http: Array.from({ length: calls }, entry) }]);
    client.close();
  }));
}

const metric = (text: string, line: string): number => Number(new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);

describe('receiver with --workers 2', function () {
  this.timeout(40_000);
  const children: Child[] = [];
  const run = (args: string[]) => { const c = new Child(args); children.push(c); return c; };
  before(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
  });
  after(() => {
    for (const c of children) if (c.running) c.proc.kill('SIGKILL');
  });

  it('spreads the sidecars\' connections over both workers and adds up their counters in /metrics', async () => {
    const c = run([...LOOPBACK, '--workers', '2', '--sink', 'memory']);
    const { grpcPort, adminPort } = await c.started();
    await fourSidecars(grpcPort, 30);
    await waitFor(() => c.logs().filter((l) => l.msg === 'stream ended').length === 4, 'four streams ended');
    const servedBy = new Set(c.logs().filter((l) => l.msg === 'stream ended').map((l) => l.worker));
    assert.equal(servedBy.size, 2, `streams served by workers ${[...servedBy].join(', ')}`);
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    assert.equal(metric(text, 'receiver_als_entries_received_total{kind="http"}'), 120);
    assert.equal(metric(text, 'receiver_mesh_metrics_forwarded_total{sink="memory"}'), 120);
    assert.equal(metric(text, 'receiver_als_streams_ended_total{code="OK"}'), 4);
    c.proc.kill('SIGTERM');
    assert.equal((await c.exited).code, 0);
  });

  it('merges both workers\' topologies in /api/topology, each call counted once per side', async () => {
    const c = run([...LOOPBACK, '--workers', '2', '--sink', 'memory']);
    const { grpcPort, adminPort } = await c.started();
    await fourSidecars(grpcPort, 25);
    await waitFor(() => c.logs().filter((l) => l.msg === 'stream ended').length === 4, 'four streams ended');
    const topology = (await (await fetch(`http://127.0.0.1:${adminPort}/api/topology`)).json()) as TopologyJson;
    const edge = (id: string) => topology.calls.find((e) => e.id === id);
    for (const id of ['productcatalogservice.boutique', 'cartservice.boutique'].map((s, i) => `${['frontend', 'checkoutservice'][i]}.boutique->${s}`)) {
      assert.equal(edge(id)?.sides.client?.calls, 25, id);
      assert.equal(edge(id)?.sides.server?.calls, 25, id);
    }
    assert.deepEqual(topology.services.map((s) => s.name),
      ['cartservice.boutique', 'checkoutservice.boutique', 'frontend.boutique', 'productcatalogservice.boutique']);
    c.proc.kill('SIGTERM');
    assert.equal((await c.exited).code, 0);
  });

  it('is ready only when every worker listens and its sink is ready', async () => {
    const c = run([...LOOPBACK, '--workers', '2', '--sink', 'memory']);
    const { adminPort } = await c.started();
    const r = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { status: 'ready', grpcListening: true, sinkReady: true });
    c.proc.kill('SIGTERM');
    await c.exited;
  });

  it('runs every worker with the V8 flags node was started with (how the Deployment sets them)', async () => {
    const flags = ['--max-old-space-size=128', '--max-semi-space-size=8', '--heap-growing-percent=100'];
    const c = new Child([...LOOPBACK, '--workers', '2', '--sink', 'memory'], flags);
    children.push(c);
    await c.started();
    const workers = readFileSync(`/proc/${c.proc.pid}/task/${c.proc.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    assert.equal(workers.length, 2, 'two worker processes');
    for (const pid of workers) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      for (const flag of flags) assert.ok(argv.includes(flag), `worker ${pid} runs without ${flag}: ${argv.join(' ')}`);
    }
    c.proc.kill('SIGTERM');
    await c.exited;
  });

  it('flushes every worker\'s OAP queue on SIGTERM and exits 0', async () => {
    const oap = new FakeOap();
    const oapPort = await oap.start();
    try {
      const c = run([...LOOPBACK, '--workers', '2', '--sink', 'oap', '--oap-address', `127.0.0.1:${oapPort}`, '--flush-interval-ms', '600000', '--batch-size', '1000']);
      const { grpcPort, adminPort } = await c.started();
      await fourSidecars(grpcPort, 10);
      await waitFor(async () => metric(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text(), 'receiver_sink_queue_depth{sink="oap"}') === 40,
        '40 metrics queued over both workers');
      c.proc.kill('SIGTERM');
      assert.equal((await c.exited).code, 0);
      assert.equal(oap.httpMetrics().length, 40);
    } finally {
      await oap.stop();
    }
  });
});
