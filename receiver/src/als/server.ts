// The ALS gRPC server: envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs. The stream loop only
// receives, hands each message's entries to the analyzer and the resulting metrics to the sink in one
// batch, and counts. A bad stream is failed with a gRPC status; the process and other streams carry on.
// Backpressure: while the sink's queue is at its high-water mark, no stream is read (grpc-js reads a
// stream only as its consumer asks, so a paused stream leaves HTTP/2 flow control to hold the sidecar
// back); reading resumes when the sink has drained to its low-water mark. A pause lasts at most
// `maxPauseMs`: a sink that stays full (OAP away) must not stall every sidecar's stream, and Envoy would
// only drop on its side, out of our sight. So after that the receiver reads on and the sink drops what
// does not fit, counted by reason (queue_full), until it has drained once; then it may pause again.
// Scale-out: connections age (grpc-js GOAWAY), and the receiver then ends their streams between two
// messages so the sidecars reopen them on new connections, possibly to other replicas (README "Scale-out").
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { HANDOFF_QUIET_MAX_MS, splitHostPort } from '../config';
import { ConnectionAges } from './connection-ages';
import { alsServiceDefinition } from './envoy-protos';
import type { HttpAccessLogEntry, Node, StreamAccessLogsMessage, TcpAccessLogEntry } from './envoy-protos';
import type { MeshMetric } from '../analysis/mesh-metric';
import type { ReceiverMetrics } from '../admin/metrics';
import type { Sink } from '../sinks/sink';
import { errorFields, silentLogger, type Logger } from '../log';
import { widenReceiveWindows } from './receive-window';

/** What the server needs from analysis (the shape of analyze.ts's Analyzer). */
export interface StreamAnalyzerFactory {
  forNode(node: Node | undefined): {
    http(entry: HttpAccessLogEntry): MeshMetric[];
    tcp(entry: TcpAccessLogEntry): MeshMetric[];
  };
}

export interface AlsServerLimits {
  /** Largest StreamAccessLogsMessage accepted; bigger ones fail that stream with RESOURCE_EXHAUSTED. */
  maxReceiveMessageBytes: number;
  /** Open streams beyond this are refused with RESOURCE_EXHAUSTED. */
  maxStreams: number;
  /**
   * Open streams one peer (a client IP address, over all its connections) may hold; more are refused with
   * RESOURCE_EXHAUSTED, so one client cannot take every stream from the other sidecars.
   */
  maxStreamsPerPeer: number;
  /** Server-side HTTP/2 pings find dead sidecar connections (a VM that vanished). */
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  /** Longest the streams stay paused for a full sink before reading on and letting the sink drop. */
  maxPauseMs: number;
  /** grpc-js GOAWAYs a connection this old (±10 %); then the receiver ends its streams. 0: never. */
  maxConnectionAgeMs: number;
  /** After its GOAWAY a connection may carry its streams this long before grpc-js closes it. */
  maxConnectionAgeGraceMs: number;
  /** HTTP/2 receive window granted each sidecar connection (receive-window.ts). */
  receiveWindowBytes: number;
}

/**
 * How long a stream of an aged connection must go without a message before the receiver ends it: half
 * its usual gap between messages, within [min, max]; `unknown` before it has sent two.
 */
export const HANDOFF_QUIET_MS = { min: 100, max: HANDOFF_QUIET_MAX_MS, unknown: 100 };

export const DEFAULT_LIMITS: AlsServerLimits = {
  maxReceiveMessageBytes: 4 * 1024 * 1024,
  maxStreams: 2000,
  maxStreamsPerPeer: 32,
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  maxPauseMs: 1000,
  maxConnectionAgeMs: 0,
  maxConnectionAgeGraceMs: 0,
  receiveWindowBytes: 256 * 1024,
};

export interface AlsServerOptions {
  analyzer: StreamAnalyzerFactory;
  sink: Sink;
  metrics: ReceiverMetrics;
  logger?: Logger;
  limits?: Partial<AlsServerLimits>;
}

