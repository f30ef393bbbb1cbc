// The oap sink over several OAP pods: calls spread round-robin over every address of its target,
// nothing queued lost when a pod goes away mid-call, readiness while some pods are down, and which
// targets it watches for new pods. Two real collect servers on 127.0.0.2 and 127.0.0.3, one port.
import { strict as assert } from 'node:assert';
import { ReceiverMetrics } from '../../receiver/src/admin/metrics';
import { OapSink } from '../../receiver/src/sinks/oap';
import { OapTargetWatch } from '../../receiver/src/sinks/oap-target';
import { SlowOap } from './faults/fault-harness';
import { httpMetric, sharedFreePort, waitFor } from './harness';

const HOSTS = ['127.0.0.2', '127.0.0.3'];

describe('oap sink over several OAP pods', function () {
  this.timeout(20_000);
  let port: number;
  let peers: SlowOap[];
  let sink: OapSink | undefined;
  let metrics: ReceiverMetrics;

  beforeEach(async () => {
    port = await sharedFreePort(HOSTS);
    metrics = new ReceiverMetrics('oap');
    peers = [];
  });
  afterEach(async () => {
    await sink?.close(1000);
    sink = undefined;
    for (const p of peers) p.stop();
  });

  const target = () => `ipv4:${HOSTS.map((h) => `${h}:${port}`).join(',')}`;
  const newSink = () => (sink = new OapSink({ address: target(), stats: metrics, queueCapacity: 10_000, batchSize: 10, flushIntervalMs: 20, backoffInitialMs: 50, retryMaxMs: 200 }));
  const ids = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `/${tag}/${i}`);
  const offer = (endpoints: string[]) => sink!.offer(endpoints.map((endpoint) => httpMetric({ endpoint })));
  const delivered = () => peers.flatMap((p) => p.endpoints);
  /** Offers batches of 20 new ids every 20 ms until `cond` holds (a channel connects its addresses one by one). */
  async function offerUntil(cond: () => boolean, what: string, tag: string): Promise<string[]> {
    const sent: string[] = [];
    await waitFor(async () => {
      const next = ids(20, `${tag}${sent.length / 20}`);
      offer(next);
      sent.push(...next);
      await new Promise((r) => setTimeout(r, 20));
      return cond();
    }, what, 10_000);
    return sent;
  }

  it('spreads its collect calls over every address of the target, each metric delivered once', async () => {
    for (const h of HOSTS) { const p = new SlowOap(0); await p.start(port, h); peers.push(p); }
    newSink();
    await waitFor(() => sink!.isReady(), 'the sink to connect');
    const sent = await offerUntil(() => peers.every((p) => p.calls > 0), 'calls at both peers', 'spread');
    await waitFor(() => delivered().length >= sent.length, 'every metric at a peer');
    assert.ok(peers.every((p) => p.calls > 0), `calls per peer: ${peers.map((p) => p.calls).join(', ')}`);
    assert.deepEqual(delivered().sort(), [...sent].sort());
  });

  it('counts its calls by the OAP address that took them', async () => {
    for (const h of HOSTS) { const p = new SlowOap(0); await p.start(port, h); peers.push(p); }
    newSink();
    await waitFor(() => sink!.isReady(), 'the sink to connect');
    const sent = await offerUntil(() => peers.every((p) => p.calls > 0), 'calls at both peers', 'count');
    await waitFor(() => delivered().length >= sent.length, 'every metric at a peer');
    // A peer has the metrics before the sink has its answer: wait for the count rather than race it.
    for (const h of HOSTS) {
      await waitFor(async () => await metrics.value('receiver_oap_calls_total', { target: `${h}:${port}`, outcome: 'ok' }) > 0, `an ok call counted for ${h}`);
    }
  });

  it('resends to the other pod what a pod took and never answered before it went away, losing nothing queued', async () => {
    const hanging = new SlowOap(60_000); // reads its calls, answers none: dies mid-call
    const healthy = new SlowOap(0);
    await hanging.start(port, HOSTS[0]);
    await healthy.start(port, HOSTS[1]);
    peers.push(hanging, healthy);
    newSink();
    await waitFor(() => sink!.isReady(), 'the sink to connect');
    const sent = await offerUntil(() => hanging.calls > 0, 'a call held by the pod that will go away', 'kill');
    hanging.stop();
    await waitFor(() => healthy.endpoints.length >= sent.length, 'every metric at the remaining pod', 10_000);
    assert.deepEqual([...healthy.endpoints].sort(), [...sent].sort());
    assert.deepEqual(healthy.duplicates(), []);
    assert.ok(await metrics.value('receiver_oap_calls_total', { outcome: 'failed' }) > 0);
    // The peer keeps a call's metrics just before it answers OK: the count follows the answer.
    await waitFor(async () => (await metrics.value('receiver_mesh_metrics_forwarded_total')) === sent.length, 'every metric counted forwarded once');
  });

  it('stays ready while one of its two OAP pods is down', async () => {
    const up = new SlowOap(0);
    await up.start(port, HOSTS[1]);
    peers.push(up);
    newSink();
    await waitFor(() => sink!.isReady(), 'ready with one pod of two', 5000);
    offer(ids(20, 'half'));
    await waitFor(() => up.endpoints.length === 20, 'the metrics at the pod that is up');
  });

  it('is not ready while none of its OAP pods can be reached', async () => {
    newSink();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sink!.isReady(), false);
  });

  it('watches a dns: target with a name for new pods, and no address or ipv4: list', () => {
    const watch = OapTargetWatch.forTarget('dns:///skywalking-oap-grpc.skywalking.svc.cluster.local:11800', 60_000, () => undefined);
    assert.ok(watch);
    watch.stop();
    for (const t of ['skywalking-oap:11800', 'dns:///10.0.0.7:11800', `ipv4:127.0.0.2:${11800},127.0.0.3:11800`]) {
      assert.equal(OapTargetWatch.forTarget(t, 60_000, () => undefined), undefined, t);
    }
  });
});
