import { strict as assert } from 'node:assert';
import { MemorySink } from '../../receiver/src/sinks/memory';
import { ReceiverMetrics } from '../../receiver/src/admin/metrics';
import { httpMetric, tcpMetric } from './harness';

describe('memory sink topology', () => {
  let clock: number;
  let metrics: ReceiverMetrics;
  const sinkWith = (over: Partial<ConstructorParameters<typeof MemorySink>[0]> = {}) =>
    new MemorySink({ stats: metrics, windowSeconds: 10, now: () => clock, ...over });

  beforeEach(() => {
    clock = 1_700_000_000_000;
    metrics = new ReceiverMetrics('memory');
  });

  it('lists both services of a call with the platform their instance properties name', () => {
    const sink = sinkWith();
    sink.offer([httpMetric()]);
    const t = sink.topology();
    assert.deepEqual(t.services.map((s) => [s.name, s.platform, s.instances]), [
      ['checkoutservice.default', 'vm', ['checkoutservice-vm.default']],
      ['frontend.default', 'kubernetes', ['frontend-abc.default']],
    ]);
  });

  it('marks a service unknown when no report names its platform', () => {
    const sink = sinkWith();
    sink.offer([httpMetric({ destServiceName: 'api.example.com', destInstanceProperties: {} })]);
    assert.equal(sink.topology().services.find((s) => s.name === 'api.example.com')!.platform, 'unknown');
  });

  it('merges the client and server reports of the same call into one edge headed by the server side', () => {
    const sink = sinkWith();
    sink.offer([
      httpMetric({ detectPoint: 'client', latency: 30 }),
      httpMetric({ detectPoint: 'server', latency: 10 }),
    ]);
    const { calls } = sink.topology();
    assert.equal(calls.length, 1);
    const [edge] = calls;
    assert.deepEqual([edge!.id, edge!.reportedBy, edge!.stats.calls, edge!.stats.latencyMs?.p50], [
      'frontend.default->checkoutservice.default', 'server', 1, 10,
    ]);
    assert.deepEqual(Object.keys(edge!.sides).sort(), ['client', 'server']);
    assert.equal(edge!.sides.client!.latencyMs!.p50, 30);
  });

  it('heads an edge with the client side when only the client reported it', () => {
    const sink = sinkWith();
    sink.offer([httpMetric({ destServiceName: 'api.example.com', detectPoint: 'client' })]);
    assert.equal(sink.topology().calls[0]!.reportedBy, 'client');
  });

  it('counts calls once per service even when both sides reported them', () => {
    const sink = sinkWith();
    sink.offer([httpMetric({ detectPoint: 'client' }), httpMetric({ detectPoint: 'server' })]);
    const svc = (n: string) => sink.topology().services.find((s) => s.name === n)!;
    assert.deepEqual([svc('checkoutservice.default').inbound.calls, svc('frontend.default').outbound.calls], [1, 1]);
  });

  it('reports the error rate from the call status', () => {
    const sink = sinkWith();
    sink.offer([
      httpMetric({ detectPoint: 'server' }), httpMetric({ detectPoint: 'server' }), httpMetric({ detectPoint: 'server' }),
      httpMetric({ detectPoint: 'server', responseCode: 503, status: false }),
    ]);
    const { stats } = sink.topology().calls[0]!;
    assert.deepEqual([stats.calls, stats.errors, stats.errorRate], [4, 1, 0.25]);
  });

  it('reports latency percentiles within ten percent of the true ones', () => {
    const sink = sinkWith();
    sink.offer(Array.from({ length: 1000 }, (_, i) => httpMetric({ latency: i + 1, detectPoint: 'server' })));
    const p = sink.topology().calls[0]!.stats.latencyMs!;
    for (const [got, want] of [[p.p50, 500], [p.p95, 950], [p.p99, 990]] as const) {
      assert.ok(Math.abs(got - want) / want <= 0.1, `${got} vs ${want}`);
    }
  });

  it('reports the call rate over the recent window only', () => {
    const sink = sinkWith();
    sink.offer(Array.from({ length: 20 }, () => httpMetric()));
    clock += 5_000;
    sink.offer(Array.from({ length: 10 }, () => httpMetric()));
    assert.equal(sink.topology().calls[0]!.stats.ratePerSecond, 3); // 30 calls / 10 s
    clock += 7_000; // the first 20 are now older than the window
    assert.equal(sink.topology().calls[0]!.stats.ratePerSecond, 1);
    assert.equal(sink.topology().calls[0]!.stats.calls, 30);
  });

  it('shows TCP edges with their bytes and the TCP protocol', () => {
    const sink = sinkWith();
    sink.offer([tcpMetric({ receivedBytes: 10, sentBytes: 20 }), tcpMetric({ receivedBytes: 1, sentBytes: 2 })]);
    const [edge] = sink.topology().calls;
    assert.deepEqual([edge!.protocols, edge!.stats.receivedBytes, edge!.stats.sentBytes, edge!.stats.latencyMs!.p50],
      [['TCP'], 11, 22, 30]);
  });

  it('drops reports of new services beyond its bound as topology_full and keeps counting known ones', async () => {
    const sink = sinkWith({ maxServices: 2 });
    assert.equal(sink.offer([httpMetric(), httpMetric({ destServiceName: 'third.default' }), httpMetric()]), 2);
    assert.equal(await metrics.value('receiver_mesh_metrics_dropped_total', { reason: 'topology_full' }), 1);
    assert.equal(await metrics.value('receiver_mesh_metrics_forwarded_total'), 2);
    assert.equal(sink.topology().calls[0]!.stats.calls, 2);
  });

  it('serialises to JSON and back unchanged', () => {
    const sink = sinkWith();
    sink.offer([httpMetric(), tcpMetric()]);
    const t = sink.topology();
    assert.deepEqual(JSON.parse(JSON.stringify(t)), t);
  });

  it('gives, merged from two sinks\' snapshots, the topology of one sink that saw all their calls', () => {
    const calls = [
      httpMetric({ detectPoint: 'client', latency: 30 }), httpMetric({ detectPoint: 'server', latency: 10, status: false }),
      httpMetric({ latency: 700 }), tcpMetric(), tcpMetric({ receivedBytes: 9, sentBytes: 4 }),
    ];
    const one = sinkWith();
    one.offer(calls);
    const [a, b] = [sinkWith(), sinkWith()];
    a.offer(calls.slice(0, 2));
    clock += 3000;
    b.offer(calls.slice(2));
    const merged = sinkWith();
    merged.absorb(JSON.parse(JSON.stringify(a.snapshot())));
    merged.absorb(JSON.parse(JSON.stringify(b.snapshot())));
    const strip = (t: ReturnType<MemorySink['topology']>) => JSON.parse(JSON.stringify(t, (k, v) => (k === 'ratePerSecond' ? undefined : v)));
    assert.deepEqual(strip(merged.topology()), strip(one.topology()));
    assert.equal(merged.topology().calls.reduce((n, c) => n + c.stats.calls, 0), one.topology().calls.reduce((n, c) => n + c.stats.calls, 0));
  });

  it('counts in its rate the calls of every merged sink within the window', () => {
    const [a, b] = [sinkWith(), sinkWith()];
    a.offer([httpMetric(), httpMetric()]);
    b.offer([httpMetric()]);
    const merged = sinkWith();
    merged.absorb(a.snapshot());
    merged.absorb(b.snapshot());
    assert.equal(merged.topology().calls[0]!.stats.ratePerSecond, 3 / 10);
  });

  it('refuses to merge a snapshot of another window width, naming both', () => {
    const other = sinkWith({ windowSeconds: 60 });
    assert.throws(() => sinkWith().absorb(other.snapshot()), /60s window into one of 10s/);
  });
});