/** Stands in for a message protobuf could not decode, so the handler can answer INVALID_ARGUMENT. */
class MalformedMessage {
  constructor(readonly reason: string) {}
}

type Incoming = StreamAccessLogsMessage | MalformedMessage;
type AlsCall = grpc.ServerReadableStream<Incoming, Record<string, never>>;

/** One open stream: its node (from the first message) and its own counts. */
class StreamState {
  node: Node | undefined;
  nodeId = '';
  analyzer: ReturnType<StreamAnalyzerFactory['forNode']> | undefined;
  received = 0;
  analyzed = 0;
  produced = 0;
  done = false;
  /** Its connection has aged: the stream ends once it has been quiet (see AlsServer.handOffWhenQuiet). */
  handoff = false;
  /** Messages taken so far (tells the quiet check whether one came in meanwhile). */
  messages = 0;
  lastMessageAt = 0;
  /** Smoothed time between this stream's messages (Envoy: its flush interval), 0 until known. */
  gapMs = 0;
  quietTimer: NodeJS.Timeout | undefined;
  /** Past this time the stream ends right after its next message, quiet or not. */
  handoffDeadline = 0;
  constructor(
    readonly seq: number,
    readonly peer: string,
    readonly call: AlsCall,
    readonly callback: grpc.sendUnaryData<Record<string, never>>,
  ) {}
}

/** The client's IP address of a grpc-js peer string (`1.2.3.4:5678`, `[::1]:5678`). */
export function peerAddress(peer: string): string {
  const colon = peer.lastIndexOf(':');
  const host = colon > 0 ? peer.slice(0, colon) : peer;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

const STATUS_NAME: Record<number, string> = Object.fromEntries(
  Object.entries(grpc.status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]),
);

export class AlsServer {
  private readonly server: grpc.Server;
  private readonly limits: AlsServerLimits;
  private readonly logger: Logger;
  private readonly streams = new Set<StreamState>();
  /** Open streams by peer address (the client IP, without its port). */
  private readonly streamsByPeer = new Map<string, number>();
  private nextSeq = 1;
  private listening = false;
  private closing = false;
  private paused = false;
  /** A pause timed out: read on (the sink drops and counts) until the sink has drained once. */
  private shedding = false;
  private pauseTimer: NodeJS.Timeout | undefined;
  /** Accepts the TCP connections itself (so it knows each one's age) and hands them to grpc-js. */
  private readonly tcp: net.Server;
  private readonly connections: ConnectionAges;

