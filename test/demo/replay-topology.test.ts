import { strict as assert } from 'node:assert';
import { replayBurst, type ReplayStats } from '../../receiver/src/replay/replayer';
import type { Receiver } from '../../receiver/src/receiver';
import { DEMO_RECEIVER_FLAGS } from '../../receiver/src/replay/local-demo';
import type { CallJson, TopologyJson } from '../../receiver/src/sinks/memory';
import { startReceiver, waitFor } from '../receiver/harness';
import { EXPECTED_EDGES, EXPECTED_SERVICES, serviceName } from './expected-mesh';

// The replayer's traffic, sent over loopback gRPC to a real receiver (memory sink), analysed into the
// topology: a fixed seed, a fixed simulated start, 500 user actions.

const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe('the replayed hybrid Online Boutique, analysed by the receiver', function () {
  this.timeout(30_000);
  let receiver: Receiver;
  let stats: ReplayStats;
  let topology: TopologyJson;

  before(async () => {
    receiver = await startReceiver(...DEMO_RECEIVER_FLAGS);
    stats = await replayBurst({ target: `127.0.0.1:${receiver.grpcPort}`, seed: 2026, userActions: 500, startMs: Date.UTC(2026, 10, 25, 12) });
    const sent = stats.httpEntries + stats.tcpEntries;
    await waitFor(async () => (await receiver.metrics.value('receiver_als_entries_received_total')) === sent, `${sent} entries at the receiver`, 15_000);
    const res = await fetch(`http://127.0.0.1:${receiver.adminPort}/api/topology`);
    topology = (await res.json()) as TopologyJson;
  });
  after(async () => {
    await receiver?.stop();
  });

  const call = (source: string, target: string): CallJson => {
    const c = topology.calls.find((x) => x.source === serviceName(source) && x.target === serviceName(target));
    assert.ok(c, `no edge ${source} -> ${target}`);
    return c;
  };

  it('streams from every sidecar and every stream ends cleanly', () => {
    assert.equal(stats.streamsOpened, 15);
    assert.equal(stats.streamErrors, 0);
    assert.ok(stats.httpEntries > 5000 && stats.tcpEntries > 300, `${stats.httpEntries} HTTP, ${stats.tcpEntries} TCP entries`);
  });

  it('decodes the peer metadata of every entry, in both formats, without a single problem', async () => {
    assert.equal(await receiver.metrics.value('receiver_metadata_problems_total'), 0);
    assert.equal(await receiver.metrics.value('receiver_als_entries_analyzed_total'), stats.httpEntries + stats.tcpEntries);
  });

  it('shows exactly the services of the Online Boutique, each on Kubernetes or on a VM as the stack places it', () => {
    assert.deepEqual(
      topology.services.map((s) => ({ name: s.name, platform: s.platform })).sort((a, b) => byCode(a.name, b.name)),
      [...EXPECTED_SERVICES].sort((a, b) => byCode(a.name, b.name)),
    );
  });

  it('shows exactly the edges of the call graph, and no other', () => {
    assert.deepEqual(topology.calls.map((c) => c.id).sort(byCode), EXPECTED_EDGES.map((e) => e.id).sort(byCode));
  });

  it('reports each edge with the protocol of its callee: HTTP to frontend, TCP to redis, gRPC elsewhere', () => {
    for (const e of EXPECTED_EDGES) {
      assert.deepEqual(topology.calls.find((c) => c.id === e.id)!.protocols, [e.protocol], e.id);
    }
  });

  it('has Kubernetes to VM edges (frontend to checkoutservice)', () => {
    const c = call('frontend', 'checkoutservice');
    const platforms = [c.source, c.target].map((n) => topology.services.find((s) => s.name === n)!.platform);
    assert.deepEqual(platforms, ['kubernetes', 'vm']);
  });

  it('has VM to Kubernetes edges (checkoutservice to cart, currency, email, productcatalog, shipping)', () => {
    for (const callee of ['cartservice', 'currencyservice', 'emailservice', 'productcatalogservice', 'shippingservice']) {
      assert.ok(call('checkoutservice', callee).stats.calls > 0, callee);
      assert.equal(topology.services.find((s) => s.name === serviceName(callee))!.platform, 'kubernetes');
    }
  });

  it('has a VM to VM edge (checkoutservice to paymentservice)', () => {
    const c = call('checkoutservice', 'paymentservice');
    assert.ok(c.stats.calls > 0);
    assert.deepEqual([c.source, c.target].map((n) => topology.services.find((s) => s.name === n)!.platform), ['vm', 'vm']);
  });

  it('has the client and the server side of every edge', () => {
    for (const c of topology.calls) assert.deepEqual(Object.keys(c.sides).sort(), ['client', 'server'], c.id);
  });

  it('counts the same calls on both sides, except the failures only the client saw', () => {
    for (const c of topology.calls) {
      const { client, server } = c.sides as Required<typeof c.sides>;
      // A failure both sides saw (a 5xx) is an error on both; one that never reached the server only on the client.
      assert.equal(client.calls - server.calls, client.errors - server.errors, c.id);
      assert.ok(server.calls > 0, c.id);
    }
  });

  it('has errors on the edges the model makes fail and none on the others', () => {
    assert.ok(call('checkoutservice', 'paymentservice').sides.client!.errors > 0);
    assert.ok(call('frontend', 'recommendationservice').sides.client!.errors > 0);
    assert.equal(call('frontend', 'productcatalogservice').sides.client!.errors, 0);
    assert.equal(call('checkoutservice', 'emailservice').sides.client!.errors, 0);
  });

  it('counts the bytes of the TCP connections from cartservice to redis-cart on both sides', () => {
    const { client, server } = call('cartservice', 'redis-cart').sides;
    assert.ok(client!.receivedBytes > 0 && client!.sentBytes > client!.receivedBytes, 'redis answers more than it is sent');
    assert.equal(server!.receivedBytes, client!.receivedBytes);
  });

  it('nests latencies: a call lasts longer than the calls it makes', () => {
    const p95 = (source: string, target: string) => call(source, target).stats.latencyMs!.p95;
    assert.ok(p95('loadgenerator', 'frontend') > p95('frontend', 'currencyservice'));
    assert.ok(p95('frontend', 'checkoutservice') > p95('checkoutservice', 'paymentservice'));
  });
});
