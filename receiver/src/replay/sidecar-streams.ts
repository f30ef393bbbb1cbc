// The ALS streams of many sidecars to one receiver, as Envoy keeps them: one StreamAccessLogs call per
// sidecar, its node in the identifier of the first message only, then a message per flushed batch,
// holding either http_logs or tcp_logs. Messages are encoded with Envoy's protos by a real grpc-js client.
// A stream that fails (the receiver went away) is reopened on the next batch, identifier first again,
// as Envoy reconnects.
import * as grpc from '@grpc/grpc-js';
import { alsServiceDefinition, type HttpAccessLogEntry, type StreamAccessLogsMessage, type TcpAccessLogEntry } from '../envoy-protos';
import type { LoggedEntry, Sidecar } from './traffic';

export interface StreamCounts {
  /** StreamAccessLogs calls opened (one per sidecar, plus one per reopen). */
  streamsOpened: number;
  /** Calls that ended with an error status. */
  streamErrors: number;
  messages: number;
  httpEntries: number;
  tcpEntries: number;
}

interface OpenStream {
  call: grpc.ClientWritableStream<StreamAccessLogsMessage>;
  done: Promise<void>;
  failed: boolean;
}

export class SidecarStreams {
  readonly counts: StreamCounts = { streamsOpened: 0, streamErrors: 0, messages: 0, httpEntries: 0, tcpEntries: 0 };
  private readonly client: grpc.Client;
  private readonly streams = new Map<string, OpenStream>();
  private readonly method = alsServiceDefinition().StreamAccessLogs!;

  /** `target`: the receiver's ALS address, host:port. `maxBatch`: entries per message at most. */
  constructor(target: string, private readonly maxBatch = 500) {
    this.client = new grpc.Client(target, grpc.credentials.createInsecure());
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
      s.call.end();
      return s.done;
    });
    this.streams.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(done), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.client.close();
  }

  private write(sidecar: Sidecar, logs: Pick<StreamAccessLogsMessage, 'http_logs' | 'tcp_logs'>): void {
    let stream = this.streams.get(sidecar.id);
    let message: StreamAccessLogsMessage = logs;
    if (!stream || stream.failed) {
      stream = this.open();
      this.streams.set(sidecar.id, stream);
      message = { identifier: { node: sidecar.node, log_name: 'envoy_accesslog_service' }, ...logs };
    }
    stream.call.write(message);
    this.counts.messages++;
  }

  private open(): OpenStream {
    this.counts.streamsOpened++;
    let settle!: () => void;
    const done = new Promise<void>((r) => (settle = r));
    const stream: OpenStream = { done, failed: false } as OpenStream;
    stream.call = this.client.makeClientStreamRequest(
      this.method.path,
      this.method.requestSerialize as (m: StreamAccessLogsMessage) => Buffer,
      this.method.responseDeserialize as (b: Buffer) => unknown,
      (err) => {
        if (err) {
          stream.failed = true;
          this.counts.streamErrors++;
        }
        settle();
      },
    );
    // Failures arrive through the callback above; a write racing one must not crash the replayer.
    stream.call.on('error', () => undefined);
    return stream;
  }
}