  constructor(private readonly opts: AlsServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.logger = opts.logger ?? silentLogger;
    const age = this.limits.maxConnectionAgeMs;
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': this.limits.maxReceiveMessageBytes,
      'grpc.keepalive_time_ms': this.limits.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': this.limits.keepaliveTimeoutMs,
      ...(age > 0 ? {
        'grpc.max_connection_age_ms': age,
        'grpc.max_connection_age_grace_ms': this.limits.maxConnectionAgeGraceMs,
      } : {}),
    });
    const { metrics } = opts;
    this.connections = new ConnectionAges(age, {
      opened: () => {
        metrics.connectionsAccepted.inc();
        metrics.connectionsOpen.set(this.connections.size);
      },
      aged: (peer) => {
        metrics.connectionsAged.inc();
        let n = 0;
        for (const s of this.streams) if (s.peer === peer) { this.startHandoff(s); n++; }
        this.logger.debug('connection aged; its streams end in their next quiet moment', { peer, streams: n });
      },
      closed: () => metrics.connectionsOpen.set(this.connections.size),
    });
    const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.tcp = net.createServer((socket) => {
      this.connections.track(socket);
      injector.injectConnection(socket);
    });
    opts.sink.backpressure?.onRelease(() => {
      this.shedding = false;
      this.resumeReading();
    });
    this.server.addService(tolerantAlsDefinition(), {
      StreamAccessLogs: (call: AlsCall, callback: grpc.sendUnaryData<Record<string, never>>) =>
        this.openStream(call, callback),
    });
  }

  /** Binds (port 0 picks a free one) and resolves with the bound port. */
  listen(address: string): Promise<number> {
    const { host, port } = splitHostPort(address);
    return new Promise((resolve, reject) => {
      const failed = (err: Error) => reject(new Error(`cannot listen for ALS on ${address}: ${err.message}`));
      this.tcp.once('error', failed);
      this.tcp.listen({ host, port }, () => {
        this.tcp.off('error', failed);
        try {
          // The injector's HTTP/2 server is grpc-js's own: every session it accepts gets the wider window.
          widenReceiveWindows(this.server, this.limits.receiveWindowBytes);
        } catch (e) {
          this.tcp.close();
          return reject(e as Error);
        }
        this.listening = true;
        resolve((this.tcp.address() as net.AddressInfo).port);
      });
    });
  }

  isListening(): boolean {
    return this.listening && !this.closing;
  }

  activeStreamCount(): number {
    return this.streams.size;
  }

  /**
   * Stops accepting, ends every open stream with UNAVAILABLE (Envoy reconnects, to another replica if
   * there is one), then waits for the connections to close, forcing them after `graceMs`.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.tcp.close();
    this.connections.clear();
    this.resumeReading();
    for (const s of [...this.streams]) {
      this.fail(s, grpc.status.UNAVAILABLE, 'the receiver is shutting down; reconnect');
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.listening = false;
  }

  private openStream(call: AlsCall, callback: grpc.sendUnaryData<Record<string, never>>): void {
    const { metrics } = this.opts;
    if (this.closing) {
      callback({ code: grpc.status.UNAVAILABLE, details: 'the receiver is shutting down; reconnect' });
      return;
    }
    const peer = call.getPeer();
    const address = peerAddress(peer);
    const ofPeer = this.streamsByPeer.get(address) ?? 0;
    if (ofPeer >= this.limits.maxStreamsPerPeer) {
      metrics.streamsEnded.inc({ code: 'RESOURCE_EXHAUSTED' });
      metrics.streamsRefused.inc({ limit: 'peer' });
      callback({
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: `too many open ALS streams from ${address} (limit per peer ${this.limits.maxStreamsPerPeer}); retry later`,
      });
      return;
    }
    if (this.streams.size >= this.limits.maxStreams) {
      metrics.streamsEnded.inc({ code: 'RESOURCE_EXHAUSTED' });
      metrics.streamsRefused.inc({ limit: 'server' });
      callback({
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: `too many open ALS streams (limit ${this.limits.maxStreams}); retry later`,
      });
      return;
    }
    const s = new StreamState(this.nextSeq++, peer, call, callback);
    this.streamsByPeer.set(address, ofPeer + 1);
    // Opened on a connection already past its age (a client that ignored the GOAWAY): moves on at once.
    if (this.connections.isAged(peer)) this.startHandoff(s);
    this.streams.add(s);
    metrics.activeStreams.set(this.streams.size);
    if (this.paused) metrics.streamsPaused.set(this.streams.size);
    call.on('data', (msg: Incoming) => this.onMessage(s, msg));
    // A client's RST_STREAM also ends the readable side, just before grpc-js reports the cancel: decide
    // OK or CANCELLED once that report has had its turn.
    call.on('end', () => setImmediate(() => this.finish(s, call.cancelled ? grpc.status.CANCELLED : grpc.status.OK,
      call.cancelled ? 'cancelled by the client' : undefined)));
    call.on('error', (err: Error) => this.finish(s, grpc.status.CANCELLED, err.message));
    call.on('cancelled', () => this.finish(s, grpc.status.CANCELLED, 'cancelled by the client'));
    if (this.paused) call.pause();
  }

  /** Stops reading every stream until the sink's backpressure is released. */
  private pauseReading(): void {
    if (this.paused || this.shedding || this.closing) return;
    this.paused = true;
    this.pauseTimer = setTimeout(() => {
      this.shedding = true;
      this.logger.warn('sink still full after the longest pause; reading on, the sink drops what does not fit', { pausedMs: this.limits.maxPauseMs });
      this.resumeReading();
    }, this.limits.maxPauseMs);
    for (const s of this.streams) s.call.pause();
    this.opts.metrics.backpressurePauses.inc();
    this.opts.metrics.streamsPaused.set(this.streams.size);
    this.logger.warn('sink queue at its high-water mark; ALS streams paused', { streams: this.streams.size });
  }

  private resumeReading(): void {
    if (!this.paused) return;
    this.paused = false;
    clearTimeout(this.pauseTimer);
    this.opts.metrics.streamsPaused.set(0);
    for (const s of this.streams) s.call.resume();
    this.logger.info('sink queue drained; ALS streams resumed', { streams: this.streams.size });
  }

  private onMessage(s: StreamState, msg: Incoming): void {
    if (s.done) return;
    if (msg instanceof MalformedMessage) {
      this.fail(s, grpc.status.INVALID_ARGUMENT, `malformed StreamAccessLogsMessage: ${msg.reason}`);
      return;
    }
    if (!s.analyzer) {
      // As SkyWalking's handler: the first message names the stream's node, once; without one the stream is
      // still analysed, its side named from empty metadata (the analyzer counts it).
      const node = msg.identifier?.node;
      s.node = node;
      s.nodeId = node?.id ?? '';
      s.analyzer = this.opts.analyzer.forNode(node);
      if (node) this.logger.debug('stream identified', { stream: s.seq, node: s.nodeId });
      else this.logger.warn('the first message of a stream has no identifier.node; its entries are analysed with an unnamed node', { stream: s.seq });
    }
    s.messages++;
    const now = Date.now();
    if (s.lastMessageAt > 0) s.gapMs = s.gapMs === 0 ? now - s.lastMessageAt : 0.8 * s.gapMs + 0.2 * (now - s.lastMessageAt);
    s.lastMessageAt = now;
    this.analyze(s, msg);
    if (s.handoff) {
      if (Date.now() >= s.handoffDeadline) this.handOff(s);
      else this.handOffWhenQuiet(s);
    }
  }

  /** All entries of one message → one batch offered to the sink. */
  private analyze(s: StreamState, msg: StreamAccessLogsMessage): void {
    const { metrics, sink } = this.opts;
    const analyzer = s.analyzer!;
    const http = msg.http_logs?.log_entry;
    const tcp = msg.tcp_logs?.log_entry;
    const kind = http ? 'http' : 'tcp';
    const entries: readonly (HttpAccessLogEntry | TcpAccessLogEntry)[] = http ?? tcp ?? [];
    if (entries.length === 0) return;
    const out: MeshMetric[] = [];
    let analyzed = 0;
    for (const entry of entries) {
      try {
        const produced = http ? analyzer.http(entry as HttpAccessLogEntry) : analyzer.tcp(entry as TcpAccessLogEntry);
        for (const m of produced) out.push(m);
        analyzed++;
      } catch (err) {
        // A bug in analysis must not take the stream down; the entry is counted and skipped.
        metrics.dropped('analysis_error', 1);
        if (analyzed === 0) this.logger.warn('analysis failed', { stream: s.seq, node: s.nodeId, ...errorFields(err) });
      }
    }
    s.received += entries.length;
    s.analyzed += analyzed;
    s.produced += out.length;
    metrics.entriesReceived.inc({ kind }, entries.length);
    if (analyzed > 0) metrics.entriesAnalyzed.inc({ kind }, analyzed);
    metrics.streamEntries.set({ node: s.nodeId, stream: String(s.seq) }, s.received);
    if (out.length > 0) {
      metrics.metricsProduced.inc(out.length);
      sink.offer(out);
      if (sink.backpressure?.engaged) this.pauseReading();
    }
  }

  private startHandoff(s: StreamState): void {
    if (s.handoff) return;
    s.handoff = true;
    // grpc-js may close the connection (grace − 0.2 × age) from now: half of that for a quiet moment,
    // then the stream ends right after its next message.
    const { maxConnectionAgeMs: age, maxConnectionAgeGraceMs: grace } = this.limits;
    s.handoffDeadline = Date.now() + Math.max(0, grace - age / 5) / 2;
    this.handOffWhenQuiet(s);
  }

  /**
   * Ends a stream of an aged connection once it has gone half its usual gap between messages without
   * one. grpc-js discards what arrives on a stream after its status is sent, so the end must come when
   * nothing is on the way: Envoy flushes its ALS buffer every second (or each 16 KiB), so half-way
   * between two flushes is the moment furthest from both. The check runs after an I/O turn
   * (setImmediate), so a message already in the socket (the process was busy) is read first and restarts
   * the wait. Envoy then opens its next stream on a new connection, the GOAWAY having drained the old one.
   */
  private handOffWhenQuiet(s: StreamState): void {
    clearTimeout(s.quietTimer);
    const seen = s.messages;
    const now = Date.now();
    let due = now + HANDOFF_QUIET_MS.unknown;
    if (s.gapMs > 0) {
      // Half-way after the last message; if that has passed (the connection aged late in a gap), the
      // same point of a later gap, should the next message not come.
      const quietMs = Math.min(Math.max(s.gapMs / 2, HANDOFF_QUIET_MS.min), HANDOFF_QUIET_MS.max);
      due = s.lastMessageAt + quietMs;
      if (due < now) due += Math.ceil((now - due) / s.gapMs) * s.gapMs;
    }
    s.quietTimer = setTimeout(() => setImmediate(() => {
      if (s.done || s.messages !== seen) return;
      // Paused for backpressure, the stream may hold unread messages that ending it would discard.
      if (this.paused) this.handOffWhenQuiet(s);
      else this.handOff(s);
    }), due - now);
    s.quietTimer.unref();
  }

  private handOff(s: StreamState): void {
    this.opts.metrics.streamsRebalanced.inc();
    this.logger.debug('stream handed off: its connection aged', { stream: s.seq, node: s.nodeId, peer: s.peer });
    this.finish(s, grpc.status.OK);
  }

  private fail(s: StreamState, code: grpc.status, details: string): void {
    if (s.done) return;
    this.logger.warn('stream failed', { stream: s.seq, node: s.nodeId, code: STATUS_NAME[code], details });
    s.callback({ code, details });
    this.finish(s, code);
  }

  private finish(s: StreamState, code: grpc.status, details?: string): void {
    if (s.done) return;
    s.done = true;
    clearTimeout(s.quietTimer);
    if (code === grpc.status.OK) s.callback(null, {});
    this.streams.delete(s);
    const address = peerAddress(s.peer);
    const left = (this.streamsByPeer.get(address) ?? 1) - 1;
    if (left > 0) this.streamsByPeer.set(address, left);
    else this.streamsByPeer.delete(address);
    const { metrics } = this.opts;
    metrics.activeStreams.set(this.streams.size);
    if (this.paused) metrics.streamsPaused.set(this.streams.size);
    metrics.streamsEnded.inc({ code: STATUS_NAME[code] ?? String(code) });
    metrics.streamEntries.remove({ node: s.nodeId, stream: String(s.seq) });
    this.logger.info('stream ended', {
      stream: s.seq, node: s.nodeId, code: STATUS_NAME[code], details,
      received: s.received, analyzed: s.analyzed, metrics: s.produced,
    });
  }
}

/**
 * Envoy's AccessLogService definition with a deserializer that does not throw: grpc-js would answer a
 * message protobuf cannot decode with INTERNAL; we want the caller told INVALID_ARGUMENT.
 */
function tolerantAlsDefinition(): grpc.ServiceDefinition {
  const base = alsServiceDefinition();
  const method = base.StreamAccessLogs;
  if (!method) throw new Error('Envoy ALS definition has no StreamAccessLogs method');
  return {
    ...base,
    StreamAccessLogs: {
      ...method,
      requestDeserialize: (bytes: Buffer): Incoming => {
        try {
          return method.requestDeserialize(bytes) as StreamAccessLogsMessage;
        } catch (err) {
          return new MalformedMessage(err instanceof Error ? err.message : String(err));
        }
      },
    },
  };
}
