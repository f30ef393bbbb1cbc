import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import type { Receiver } from '../../receiver/src/receiver';
import type { TopologyJson } from '../../receiver/src/sinks/memory';
import { gateway, gatewayEntry, httpCall, nodeOf, pod, tcpCall, vm, type PeerEncoding } from '../fixtures/mesh-fixtures';
import { AlsStream, FakeOap, alsClient, freePort, report, startReceiver, waitFor } from './harness';

// Real path: Envoy-encoded ALS streams over loopback gRPC → the real analyzer → the sink → a real
// ServiceMeshMetricService peer (or /api/topology). One stream per reporting sidecar, as Envoy does.

const frontend = pod('frontend', 'boutique');
const catalog = pod('productcatalogservice', 'boutique');
const checkout = vm('checkoutservice', 'boutique');
const payment = vm('paymentservice', 'boutique');
const cart = pod('cartservice', 'boutique');
const redis = pod('redis-cart', 'boutique');

describe('receiver end to end', function () {
  this.timeout(15_000);
  let receiver: Receiver | undefined;
  let client: grpc.Client | undefined;
  let oap: FakeOap;

  beforeEach(() => { oap = new FakeOap(); });
  afterEach(async () => {
    client?.close();
    await receiver?.stop();
    oap.stop();
    receiver = undefined;
  });

  async function withOap(...flags: string[]) {
    const oapPort = await oap.start();
    receiver = await startReceiver('--sink', 'oap', '--oap-address', `127.0.0.1:${oapPort}`, ...flags);
    client = alsClient(receiver.grpcPort);
  }

  async function withMemory(...flags: string[]) {
    receiver = await startReceiver('--sink', 'memory', ...flags);
    client = alsClient(receiver.grpcPort);
  }

  async function topology(): Promise<TopologyJson> {
    const res = await fetch(`http://127.0.0.1:${receiver!.adminPort}/api/topology`);
    assert.equal(res.status, 200);
    return (await res.json()) as TopologyJson;
  }

  async function metricsText(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${receiver!.adminPort}/metrics`)).text();
  }

  /** Both sidecars of one frontend → productcatalog call report it, peers in `encoding`. */
  async function reportCall(encoding: PeerEncoding) {
    const call = httpCall(frontend, catalog, { path: '/hipstershop.ProductCatalogService/ListProducts', peerEncoding: encoding });
    await report(client!, nodeOf(frontend), [{ http: [call.client] }]);
    await report(client!, nodeOf(catalog), [{ http: [call.server] }]);
    await waitFor(() => oap.httpMetrics().length >= 2, 'two HTTP metrics at the OAP');
    await new Promise((r) => setTimeout(r, 100)); // room for an unwanted third
    return oap.httpMetrics().map((m) => [m.detectPoint, m.sourceServiceName, m.destServiceName, m.sourceServiceInstance, m.destServiceInstance]).sort();
  }

  const bothSides = [
    ['client', 'frontend.boutique', 'productcatalogservice.boutique', frontend.name, catalog.name],
    ['server', 'frontend.boutique', 'productcatalogservice.boutique', frontend.name, catalog.name],
  ];

  it('turns Istio 1.7-1.23 FlatNode peer metadata into the client and server metrics of a call at the OAP', async () => {
    await withOap();
    assert.deepEqual(await reportCall('flatnode'), bothSides);
  });

  it('turns Istio 1.24+ Struct peer metadata into the client and server metrics of a call at the OAP', async () => {
    await withOap();
    assert.deepEqual(await reportCall('struct'), bothSides);
  });

  it('counts a call once per side when an entry carries both the legacy and the new peer keys', async () => {
    await withOap();
    assert.deepEqual(await reportCall('both'), bothSides);
  });

  it('delivers the HTTP fields of the call as the OAP decodes them', async () => {
    await withOap();
    await reportCall('struct');
    const server = oap.httpMetrics().find((m) => m.detectPoint === 'server')!;
    assert.deepEqual(
      [server.endpoint, server.responseCode, server.status, server.protocol, server.tlsMode, server.latency >= 1],
      ['GET:/hipstershop.ProductCatalogService/ListProducts', 200, true, 'HTTP', 'mTLS', true],
    );
    assert.deepEqual(server.destInstanceProperties, [{ key: 'pod', value: catalog.name }, { key: 'namespace', value: 'boutique' }]);
  });

  it('delivers our extended instance properties with --instance-properties extended', async () => {
    await withOap('--instance-properties', 'extended');
    await reportCall('struct');
    const server = oap.httpMetrics().find((m) => m.detectPoint === 'server')!;
    assert.ok(server.destInstanceProperties.some((p) => p.key === 'platform' && p.value === 'kubernetes'));
  });

  it('delivers TCP connections with their byte counts as TCP metrics', async () => {
    await withOap();
    const conn = tcpCall(cart, redis, { receivedBytes: 321, sentBytes: 6543 });
    await report(client!, nodeOf(cart), [{ tcp: [conn.client] }]);
    await report(client!, nodeOf(redis), [{ tcp: [conn.server] }]);
    await waitFor(() => oap.tcpMetrics().length === 2, 'two TCP metrics');
    assert.deepEqual(
      oap.tcpMetrics().map((m) => [m.detectPoint, m.sourceServiceName, m.destServiceName, m.receivedBytes, m.sentBytes]).sort(),
      [['client', 'cartservice.boutique', 'redis-cart.boutique', 321, 6543], ['server', 'cartservice.boutique', 'redis-cart.boutique', 321, 6543]],
    );
  });

  it('makes no metric of an entry without peer metadata, counting it as skipped', async () => {
    await withOap();
    const call = httpCall(frontend, checkout, { peerEncoding: 'none' });
    await report(client!, nodeOf(frontend), [{ http: [call.client] }]);
    await waitFor(async () => /receiver_als_entries_skipped_total\{reason="no_peer_metadata"\} 1/.test(await metricsText()), 'the skip counted');
    assert.equal((await receiver!.totals()).produced, 0);
  });

  it('names the peer of an entry without peer metadata after its upstream host with --peerless-calls upstream-host', async () => {
    await withOap('--peerless-calls', 'upstream-host');
    const call = httpCall(frontend, checkout, { peerEncoding: 'none' });
    await report(client!, nodeOf(frontend), [{ http: [call.client] }]);
    await waitFor(() => oap.httpMetrics().length === 1, 'the metric of the call');
    const [m] = oap.httpMetrics();
    assert.equal(m!.sourceServiceName, 'frontend.boutique');
    assert.equal(m!.destServiceName, call.client.common_properties!.upstream_cluster!.split('|')[3]);
  });

  it('reports a gateway entry from outside the mesh as a server-side metric of the gateway', async () => {
    await withOap();
    const gw = gateway();
    await report(client!, nodeOf(gw), [{ http: [gatewayEntry(gw, frontend)] }]);
    await waitFor(() => oap.httpMetrics().length >= 1, 'the gateway metrics');
    assert.ok(oap.httpMetrics().some((m) => m.detectPoint === 'server' && m.destServiceName === 'istio-ingressgateway.istio-system'),
      JSON.stringify(oap.httpMetrics().map((m) => [m.detectPoint, m.sourceServiceName, m.destServiceName])));
  });

  it('fails a malformed stream with INVALID_ARGUMENT while another sidecar keeps streaming', async () => {
    await withOap();
    const good = new AlsStream(client!);
    const call = httpCall(frontend, catalog);
    good.send({ identifier: { node: nodeOf(frontend) }, http_logs: { log_entry: [call.client] } });
    const bad = new AlsStream<Buffer>(client!, true);
    bad.send(Buffer.from([0x12, 0x05, 0x0a, 0x03, 0xff]));
    assert.equal((await bad.done).error?.code, grpc.status.INVALID_ARGUMENT);
    good.send({ http_logs: { log_entry: [call.client] } });
    assert.equal((await good.end()).error, null);
    await waitFor(() => oap.httpMetrics().length === 2, 'both metrics of the good stream');
    assert.equal((await fetch(`http://127.0.0.1:${receiver!.adminPort}/healthz`)).status, 200);
  });

  it('delivers after the OAP comes up what it analysed while the OAP was down, and accounts for every metric', async () => {
    const oapPort = await freePort();
    receiver = await startReceiver('--sink', 'oap', '--oap-address', `127.0.0.1:${oapPort}`, '--queue-capacity', '6');
    client = alsClient(receiver.grpcPort);
    const entries = Array.from({ length: 10 }, (_, i) =>
      httpCall(frontend, catalog, { path: `/p${i}` }).client);
    await report(client, nodeOf(frontend), [{ http: entries.slice(0, 5) }, { http: entries.slice(5) }]);
    assert.equal((await fetch(`http://127.0.0.1:${receiver.adminPort}/readyz`)).status, 503);
    await oap.start(oapPort);
    await waitFor(async () => (await receiver!.totals()).forwarded === 6, 'the six queued metrics forwarded', 10_000);
    const t = await receiver.totals();
    assert.deepEqual([t.received, t.produced, t.forwarded, t.dropped.queue_full], [10, 10, 6, 4]);
    assert.deepEqual(oap.httpMetrics().map((m) => m.endpoint), ['/p0', '/p1', '/p2', '/p3', '/p4', '/p5'].map((p) => `GET:${p}`));
  });

  it('merges the client and server reports of one call into one edge of /api/topology', async () => {
    await withMemory();
    const call = httpCall(frontend, catalog, { peerEncoding: 'flatnode' });
    await report(client!, nodeOf(frontend), [{ http: [call.client] }]);
    await report(client!, nodeOf(catalog), [{ http: [call.server] }]);
    const t = await topology();
    assert.deepEqual(t.calls.map((c) => [c.id, c.reportedBy, Object.keys(c.sides).sort(), c.stats.calls]), [
      ['frontend.boutique->productcatalogservice.boutique', 'server', ['client', 'server'], 1],
    ]);
  });

  it('shows Kubernetes→VM, VM→VM and VM→Kubernetes calls with the platform of every service (extended properties)', async () => {
    await withMemory('--instance-properties', 'extended');
    const k8sToVm = httpCall(frontend, checkout, { peerEncoding: 'struct' });
    const vmToVm = httpCall(checkout, payment, { peerEncoding: 'flatnode' });
    const vmToK8s = httpCall(checkout, catalog, { peerEncoding: 'both' });
    await report(client!, nodeOf(frontend), [{ http: [k8sToVm.client] }]);
    await report(client!, nodeOf(checkout), [{ http: [k8sToVm.server, vmToVm.client, vmToK8s.client] }]);
    await report(client!, nodeOf(payment), [{ http: [vmToVm.server] }]);
    await report(client!, nodeOf(catalog), [{ http: [vmToK8s.server] }]);
    const t = await topology();
    assert.deepEqual(t.services.map((s) => [s.name, s.platform]), [
      ['checkoutservice.boutique', 'vm'], ['frontend.boutique', 'kubernetes'],
      ['paymentservice.boutique', 'vm'], ['productcatalogservice.boutique', 'kubernetes'],
    ]);
    assert.deepEqual(t.calls.map((c) => [c.id, c.reportedBy]), [
      ['checkoutservice.boutique->paymentservice.boutique', 'server'],
      ['checkoutservice.boutique->productcatalogservice.boutique', 'server'],
      ['frontend.boutique->checkoutservice.boutique', 'server'],
    ]);
  });
});
