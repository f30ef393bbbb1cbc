import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { OapSink, type OapSinkOptions } from '../../receiver/src/sinks/oap';
import { ReceiverMetrics } from '../../receiver/src/admin/metrics';
import { FakeOap, freePort, httpMetric, tcpMetric, waitFor } from './harness';

describe('oap sink', function () {
  this.timeout(15_000);
  let oap: FakeOap;
  let sink: OapSink | undefined;
  let metrics: ReceiverMetrics;

  beforeEach(() => {
    oap = new FakeOap();
    metrics = new ReceiverMetrics('oap');
  });
  afterEach(async () => {
    await sink?.close(200);
    sink = undefined;
    oap.stop();
  });

  function open(port: number, over: Partial<OapSinkOptions> = {}): OapSink {
    sink = new OapSink({
      address: `127.0.0.1:${port}`, stats: metrics, queueCapacity: 1000, batchSize: 100, flushIntervalMs: 20,
      backoffInitialMs: 20, retryMaxMs: 100, callTimeoutMs: 2000, ...over,
    });
    return sink;
  }
  const forwarded = () => metrics.value('receiver_mesh_metrics_forwarded_total', { sink: 'oap' });
  const dropped = (reason: string) => metrics.value('receiver_mesh_metrics_dropped_total', { reason });

  it('sends every HTTP field under its protocol name, decoded back intact by an OAP peer', async () => {
    const s = open(await oap.start());
    const m = httpMetric({
      internalErrorCode: 'upstream_request_timeout', responseCode: 504, status: false, detectPoint: 'server',
      internalRequestLatencyNanos: 1500, internalResponseLatencyNanos: 2500,
    });
    s.offer([m]);
    await waitFor(() => oap.httpMetrics().length === 1, 'one HTTP metric at the OAP');
    assert.deepEqual(oap.httpMetrics()[0], {
      startTime: m.startTime, endTime: m.endTime, sourceServiceName: 'frontend.default',
      sourceServiceInstance: 'frontend-abc.default', destServiceName: 'checkoutservice.default',
      destServiceInstance: 'checkoutservice-vm.default', endpoint: '/hipstershop.CheckoutService/PlaceOrder',
      latency: 12, responseCode: 504, status: false, protocol: 'gRPC', detectPoint: 'server', tlsMode: 'mTLS',
      internalErrorCode: 'upstream_request_timeout', internalRequestLatencyNanos: 1500, internalResponseLatencyNanos: 2500,
      sourceInstanceProperties: [{ key: 'platform', value: 'kubernetes' }],
      destInstanceProperties: [{ key: 'platform', value: 'vm' }],
    });
  });

  it('sends TCP metrics with their byte counts in TCP batches', async () => {
    const s = open(await oap.start());
    s.offer([tcpMetric({ receivedBytes: 123, sentBytes: 4567 })]);
    await waitFor(() => oap.tcpMetrics().length === 1, 'one TCP metric at the OAP');
    const [t] = oap.tcpMetrics();
    assert.deepEqual([t!.receivedBytes, t!.sentBytes, t!.detectPoint, oap.received[0]!.metrics], [123, 4567, 'client', 'tcpMetrics']);
  });

  it('cuts batches at the batch size and never mixes HTTP and TCP in one', async () => {
    const s = open(await oap.start(), { batchSize: 3, flushIntervalMs: 50 });
    s.offer([...Array.from({ length: 7 }, (_, i) => httpMetric({ latency: i + 1 })), tcpMetric(), tcpMetric()]);
    await waitFor(() => oap.httpMetrics().length + oap.tcpMetrics().length === 9, 'all nine metrics');
    const shapes = oap.received.map((m) => `${m.metrics}:${(m.httpMetrics ?? m.tcpMetrics)!.metrics.length}`).sort();
    assert.deepEqual(shapes, ['httpMetrics:1', 'httpMetrics:3', 'httpMetrics:3', 'tcpMetrics:2']);
    assert.deepEqual(oap.httpMetrics().map((m) => m.latency), [1, 2, 3, 4, 5, 6, 7]);
  });

  it('sends whole batches as they fill, and a short batch of the other kind only with the flush', async () => {
    // A flush interval no run reaches: only close() flushes here.
    const s = open(await oap.start(), { batchSize: 5, flushIntervalMs: 600_000 });
    const http = (from: number) => Array.from({ length: 5 }, (_, i) => httpMetric({ latency: from + i }));
    // A first call that succeeds: until then the sink sends one batch a call.
    s.offer(http(1));
    await waitFor(async () => (await forwarded()) === 5, 'the first batch forwarded');
    s.offer([tcpMetric(), ...http(6)]);
    await waitFor(async () => (await forwarded()) === 10, 'the second HTTP batch forwarded');
    const kinds = () => oap.callBatches.map((c) => c.map((m) => m.metrics));
    assert.deepEqual(kinds(), [['httpMetrics'], ['httpMetrics']], 'each call carried its HTTP batch alone');
    assert.equal(s.queued(), 1, 'the TCP metric waits for its batch to fill or the flush');
    await s.close(5000);
    sink = undefined;
    assert.deepEqual(kinds(), [['httpMetrics'], ['httpMetrics'], ['tcpMetrics']]);
    assert.equal(oap.tcpMetrics().length, 1);
  });

  it('runs up to 8 collect calls at once by default, and as many as it is told', async () => {
    let answered = 0;
    for (const [over, most] of [[{}, 8], [{ maxCallsInFlight: 3 }, 3]] as const) {
      const fresh = new FakeOap();
      const s = open(await fresh.start(), { batchSize: 10, queueCapacity: 10_000, callTimeoutMs: 60_000, ...over });
      // Until a call has succeeded the sink only probes, one call at a time.
      s.offer(Array.from({ length: 10 }, (_, i) => httpMetric({ latency: i + 1 })));
      answered += 10;
      await waitFor(async () => (await forwarded()) === answered, 'the first call answered');
      fresh.hang = true; // from now on every call stays open
      // 4 batches a call: enough for twice the limit.
      s.offer(Array.from({ length: most * 2 * 4 * 10 }, (_, i) => httpMetric({ latency: i + 1 })));
      await waitFor(() => fresh.calls === 1 + most, `${most} calls open`);
      // No event marks a call not started: give the sink room to start one too many.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(fresh.calls, 1 + most, 'no more calls than allowed');
      assert.equal(fresh.mostOpen, most);
      await s.close(0);
      sink = undefined;
      fresh.stop();
    }
  });

  it('delivers what was queued while the OAP was down once it comes up, each metric exactly once', async () => {
    const port = await freePort();
    const s = open(port);
    s.offer(Array.from({ length: 50 }, (_, i) => httpMetric({ latency: i + 1 })));
    await new Promise((r) => setTimeout(r, 300)); // several failed attempts with backoff
    assert.equal(await forwarded(), 0);
    assert.equal(s.queued(), 50);
    assert.ok(await metrics.value('receiver_sink_delivery_failures_total') >= 1);
    await oap.start(port);
    await waitFor(async () => (await forwarded()) === 50, 'all 50 forwarded after the OAP came up', 8000);
    await new Promise((r) => setTimeout(r, 200)); // room for any duplicate to show up
    const latencies = oap.httpMetrics().map((m) => m.latency).sort((a, b) => a - b);
    assert.deepEqual(latencies, Array.from({ length: 50 }, (_, i) => i + 1));
    assert.equal(s.queued(), 0);
  });

  it('drops what does not fit the queue as queue_full, so offered = forwarded + dropped', async () => {
    const port = await freePort();
    const s = open(port, { queueCapacity: 10 });
    const accepted = s.offer(Array.from({ length: 25 }, (_, i) => httpMetric({ latency: i + 1 })));
    assert.equal(accepted, 10);
    assert.equal(await dropped('queue_full'), 15);
    assert.equal(await metrics.value('receiver_sink_queue_depth', { sink: 'oap' }), 10);
    await oap.start(port);
    await waitFor(async () => (await forwarded()) === 10, 'the ten queued metrics forwarded', 8000);
    assert.deepEqual(oap.httpMetrics().map((m) => m.latency), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal((await forwarded()) + (await dropped('queue_full')), 25);
  });

  it('keeps a batch the OAP answered with a transient error and resends it', async () => {
    const s = open(await oap.start());
    oap.failWith = grpc.status.UNAVAILABLE;
    s.offer([httpMetric({ latency: 77 })]);
    await waitFor(() => oap.calls >= 2, 'a retried call');
    assert.equal(await forwarded(), 0);
    oap.failWith = undefined;
    await waitFor(async () => (await forwarded()) === 1, 'the resent batch forwarded');
    assert.deepEqual(oap.httpMetrics().map((m) => m.latency), [77]);
  });

  it('resends the batches of a call that broke before the OAP answered, so nothing is lost', async () => {
    const port = await oap.start();
    const s = open(port);
    oap.hang = true;
    s.offer([httpMetric({ latency: 5 }), httpMetric({ latency: 6 })]);
    await waitFor(() => oap.calls === 1, 'the call that will break');
    oap.stop();
    oap = new FakeOap();
    await oap.start(port);
    await waitFor(async () => (await forwarded()) === 2, 'both metrics forwarded after the break', 8000);
    assert.deepEqual(oap.httpMetrics().map((m) => m.latency), [5, 6]);
    assert.ok(await metrics.value('receiver_sink_delivery_failures_total') >= 1);
  });

  it('drops a batch the OAP rejects as invalid instead of resending it forever', async () => {
    const s = open(await oap.start());
    oap.failWith = grpc.status.INVALID_ARGUMENT;
    s.offer([httpMetric(), httpMetric()]);
    await waitFor(async () => (await dropped('rejected')) === 2, 'two rejected metrics');
    assert.equal(s.queued(), 0);
    assert.equal(oap.calls, 1);
  });

  it('flushes a partial batch on close without waiting for the flush interval', async () => {
    const s = open(await oap.start(), { flushIntervalMs: 60_000, batchSize: 1000 });
    s.offer([httpMetric(), tcpMetric()]);
    await s.close(3000);
    assert.equal(oap.httpMetrics().length + oap.tcpMetrics().length, 2);
    assert.equal(await forwarded(), 2);
  });

  it('counts what it could not deliver before the close deadline as shutdown_timeout', async () => {
    const s = open(await freePort());
    s.offer([httpMetric(), httpMetric(), httpMetric()]);
    const t0 = Date.now();
    await s.close(300);
    assert.ok(Date.now() - t0 < 2000, 'close kept to its deadline');
    assert.equal(await dropped('shutdown_timeout'), 3);
    assert.equal(s.offer([httpMetric()]), 0);
    assert.equal(await dropped('shutting_down'), 1);
  });

  it('is ready only while it can reach the OAP', async () => {
    const port = await freePort();
    const s = open(port);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(s.isReady(), false);
    await oap.start(port);
    await waitFor(() => s.isReady(), 'readiness after the OAP came up', 8000);
  });
});
