// The ALS streams of many sidecars to one receiver, as Envoy keeps them: one StreamAccessLogs call per
// sidecar, its node in the identifier of the first message only, then a message per flushed batch,
// holding either http_logs or tcp_logs. Messages are encoded with Envoy's protos by a real grpc-js client.
// A stream that ends, with an error (the receiver went away) or OK (the receiver moved it after its
// connection aged), is reopened on the next batch, identifier first again, as Envoy's ALS client does
// on any remote close (envoyproxy/envoy source/extensions/access_loggers/common/grpc_access_logger_clients.h,
// StreamingGrpcAccessLogClient::LocalStream::onRemoteClose).
import * as grpc from '@grpc/grpc-js';
import { alsServiceDefinition, type HttpAccessLogEntry, type StreamAccessLogsMessage, type TcpAccessLogEntry } from '../als/envoy-protos';
import type { LoggedEntry, Sidecar } from './traffic';

export interface StreamCounts {
  /** StreamAccessLogs calls opened (one per sidecar, plus one per reopen). */
  streamsOpened: number;
  /** Calls that ended with an error status. */
  streamErrors: number;
  /** Calls the receiver ended with OK while the sidecar still had them open. */
  streamsEndedByReceiver: number;
  messages: number;
  httpEntries: number;
  tcpEntries: number;
}

interface OpenStream {
  call: grpc.ClientWritableStream<StreamAccessLogsMessage>;
  done: Promise<void>;
  /** Ended by the receiver (any status): the next batch opens a new stream. */
  failed: boolean;
  /** Ended by us (close()). */
  closing: boolean;
}

export class SidecarStreams {
  readonly counts: StreamCounts = { streamsOpened: 0, streamErrors: 0, streamsEndedByReceiver: 0, messages: 0, httpEntries: 0, tcpEntries: 0 };
  /** One channel for all sidecars, or (channelPerSidecar) one each, as each Envoy has its own connections. */
  private readonly clients = new Map<string, grpc.Client>();
  private readonly streams = new Map<string, OpenStream>();
  private readonly method = alsServiceDefinition().StreamAccessLogs!;

  /**
   * `target`: the receiver's ALS address, host:port, or any gRPC target (e.g. ipv4:a:p,b:p with a
   * round_robin `channelOptions` service config: several replicas). `maxBatch`: entries per message at most.
   */
  constructor(
    private readonly target: string, private readonly maxBatch = 500,
    private readonly channelOptions: grpc.ChannelOptions = {},
    /**
     * true: a channel per sidecar. A function: a new channel for every stream a sidecar opens, to the target
     * it returns (e.g. the replicas in a random order with pick_first: a random replica per new connection,
     * as kube-proxy or a load balancer places them); the sidecar's previous channel is closed.
     */
    private readonly channelPerSidecar: boolean | ((sidecarId: string, opened: number) => string) = false,
  ) {}

  private opened = new Map<string, number>();

  private clientFor(sidecarId: string): grpc.Client {
    const key = this.channelPerSidecar ? sidecarId : '';
    let client = this.clients.get(key);
    if (typeof this.channelPerSidecar === 'function') {
      client?.close(); // its stream has ended: a new stream gets a new connection
      client = undefined;
    }
    if (!client) {
      // A channel of its own needs its own subchannel pool too, or grpc-js would share the connections.
      const options = this.channelPerSidecar ? { ...this.channelOptions, 'grpc.use_local_subchannel_pool': 1 } : this.channelOptions;
      const n = (this.opened.get(sidecarId) ?? 0) + 1;
      this.opened.set(sidecarId, n);
      const target = typeof this.channelPerSidecar === 'function' ? this.channelPerSidecar(sidecarId, n) : this.target;
      this.clients.set(key, (client = new grpc.Client(target, grpc.credentials.createInsecure(), options)));
    }
    return client;
  }

  /** Sends each sidecar's entries, in the order given, as that sidecar's next messages. */
  send(entries: readonly LoggedEntry[]): void {
    const bySidecar = new Map<string, { sidecar: Sidecar; http: HttpAccessLogEntry[]; tcp: TcpAccessLogEntry[] }>();
    for (const e of entries) {
      let b = bySidecar.get(e.sidecar.id);
      if (!b) bySidecar.set(e.sidecar.id, (b = { sidecar: e.sidecar, http: [], tcp: [] }));
      if (e.kind === 'http') b.http.push(e.entry);
      else b.tcp.push(e.entry);
    }
    for (const { sidecar, http, tcp } of bySidecar.values()) {
      for (let i = 0; i < http.length; i += this.maxBatch) this.write(sidecar, { http_logs: { log_entry: http.slice(i, i + this.maxBatch) } });
      for (let i = 0; i < tcp.length; i += this.maxBatch) this.write(sidecar, { tcp_logs: { log_entry: tcp.slice(i, i + this.maxBatch) } });
      this.counts.httpEntries += http.length;
      this.counts.tcpEntries += tcp.length;
    }
  }

  /** Ends every stream (as Envoy does on shutdown) and waits for the receiver's answers, up to `timeoutMs`. */
  async close(timeoutMs = 5000): Promise<void> {
    const done = [...this.streams.values()].map((s) => {
      s.closing = true;
      s.call.end();
      return s.done;
    });
    this.streams.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(done), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    for (const c of this.clients.values()) c.close();
  }

  private write(sidecar: Sidecar, logs: Pick<StreamAccessLogsMessage, 'http_logs' | 'tcp_logs'>): void {
    let stream = this.streams.get(sidecar.id);
    let message: StreamAccessLogsMessage = logs;
    if (!stream || stream.failed) {
      stream = this.open(this.clientFor(sidecar.id));
      this.streams.set(sidecar.id, stream);
      message = { identifier: { node: sidecar.node, log_name: 'envoy_accesslog_service' }, ...logs };
    }
    stream.call.write(message);
    this.counts.messages++;
  }

  private open(client: grpc.Client): OpenStream {
    this.counts.streamsOpened++;
    let settle!: () => void;
    const done = new Promise<void>((r) => (settle = r));
    const stream: OpenStream = { done, failed: false, closing: false } as OpenStream;
    stream.call = client.makeClientStreamRequest(
      this.method.path,
      this.method.requestSerialize as (m: StreamAccessLogsMessage) => Buffer,
      this.method.responseDeserialize as (b: Buffer) => unknown,
      (err) => {
        stream.failed = true;
        if (err) this.counts.streamErrors++;
        else if (!stream.closing) this.counts.streamsEndedByReceiver++;
        settle();
      },
    );
    // Failures arrive through the callback above; a write racing one must not crash the replayer.
    stream.call.on('error', () => undefined);
    return stream;
  }
}
