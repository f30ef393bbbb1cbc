import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { alsServiceDefinition, type StreamAccessLogsMessage } from '../../receiver/src/als/envoy-protos';
import { replayBurst } from '../../receiver/src/replay/replayer';

// What the replayer puts on the wire, as a gRPC AccessLogService server decodes it with Envoy's protos:
// one stream per sidecar, as Envoy sends, and each sidecar's peer metadata in its Istio's format.

/** A real AccessLogService server that keeps every stream's messages. */
class CapturingAls {
  readonly streams: StreamAccessLogsMessage[][] = [];
  private server: grpc.Server | undefined;

  async start(): Promise<number> {
    this.server = new grpc.Server();
    this.server.addService(alsServiceDefinition(), {
      StreamAccessLogs: (call: grpc.ServerReadableStream<StreamAccessLogsMessage, object>, cb: grpc.sendUnaryData<object>) => {
        const messages: StreamAccessLogsMessage[] = [];
        this.streams.push(messages);
        call.on('data', (m: StreamAccessLogsMessage) => messages.push(m));
        call.on('end', () => cb(null, {}));
      },
    });
    return new Promise((resolve, reject) => this.server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(),
      (err, port) => (err ? reject(err) : resolve(port))));
  }

  stop(): void {
    this.server?.forceShutdown();
  }

  /** Every stream keyed by the node id of its first message, messages after it in order. */
  byNode(): Map<string, StreamAccessLogsMessage[]> {
    return new Map(this.streams.map((s) => [s[0]?.identifier?.node?.id ?? '(no identifier)', s]));
  }
}

async function capture(seed: number, userActions = 40): Promise<Map<string, StreamAccessLogsMessage[]>> {
  const als = new CapturingAls();
  try {
    const port = await als.start();
    await replayBurst({ target: `127.0.0.1:${port}`, seed, userActions, startMs: Date.UTC(2026, 10, 25, 12) });
    return als.byNode();
  } finally {
    als.stop();
  }
}

const entriesOf = (m: StreamAccessLogsMessage) => [...(m.http_logs?.log_entry ?? []), ...(m.tcp_logs?.log_entry ?? [])];
const peerKeys = (msgs: StreamAccessLogsMessage[]) =>
  new Set(msgs.flatMap(entriesOf).flatMap((e) => Object.keys(e.common_properties?.filter_state_objects ?? {})));

describe('the replayer on the wire', function () {
  this.timeout(20_000);
  let streams: Map<string, StreamAccessLogsMessage[]>;
  const node = (prefix: string) => [...streams.keys()].find((id) => id.split('~')[2]!.startsWith(prefix))!;

  before(async () => {
    streams = await capture(11);
  });

  it('opens one ALS stream per sidecar, each starting with its own node', () => {
    assert.equal(streams.size, 15);
    assert.ok(![...streams.keys()].includes('(no identifier)'));
    for (const id of streams.keys()) assert.match(id, /^sidecar~10\.(10|20)\.\d+\.\d+~[a-z-]+[a-z0-9-]*\.boutique~boutique\.svc\.cluster\.local$/);
  });

  it('sends the identifier on the first message of a stream only', () => {
    for (const [id, msgs] of streams) {
      assert.ok(msgs.length > 1, `${id} sent ${msgs.length} message`);
      assert.deepEqual(msgs.slice(1).filter((m) => m.identifier).length, 0, id);
    }
  });

  it('sends batches of either HTTP or TCP entries, never both in one message', () => {
    for (const msgs of streams.values()) for (const m of msgs) assert.ok(!!m.http_logs !== !!m.tcp_logs);
  });

  it('sends Istio 1.23 sidecars\' peers as FlatNode (wasm.* keys) only', () => {
    const keys = peerKeys(streams.get(node('paymentservice-vm'))!);
    assert.deepEqual([...keys].sort(), ['wasm.downstream_peer', 'wasm.downstream_peer_id']);
  });

  it('sends upgraded (Istio 1.30) pod sidecars\' peers as Struct (*_peer keys) only', () => {
    const keys = peerKeys(streams.get(node('frontend-'))!);
    assert.deepEqual([...keys].sort(), ['downstream_peer', 'upstream_peer']);
  });

  it('sends the checkout VM\'s peers under both the new and the legacy keys', () => {
    const keys = peerKeys(streams.get(node('checkoutservice-vm'))!);
    assert.deepEqual([...keys].sort(), ['downstream_peer', 'upstream_peer', 'wasm.downstream_peer', 'wasm.downstream_peer_id',
      'wasm.upstream_peer', 'wasm.upstream_peer_id']);
  });

  it('marks VM sidecars in their node metadata as Envoy on a GCE VM does (no Kubernetes owner, a GCE instance)', () => {
    const fields = streams.get(node('checkoutservice-vm'))![0]!.identifier!.node!.metadata!.fields!;
    assert.equal(fields.OWNER, undefined);
    assert.equal(fields.PLATFORM_METADATA?.structValue?.fields?.gcp_gce_instance?.stringValue, 'checkoutservice-vm');
  });

  it('sends the same messages for the same seed', async () => {
    const again = await capture(11);
    assert.deepEqual([...again.keys()].sort(), [...streams.keys()].sort());
    for (const [id, msgs] of streams) assert.deepEqual(again.get(id), msgs, id);
  });

  it('sends other messages for another seed', async () => {
    const other = await capture(12);
    const id = node('frontend-');
    assert.notDeepEqual(other.get(id), streams.get(id));
  });
});
