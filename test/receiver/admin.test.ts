import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import { AdminServer, SECURITY_HEADERS, sendJson, type Readiness } from '../../receiver/src/admin/admin';
import { ReceiverMetrics } from '../../receiver/src/admin/metrics';
import { MemorySink } from '../../receiver/src/sinks/memory';
import { httpMetric } from './harness';

describe('admin HTTP', function () {
  this.timeout(5000);
  let admin: AdminServer;
  let base: string;
  let readiness: Readiness;
  let metrics: ReceiverMetrics;

  /** A GET with the Host header as given (fetch would set its own). */
  function getWithHost(port: number, host: string, path = '/healthz'): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      }).on('error', reject);
    });
  }

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

  it('sends CSP, nosniff and frame options with every answer, errors included', async () => {
    await start(true);
    for (const path of ['/healthz', '/metrics', '/api/topology', '/no-such-path']) {
      const res = await fetch(`${base}${path}`);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(res.headers.get(name), value, `${name} on ${path}`);
    }
    assert.match(SECURITY_HEADERS['content-security-policy']!, /frame-ancestors 'none'/);
    assert.equal(SECURITY_HEADERS['x-content-type-options'], 'nosniff');
  });

  it('bound to loopback, refuses a Host header naming another site (DNS rebinding) with 421 and serves loopback names', async () => {
    await start(true);
    const port = Number(new URL(base).port);
    for (const host of ['evil.example', `evil.example:${port}`, '10.0.0.5:8080', '127.0.0.1.evil.example']) {
      const res = await getWithHost(port, host);
      assert.equal(res.status, 421, `Host ${JSON.stringify(host)}`);
      assert.match(res.body, /answers only to localhost/);
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'localhost', `LOCALHOST:${port}`, 'app.localhost:9000']) {
      assert.equal((await getWithHost(port, host)).status, 200, `Host ${host}`);
    }
  });

  it('bound to every interface, serves any Host header (probes and scrapes use the pod IP)', async () => {
    metrics = new ReceiverMetrics('memory');
    admin = new AdminServer({ metrics, readiness: () => ({ grpcListening: true, sinkReady: true }) });
    const port = await admin.listen({ host: '0.0.0.0', port: 0 });
    assert.equal((await getWithHost(port, '10.0.0.5:8080')).status, 200);
  });
});
