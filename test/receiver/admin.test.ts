import { strict as assert } from 'node:assert';
import { AdminServer, sendJson, type Readiness } from '../../receiver/src/admin/admin';
import { ReceiverMetrics } from '../../receiver/src/admin/metrics';
import { MemorySink } from '../../receiver/src/sinks/memory';
import { httpMetric } from './harness';

describe('admin HTTP', function () {
  this.timeout(5000);
  let admin: AdminServer;
  let base: string;
  let readiness: Readiness;
  let metrics: ReceiverMetrics;

  async function start(withTopology: boolean) {
    metrics = new ReceiverMetrics('memory');
    readiness = { grpcListening: true, sinkReady: true };
    const sink = new MemorySink({ stats: metrics });
    sink.offer([httpMetric()]);
    admin = new AdminServer({ metrics, readiness: () => readiness, topology: withTopology ? () => sink.topology() : undefined });
    base = `http://127.0.0.1:${await admin.listen({ host: '127.0.0.1', port: 0 })}`;
  }
  afterEach(() => admin.close());

  it('answers /healthz with 200', async () => {
    await start(true);
    const res = await fetch(`${base}/healthz`);
    assert.deepEqual([res.status, await res.json()], [200, { status: 'ok' }]);
  });

  it('answers /readyz with 200 only when gRPC listens and the sink is ready', async () => {
    await start(true);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    readiness = { grpcListening: true, sinkReady: false };
    const res = await fetch(`${base}/readyz`);
    assert.deepEqual([res.status, await res.json()], [503, { status: 'not ready', grpcListening: true, sinkReady: false }]);
    readiness = { grpcListening: false, sinkReady: true };
    assert.equal((await fetch(`${base}/readyz`)).status, 503);
  });

  it('serves the Prometheus metrics of its registry on /metrics', async () => {
    await start(true);
    const res = await fetch(`${base}/metrics`);
    const text = await res.text();
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    for (const name of ['receiver_als_entries_received_total', 'receiver_mesh_metrics_forwarded_total',
      'receiver_mesh_metrics_dropped_total{reason="queue_full"}', 'receiver_sink_queue_depth', 'receiver_als_active_streams']) {
      assert.ok(text.includes(name), name);
    }
    assert.match(text, /receiver_mesh_metrics_forwarded_total\{sink="memory"\} 1/);
  });

  it('serves the memory sink topology as JSON on /api/topology', async () => {
    await start(true);
    const res = await fetch(`${base}/api/topology`);
    const body = await res.json() as { services: { name: string }[]; calls: { id: string }[] };
    assert.equal(res.status, 200);
    assert.deepEqual(body.calls.map((c) => c.id), ['frontend.default->checkoutservice.default']);
    assert.equal(body.services.length, 2);
  });

  it('answers /api/topology with 404 and the reason when the sink keeps no topology', async () => {
    await start(false);
    const res = await fetch(`${base}/api/topology`);
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { error: string }).error, /--sink memory/);
  });

  it('answers an unknown path with 404', async () => {
    await start(true);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  });

  it('answers a method other than GET or HEAD with 405', async () => {
    await start(true);
    assert.equal((await fetch(`${base}/healthz`, { method: 'POST' })).status, 405);
  });

  it('lets a handler be mounted under / without shadowing the API routes', async () => {
    await start(true);
    admin.mount('/', (req, res) => sendJson(res, 200, { page: req.url }));
    assert.deepEqual(await (await fetch(`${base}/index.html`)).json(), { page: '/index.html' });
    assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' });
  });
});
