import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { AlsServer, type StreamAnalyzerFactory } from '../../receiver/src/als/server';
import { ReceiverMetrics } from '../../receiver/src/admin/metrics';
import type { Node, StreamAccessLogsMessage } from '../../receiver/src/als/envoy-protos';
import type { MeshMetric } from '../../receiver/src/analysis/mesh-metric';
import type { Sink } from '../../receiver/src/sinks/sink';
import { AlsStream, alsClient, httpMetric, tcpMetric, waitFor } from './harness';

// The stream loop on its own, with an analyzer whose output shows what it was given: the node it was
// created for (as the source instance) and the entry's path (as the endpoint). The real analyzer runs
// in e2e.test.ts.
class EchoAnalyzer implements StreamAnalyzerFactory {
  readonly nodes: (string | undefined)[] = [];
  forNode(node: Node | undefined) {
    this.nodes.push(node?.id);
    const id = node?.id ?? '';
    return {
      http: (e: { request?: { path?: string } }): MeshMetric[] => {
        if (e.request?.path === '/boom') throw new Error('analysis bug');
        return [httpMetric({ sourceServiceInstance: id, endpoint: e.request?.path ?? '' })];
      },
      tcp: (): MeshMetric[] => [tcpMetric({ sourceServiceInstance: id })],
    };
  }
}

/** Keeps every offer as it came (one offer per message is part of what is tested). */
class CaptureSink implements Sink {
  readonly name = 'memory' as const;
  readonly offers: MeshMetric[][] = [];
  offer(m: readonly MeshMetric[]): number { this.offers.push([...m]); return m.length; }
  isReady() { return true; }
  async close() { /* nothing queued */ }
  all() { return this.offers.flat(); }
}

const node = (id: string): StreamAccessLogsMessage['identifier'] => ({
  node: { id, metadata: { fields: { NAME: { stringValue: id.split('~')[2] ?? id } } } }, log_name: 'als',
});
const http = (...paths: string[]): StreamAccessLogsMessage['http_logs'] => ({ log_entry: paths.map((path) => ({ request: { path } })) });

