import { strict as assert } from 'node:assert';
import { MemorySink } from '../../receiver/src/sinks/memory';
import { MAX_BREAKDOWN_KEYS, OTHER } from '../../receiver/src/sinks/history';
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

describe('memory sink history', () => {
  const STEP = 10;
  const STEPS = 6;
  let clock: number;
  let metrics: ReceiverMetrics;
  const sinkWith = (over: Partial<ConstructorParameters<typeof MemorySink>[0]> = {}) =>
    new MemorySink({ stats: metrics, windowSeconds: 10, now: () => clock, history: { stepSeconds: STEP, steps: STEPS, maxSeries: 1000 }, ...over });
  const EDGE = 'frontend.default->checkoutservice.default';
  const times = (n: number, m: () => Parameters<MemorySink['offer']>[0][number]) => Array.from({ length: n }, m);

  beforeEach(() => {
    clock = 1_700_000_000_000; // a multiple of 10 s: the first step starts here
    metrics = new ReceiverMetrics('memory');
  });

  it('keeps one point per step, oldest first, the last one the step now running', () => {
    const sink = sinkWith();
    sink.offer(times(20, () => httpMetric({ detectPoint: 'server' })));
    clock += STEP * 1000;
    sink.offer(times(5, () => httpMetric({ detectPoint: 'server' })));
    clock += 5000; // half-way into the second step
    const h = sink.history().calls[EDGE]!;
    assert.equal(h.rate.length, STEPS);
    assert.deepEqual(h.rate.slice(-2), [20 / STEP, 5 / 5]);
    assert.deepEqual(h.rate.slice(0, -2), [0, 0, 0, 0]);
    assert.equal(h.calls, 25);
  });

  it('forgets steps older than the ring', () => {
    const sink = sinkWith();
    sink.offer([httpMetric()]);
    clock += STEPS * STEP * 1000;
    sink.offer([httpMetric()]);
    clock += 4000;
    const h = sink.history().calls[EDGE]!;
    assert.equal(h.calls, 1);
    assert.equal(h.rate.at(-1), 1 / 4);
  });

  it('gives each step its own p95 latency and error rate', () => {
    const sink = sinkWith();
    sink.offer([...times(19, () => httpMetric({ latency: 10 })), httpMetric({ latency: 900, status: false, responseCode: 500 })]);
    clock += STEP * 1000;
    sink.offer(times(10, () => httpMetric({ latency: 100 })));
    const h = sink.history().calls[EDGE]!;
    // Percentiles to the histogram's 10 % buckets, never above the largest latency seen.
    assert.deepEqual(h.p95.slice(-3), [null, 11, 100]);
    assert.deepEqual(h.errorRate.slice(-2), [1 / 20, 0]);
  });

  it('breaks errors down by response code and by Envoy response flag, TCP failures under tcp', () => {
    const sink = sinkWith();
    sink.offer([
      httpMetric({ status: false, responseCode: 503, internalErrorCode: 'no_healthy_upstream' }),
      httpMetric({ status: false, responseCode: 503, internalErrorCode: 'no_healthy_upstream' }),
      httpMetric({ status: false, responseCode: 504, internalErrorCode: 'upstream_request_timeout' }),
      httpMetric({ status: false, responseCode: 500 }),
      httpMetric(),
      tcpMetric({ internalErrorCode: 'upstream_connection_failure' }),
    ]);
    const h = sink.history();
    assert.deepEqual(h.calls[EDGE]!.errorCodes, { 503: 2, 504: 1, 500: 1 });
    assert.deepEqual(h.calls[EDGE]!.errorFlags, { no_healthy_upstream: 2, upstream_request_timeout: 1, none: 1 });
    const tcp = h.calls['cartservice.default->redis-cart.default']!;
    assert.deepEqual([tcp.errorCodes, tcp.errorFlags], [{ tcp: 1 }, { upstream_connection_failure: 1 }]);
  });

  it('folds response codes beyond its bound into other, losing no error', () => {
    const sink = sinkWith();
    sink.offer(times(MAX_BREAKDOWN_KEYS + 5, () => httpMetric()).map((m, i) => ({ ...m, status: false, responseCode: 500 + i })));
    const codes = sink.history().calls[EDGE]!.errorCodes;
    assert.equal(Object.keys(codes).length, MAX_BREAKDOWN_KEYS);
    assert.ok(OTHER in codes);
    assert.equal(Object.values(codes).reduce((a, b) => a + b, 0), MAX_BREAKDOWN_KEYS + 5);
  });

  it('gives a code no step counts any more\'s place to a new one', () => {
    const sink = sinkWith();
    sink.offer(times(MAX_BREAKDOWN_KEYS, () => httpMetric()).map((m, i) => ({ ...m, status: false, responseCode: 500 + i })));
    clock += STEPS * STEP * 1000;
    sink.offer([httpMetric({ status: false, responseCode: 429 })]);
    assert.deepEqual(sink.history().calls[EDGE]!.errorCodes, { 429: 1 });
  });

  it('gives a service the history of the calls it served, each counted once though both sides reported it', () => {
    const sink = sinkWith();
    sink.offer([
      httpMetric({ detectPoint: 'client' }), httpMetric({ detectPoint: 'server' }),
      httpMetric({ sourceServiceName: 'cartservice.default', detectPoint: 'server', status: false, responseCode: 500 }),
    ]);
    const svc = sink.history().services['checkoutservice.default']!;
    assert.equal(svc.calls, 2);
    assert.deepEqual(svc.errorCodes, { 500: 1 });
    assert.equal(sink.history().services['frontend.default']!.calls, 0);
  });

  it('keeps each side\'s error breakdown, so failures the server never saw still show as its callers saw them', () => {
    const sink = sinkWith();
    sink.offer([
      httpMetric({ detectPoint: 'server', status: false, responseCode: 500 }),
      httpMetric({ detectPoint: 'client', status: false, responseCode: 500 }),
      httpMetric({ detectPoint: 'client', status: false, responseCode: 503, internalErrorCode: 'no_healthy_upstream' }),
    ]);
    const call = sink.history().calls[EDGE]!;
    assert.deepEqual(call.errorFlags, { none: 1 });
    assert.deepEqual(call.sides.client!.errorFlags, { none: 1, no_healthy_upstream: 1 });
    assert.deepEqual(sink.history().services['checkoutservice.default']!.sides.client!.errorCodes, { 500: 1, 503: 1 });
  });

  it('stays within its bound however many services, calls and error kinds it is fed, counting what it could not keep', () => {
    const maxSeries = 50;
    const sink = sinkWith({ history: { stepSeconds: STEP, steps: STEPS, maxSeries } });
    let offered = 0;
    for (let step = 0; step < 4 * STEPS; step++) {
      const batch = [];
      for (let svc = 0; svc < 200; svc++) {
        batch.push(httpMetric({
          sourceServiceName: `caller-${svc % 7}`, destServiceName: `svc-${svc}`, detectPoint: svc % 2 ? 'client' : 'server',
          status: false, responseCode: 400 + ((svc + step) % 100), internalErrorCode: `flag_${(svc * step) % 31}`,
        }));
      }
      offered += sink.offer(batch);
      clock += STEP * 1000;
    }
    const h = sink.history();
    assert.equal(h.series, maxSeries);
    assert.equal(Object.keys(h.calls).length, maxSeries);
    const kept = Object.values(h.calls).reduce((n, s) => n + s.calls, 0);
    assert.equal(h.droppedCalls, offered - maxSeries * 4 * STEPS);
    assert.ok(kept <= maxSeries * STEPS, `${kept} calls kept by ${maxSeries} series of ${STEPS} steps`);
    for (const s of [...Object.values(h.calls), ...Object.values(h.services)]) {
      assert.equal(s.rate.length, STEPS);
      assert.ok(Object.keys(s.errorCodes).length <= MAX_BREAKDOWN_KEYS * STEPS);
    }
    const edges = (sink as unknown as { edges: Map<string, { history: Record<string, { breakdownKeys(): number }> }> }).edges;
    for (const e of edges.values()) for (const s of Object.values(e.history)) assert.ok(s.breakdownKeys() <= 2 * MAX_BREAKDOWN_KEYS);
  });

  it('gives, merged from two sinks\' snapshots, the history of one sink that saw all their calls', () => {
    const [one, a, b] = [sinkWith(), sinkWith(), sinkWith()];
    const early = [httpMetric({ latency: 5 }), httpMetric({ latency: 50, status: false, responseCode: 503, internalErrorCode: 'local_reset' })];
    const late = [httpMetric({ latency: 7 }), httpMetric({ latency: 70 }), httpMetric({ latency: 700 })];
    one.offer(early);
    a.offer(early.slice(0, 1));
    b.offer(early.slice(1));
    clock += STEP * 1000;
    one.offer(late);
    a.offer(late.slice(0, 2));
    b.offer(late.slice(2));
    const merged = sinkWith();
    merged.absorb(JSON.parse(JSON.stringify(a.snapshot())));
    merged.absorb(JSON.parse(JSON.stringify(b.snapshot())));
    const [m, o] = [merged.history().calls[EDGE]!, one.history().calls[EDGE]!];
    assert.deepEqual([m.rate, m.errorRate, m.errorCodes, m.errorFlags, m.p95.at(-1)], [o.rate, o.errorRate, o.errorCodes, o.errorFlags, o.p95.at(-1)]);
    // A closed step's p95 merges as the larger part's: an upper bound of the true one.
    assert.ok(m.p95.at(-2)! >= o.p95.at(-2)!);
  });

  it('refuses to merge a history of another step count, naming both', () => {
    const other = sinkWith({ history: { steps: 90 } });
    assert.throws(() => sinkWith().absorb(other.snapshot()), /90 steps of 10s into one of 6 steps of 10s/);
  });
});