describe('ALS gRPC server', function () {
  this.timeout(10_000);
  let server: AlsServer;
  let client: grpc.Client;
  let analyzer: EchoAnalyzer;
  let sink: CaptureSink;
  let metrics: ReceiverMetrics;

  async function start(limits: ConstructorParameters<typeof AlsServer>[0]['limits'] = {}) {
    analyzer = new EchoAnalyzer();
    sink = new CaptureSink();
    metrics = new ReceiverMetrics('memory');
    server = new AlsServer({ analyzer, sink, metrics, limits });
    const port = await server.listen('127.0.0.1:0');
    client = alsClient(port);
  }

  afterEach(async () => {
    client?.close();
    await server?.shutdown(1000);
  });

  it('keeps the node of the first message for every later message of the stream', async () => {
    await start();
    const s = new AlsStream(client);
    s.send({ identifier: node('sidecar~10.0.0.1~frontend-1.default~default.svc.cluster.local'), http_logs: http('/a', '/b') });
    s.send({ http_logs: http('/c') });
    s.send({ identifier: node('sidecar~10.0.0.9~other.default~default.svc.cluster.local'), http_logs: http('/d') });
    const { error } = await s.end();
    assert.equal(error, null);
    assert.deepEqual(sink.all().map((m) => [m.sourceServiceInstance, (m as { endpoint: string }).endpoint]), [
      ['sidecar~10.0.0.1~frontend-1.default~default.svc.cluster.local', '/a'],
      ['sidecar~10.0.0.1~frontend-1.default~default.svc.cluster.local', '/b'],
      ['sidecar~10.0.0.1~frontend-1.default~default.svc.cluster.local', '/c'],
      ['sidecar~10.0.0.1~frontend-1.default~default.svc.cluster.local', '/d'],
    ]);
    assert.deepEqual(analyzer.nodes, ['sidecar~10.0.0.1~frontend-1.default~default.svc.cluster.local']);
  });

  it('hands the metrics of each message to the sink as one batch', async () => {
    await start();
    const s = new AlsStream(client);
    s.send({ identifier: node('sidecar~1~a.ns~ns.svc.cluster.local'), http_logs: http('/1', '/2', '/3') });
    s.send({ tcp_logs: { log_entry: [{ connection_properties: { received_bytes: 5 } }, {}] } });
    await s.end();
    assert.deepEqual(sink.offers.map((o) => o.map((m) => m.kind)), [['http', 'http', 'http'], ['tcp', 'tcp']]);
  });

  it('analyses a stream whose first message has no identifier with no node, as SkyWalking does, and keeps it so', async () => {
    await start();
    const s = new AlsStream(client);
    s.send({ http_logs: http('/x') });
    s.send({ identifier: node('sidecar~10.0.0.9~late.default~default.svc.cluster.local'), http_logs: http('/y') });
    const { error } = await s.end();
    assert.equal(error, null);
    assert.deepEqual(analyzer.nodes, [undefined]);
    assert.deepEqual(sink.all().map((m) => [m.sourceServiceInstance, (m as { endpoint: string }).endpoint]), [['', '/x'], ['', '/y']]);
  });

  it('fails only the stream that sent an undecodable message, with INVALID_ARGUMENT', async () => {
    await start();
    const good = new AlsStream(client);
    good.send({ identifier: node('sidecar~1~good.ns~ns.svc.cluster.local'), http_logs: http('/before') });
    await waitFor(() => sink.all().length === 1, 'the good stream first entry');
    const bad = new AlsStream<Buffer>(client, true);
    bad.send(Buffer.from([0x0a, 0xff, 0x01])); // field 1, length 255, then only one byte
    const { error } = await bad.done;
    assert.equal(error?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(error!.details, /malformed StreamAccessLogsMessage/);
    good.send({ http_logs: http('/after') });
    assert.equal((await good.end()).error, null);
    assert.deepEqual(sink.all().map((m) => (m as { endpoint: string }).endpoint), ['/before', '/after']);
  });

  it('keeps accepting new streams after a stream failed', async () => {
    await start();
    const bad = new AlsStream<Buffer>(client, true);
    bad.send(Buffer.from([0x0a, 0xff, 0x01]));
    assert.equal((await bad.done).error?.code, grpc.status.INVALID_ARGUMENT);
    const next = new AlsStream(client);
    next.send({ identifier: node('sidecar~2~next.ns~ns.svc.cluster.local'), http_logs: http('/ok') });
    assert.equal((await next.end()).error, null);
    assert.equal(sink.all().length, 1);
  });

  it('refuses a message above the size limit with RESOURCE_EXHAUSTED', async () => {
    await start({ maxReceiveMessageBytes: 2048 });
    const s = new AlsStream(client);
    s.send({ identifier: node('sidecar~1~big.ns~ns.svc.cluster.local'), http_logs: http('/' + 'x'.repeat(4096)) });
    const { error } = await s.done;
    assert.equal(error?.code, grpc.status.RESOURCE_EXHAUSTED);
  });

  it('refuses streams beyond the limit with RESOURCE_EXHAUSTED and keeps serving the open ones', async () => {
    await start({ maxStreams: 2 });
    const open = [new AlsStream(client), new AlsStream(client)];
    open.forEach((s, i) => s.send({ identifier: node(`sidecar~${i}~p${i}.ns~ns.svc.cluster.local`), http_logs: http(`/${i}`) }));
    await waitFor(() => server.activeStreamCount() === 2, 'two open streams');
    const third = new AlsStream(client);
    third.send({ identifier: node('sidecar~3~p3.ns~ns.svc.cluster.local'), http_logs: http('/3') });
    const { error } = await third.done;
    assert.equal(error?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(error!.details, /limit 2/);
    for (const s of open) assert.equal((await s.end()).error, null);
    assert.equal(sink.all().length, 2);
  });

  it('counts entries received and analysed by kind, and an analysis error per entry without ending the stream', async () => {
    await start();
    const s = new AlsStream(client);
    s.send({ identifier: node('sidecar~1~c.ns~ns.svc.cluster.local'), http_logs: http('/a', '/boom', '/b') });
    s.send({ tcp_logs: { log_entry: [{}] } });
    assert.equal((await s.end()).error, null);
    assert.deepEqual(
      await Promise.all([
        metrics.value('receiver_als_entries_received_total', { kind: 'http' }),
        metrics.value('receiver_als_entries_analyzed_total', { kind: 'http' }),
        metrics.value('receiver_als_entries_received_total', { kind: 'tcp' }),
        metrics.value('receiver_als_entries_analyzed_total', { kind: 'tcp' }),
        metrics.value('receiver_mesh_metrics_dropped_total', { reason: 'analysis_error' }),
        metrics.value('receiver_mesh_metrics_produced_total'),
      ]),
      [3, 2, 1, 1, 1, 3],
    );
  });

  it('shows each open stream entry count by node, and forgets it when the stream ends', async () => {
    await start();
    const s = new AlsStream(client);
    s.send({ identifier: node('sidecar~7~gauge.ns~ns.svc.cluster.local'), http_logs: http('/a', '/b') });
    await waitFor(async () => (await metrics.value('receiver_als_stream_entries_received', { node: 'sidecar~7~gauge.ns~ns.svc.cluster.local' })) === 2,
      'the per-stream gauge');
    assert.equal(await metrics.value('receiver_als_active_streams'), 1);
    await s.end();
    const text = await metrics.registry.metrics();
    assert.doesNotMatch(text, /gauge\.ns/);
    assert.equal(await metrics.value('receiver_als_active_streams'), 0);
  });

  it('ends open streams with UNAVAILABLE on shutdown so Envoy reconnects elsewhere', async () => {
    await start();
    const s = new AlsStream(client);
    s.send({ identifier: node('sidecar~1~d.ns~ns.svc.cluster.local'), http_logs: http('/a') });
    await waitFor(() => server.activeStreamCount() === 1, 'the open stream');
    await server.shutdown(1000);
    const { error } = await s.done;
    assert.equal(error?.code, grpc.status.UNAVAILABLE);
    assert.equal(server.isListening(), false);
  });
});
