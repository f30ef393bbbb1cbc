// The `oap` sink: SkyWalking's ServiceMeshMetricService/collect, with our own copy of its proto.
//
// Delivery guarantee. Metrics wait in a bounded queue (full → dropped, reason queue_full). Up to
// `maxCallsInFlight` collect calls run at once, spread over `channels` connections (one call at a time,
// or one connection, would leave the receiver idle while each call's bytes crawl through HTTP/2 flow
// control), each carrying up to `maxBatchesPerCall` batches
// (HTTP and TCP never share a batch). A call's batches are checked out of the queue but keep their room
// until the call ends: with status OK they are counted forwarded and their room freed; if it fails (OAP
// down, restarting, deadline) they go back to the head of the queue and are resent after a backoff, on
// a new call.
// Coming back after an outage of any length: every wait is bounded by `retryMaxMs` (default 1 s): the
// channels' own reconnect attempts (grpc-js, ±20 % jitter), and the sink's backoff between calls, which
// while failing sends one call of one batch at a time (a cheap probe). A channel turning READY ends the
// sink's backoff at once, after a random pause of up to READY_JITTER_MS (a fleet of receivers does not
// send in step). So delivery resumes within about 1.2 × retryMaxMs + a call of the OAP's return. So nothing queued is lost while the OAP is away, and each metric is counted forwarded
// exactly once. What the protocol cannot tell us is how much of a call that broke *after* its messages
// were written the OAP had already applied (collect has no per-batch acknowledgement): in that one case
// those batches may reach the OAP twice. Calls are kept short (a few batches) to keep that window small,
// and each failed call is counted (receiver_sink_delivery_failures_total). A call the OAP answers with a
// permanent error (INVALID_ARGUMENT …) is dropped as `rejected` rather than resent forever. On close,
// what is still queued after the deadline is counted `shutdown_timeout`.
// Invariant: produced = forwarded + dropped (all reasons) + queued (queued includes what is in flight).
// Backpressure: at 80 % of capacity the sink asks the ALS server to stop reading (see backpressure.ts),
// so a slow or absent OAP fills the queue and then holds the sidecars back rather than dropping here.
import * as grpc from '@grpc/grpc-js';
import { OapTargetWatch } from './oap-target';
import type { Int64 } from '../analysis/int64';
import type { MeshMetric, HttpMeshMetric, TcpMeshMetric } from '../analysis/mesh-metric';
import type { SinkStats } from '../admin/metrics';
import { errorFields, silentLogger, type Logger } from '../log';
import {
  MESH_METRIC_SERVICE, meshMetricFieldNumbers, meshMetricServiceDefinition, meshMetricsEncoder,
} from './skywalking-protos';
import { Backpressure } from './backpressure';
import { BoundedQueue, Capacity } from './bounded-queue';
import type { Sink } from './sink';

export interface OapSinkOptions {
  /**
   * The OAP's gRPC receiver (11800) as a gRPC target: host:port, dns:///host:port (a headless Service:
   * every OAP pod, calls spread round-robin) or ipv4:ip:port,ip:port.
   */
  address: string;
  /** How often a dns: target is resolved again; a changed answer starts new channels (default 30 s). */
  reresolveMs?: number;
  stats: SinkStats;
  logger?: Logger;
  queueCapacity: number;
  batchSize: number;
  /** A partial batch is sent once its oldest metric has waited this long. */
  flushIntervalMs: number;
  maxBatchesPerCall?: number;
  /** collect calls running at once. */
  maxCallsInFlight?: number;
  /** Connections to the OAP the calls are spread over, each with its own HTTP/2 flow-control window. */
  channels?: number;
  callTimeoutMs?: number;
  backoffInitialMs?: number;
  /**
   * The longest wait between attempts while the OAP is away (default 1000): the channels' reconnect
   * backoff cap, their DNS re-resolution interval, and the sink's own backoff cap.
   */
  retryMaxMs?: number;
}

/** After a channel turns READY, the first call waits a random part of this (fleet jitter). */
const READY_JITTER_MS = 250;

/** Statuses that mean "this content will never be accepted": resending would loop forever. */
const PERMANENT = new Set<grpc.status>([
  grpc.status.INVALID_ARGUMENT, grpc.status.UNIMPLEMENTED, grpc.status.FAILED_PRECONDITION, grpc.status.OUT_OF_RANGE,
]);

export type Batch = { kind: 'http'; metrics: HttpMeshMetric[] } | { kind: 'tcp'; metrics: TcpMeshMetric[] };
/** A batch as the sink queues it: each metric already encoded as its list element. */
type EncodedBatch = { kind: Batch['kind']; elements: Buffer[] };

export class OapSink implements Sink {
  readonly name = 'oap' as const;
  private readonly capacity: Capacity;
  /** Metrics queue as their encoded list elements: bytes, not objects that would live long enough to be promoted. */
  private readonly http: BoundedQueue<Buffer>;
  private readonly tcp: BoundedQueue<Buffer>;
  private clients: grpc.Client[];
  private nextClient = 0;
  /** Calls under way per client: a client replaced after a new DNS answer is closed once it has none. */
  private readonly callsOn = new Map<grpc.Client, number>();
  private readonly retiring = new Set<grpc.Client>();
  private readonly targetWatch: OapTargetWatch | undefined;
  private readonly path: string;
  private readonly logger: Logger;
  private readonly o: Required<Omit<OapSinkOptions, 'logger'>>;
  readonly backpressure: Backpressure;
  private oldestQueuedAt = 0;
  private closing = false;
  private stopped = false;
  private lastCallOk = false;
  /** Calls failed since the last one that ended OK (for the logs). */
  private failedInARow = 0;
  private wake: (() => void) | undefined;
  /** Calls under way: their stream (to cancel on a close deadline) and their end. */
  private readonly inFlight = new Map<grpc.ClientWritableStream<Buffer>, Promise<void>>();
  private backoff: number;
  /** No new call starts before this time (backoff after a failure). */
  private retryAt = 0;
  private readonly loop: Promise<void>;

  constructor(opts: OapSinkOptions) {
    this.o = { maxBatchesPerCall: 4, maxCallsInFlight: 4, channels: 2, callTimeoutMs: 10_000, backoffInitialMs: 250, retryMaxMs: 1000, reresolveMs: 30_000, ...opts };
    this.backoff = this.o.backoffInitialMs;
    this.backpressure = Backpressure.forCapacity(opts.queueCapacity);
    this.logger = opts.logger ?? silentLogger;
    this.capacity = new Capacity(opts.queueCapacity);
    this.http = new BoundedQueue(this.capacity);
    this.tcp = new BoundedQueue(this.capacity);
    const def = meshMetricServiceDefinition();
    const collect = def.collect;
    if (!collect) throw new Error(`${MESH_METRIC_SERVICE} has no collect method`);
    this.path = collect.path;
    this.clients = this.newClients();
    this.deserialize = collect.responseDeserialize as (b: Buffer) => unknown;
    // grpc-js resolves a name again only when a connection fails: an OAP pod added later would never be
    // called. Our own watch of the name starts new channels (a fresh resolution) when its answer changes.
    this.targetWatch = OapTargetWatch.forTarget(opts.address, this.o.reresolveMs, (addresses) => {
      this.logger.info('OAP addresses changed; new channels', { addresses });
      for (const c of this.clients) this.retire(c);
      this.clients = this.newClients();
    });
    this.loop = this.run();
  }

  private newClients(): grpc.Client[] {
    const clients = Array.from({ length: this.o.channels }, () => new grpc.Client(this.o.address, grpc.credentials.createInsecure(), {
      // grpc's default reconnect backoff grows to 120 s: an OAP back after a long outage would wait that
      // long for the next attempt. An attempt to an absent OAP is one refused TCP connection: cheap.
      'grpc.initial_reconnect_backoff_ms': Math.min(this.o.backoffInitialMs, this.o.retryMaxMs),
      'grpc.max_reconnect_backoff_ms': this.o.retryMaxMs,
      // A dns:/// target whose pods all came back with new addresses is resolved again this soon (default 30 s).
      'grpc.dns_min_time_between_resolutions_ms': this.o.retryMaxMs,
      'grpc.keepalive_time_ms': 30_000,
      // A connection of its own (grpc-js would otherwise share one per address).
      'grpc.use_local_subchannel_pool': 1,
      // Every address the target resolves to (each OAP pod of a headless Service) takes calls in turn;
      // an address that is down is skipped until it reconnects.
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    }));
    for (const c of clients) {
      this.callsOn.set(c, 0);
      c.getChannel().getConnectivityState(true); // connect now, so /readyz turns green early
      this.watchReady(c.getChannel());
    }
    return clients;
  }

  /** Ends the backoff whenever `channel` turns READY: the OAP is there again, so try now. */
  private watchReady(channel: ReturnType<grpc.Client["getChannel"]>): void {
    const watch = (last: grpc.connectivityState): void => {
      if (last === grpc.connectivityState.SHUTDOWN) return;
      channel.watchConnectivityState(last, Infinity, () => {
        const now = channel.getConnectivityState(false);
        if (now === grpc.connectivityState.READY && !this.stopped && this.retryAt > Date.now()) {
          this.retryAt = Date.now() + Math.random() * READY_JITTER_MS;
          this.backoff = this.o.backoffInitialMs;
          this.wake?.();
        }
        watch(now);
      });
    };
    watch(channel.getConnectivityState(false));
  }

  /** Closes a replaced client once its calls have ended. */
  private retire(client: grpc.Client): void {
    if ((this.callsOn.get(client) ?? 0) === 0) {
      this.callsOn.delete(client);
      client.close();
    } else {
      this.retiring.add(client);
    }
  }

  /** Metrics are encoded by BatchEncoder as they are offered; calls write its frames of them. */
  private readonly serialize = (b: Buffer): Buffer => b;
  private readonly encoder = new BatchEncoder();
  private readonly deserialize: (b: Buffer) => unknown;

  offer(metrics: readonly MeshMetric[]): number {
    if (this.closing) {
      this.o.stats.dropped('shutting_down', metrics.length);
      return 0;
    }
    const wasEmpty = this.pending() === 0;
    let accepted = 0;
    // Encoded now, and only what fits (HTTP first, as the queues take them): the rest is dropped.
    let httpCount = 0;
    for (const m of metrics) if (m.kind === 'http') httpCount++;
    let httpRoom = Math.min(httpCount, this.capacity.free);
    let tcpRoom = Math.min(metrics.length - httpCount, this.capacity.free - httpRoom);
    const httpPart: Buffer[] = [];
    const tcpPart: Buffer[] = [];
    for (const m of metrics) {
      if (m.kind === 'http') {
        if (httpRoom-- > 0) httpPart.push(this.encoder.element(m));
      } else if (tcpRoom-- > 0) tcpPart.push(this.encoder.element(m));
    }
    if (httpPart.length) accepted += this.http.push(httpPart);
    if (tcpPart.length) accepted += this.tcp.push(tcpPart);
    if (accepted < metrics.length) this.o.stats.dropped('queue_full', metrics.length - accepted);
    if (wasEmpty && accepted > 0) this.oldestQueuedAt = Date.now();
    this.depthChanged();
    if (this.http.length >= this.o.batchSize || this.tcp.length >= this.o.batchSize) this.wake?.();
    return accepted;
  }

  /** Waiting and not in flight. */
  private pending(): number {
    return this.http.length + this.tcp.length;
  }

  private depthChanged(): void {
    this.o.stats.queueDepth(this.capacity.used);
    this.backpressure.update(this.capacity.used);
  }

  /**
   * Ready while some channel is READY (round_robin: at least one OAP pod connected; calls skip the others)
   * or the last call ended OK (channels just replaced after a DNS change are still connecting).
   */
  isReady(): boolean {
    return this.lastCallOk || this.clients.some((c) => c.getChannel().getConnectivityState(false) === grpc.connectivityState.READY);
  }

  /** Metrics still waiting (for tests and shutdown logs). */
  queued(): number {
    return this.capacity.used;
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.closing) return this.loop;
    this.closing = true;
    // Try at once rather than sit out a long backoff: the OAP may well be back.
    this.retryAt = 0;
    this.backoff = this.o.backoffInitialMs;
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
    const outcome = await Promise.race([this.loop.then(() => 'drained' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.stopped = true;
      for (const call of this.inFlight.keys()) call.cancel();
      this.wake?.();
      await this.loop;
      const left = this.capacity.used;
      this.o.stats.dropped('shutdown_timeout', left);
      this.http.take(this.http.length);
      this.tcp.take(this.tcp.length);
      this.depthChanged();
      this.logger.warn('oap sink closed with metrics undelivered', { dropped: left });
    }
    this.targetWatch?.stop();
    for (const c of [...this.clients, ...this.retiring]) c.close();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.pending() === 0) {
        if (this.closing && this.inFlight.size === 0) return;
        // Woken by an offer that fills a batch, or by a call's end.
        await this.sleep(this.inFlight.size > 0 ? this.o.callTimeoutMs : this.o.flushIntervalMs);
        continue;
      }
      // While calls fail, one call of one batch at a time probes the OAP: cheap, and nothing piles up.
      if (this.inFlight.size >= (this.lastCallOk ? this.o.maxCallsInFlight : 1)) {
        await this.sleep(this.o.callTimeoutMs);
        continue;
      }
      const backingOff = this.retryAt - Date.now();
      if (backingOff > 0) {
        await this.sleep(backingOff);
        continue;
      }
      const fullBatch = this.http.length >= this.o.batchSize || this.tcp.length >= this.o.batchSize;
      const waited = Date.now() - this.oldestQueuedAt;
      if (!fullBatch && !this.closing && waited < this.o.flushIntervalMs) {
        await this.sleep(this.o.flushIntervalMs - waited);
        continue;
      }
      this.startCall();
    }
    // Stopped at the close deadline: the cancelled calls put their batches back before we count them.
    await Promise.all(this.inFlight.values());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() { clearTimeout(timer); resolve(); }
      this.wake = () => { this.wake = undefined; done(); };
    });
  }

  /** The next batches, HTTP and TCP in turn, checked out of their queues. */
  private nextBatches(): EncodedBatch[] {
    const batches: EncodedBatch[] = [];
    const most = this.lastCallOk ? this.o.maxBatchesPerCall : 1;
    while (batches.length < most) {
      const before = batches.length;
      if (this.http.length > 0) batches.push({ kind: 'http', elements: this.http.checkout(this.o.batchSize) });
      if (this.tcp.length > 0 && batches.length < most) {
        batches.push({ kind: 'tcp', elements: this.tcp.checkout(this.o.batchSize) });
      }
      if (batches.length === before) break;
    }
    return batches;
  }

  private startCall(): void {
    const batches = this.nextBatches();
    const count = batches.reduce((n, b) => n + b.elements.length, 0);
    let call!: grpc.ClientWritableStream<Buffer>;
    const ended = new Promise<void>((resolve) => {
      const client = this.clients[this.nextClient++ % this.clients.length]!;
      this.callsOn.set(client, (this.callsOn.get(client) ?? 0) + 1);
      call = client.makeClientStreamRequest(
        this.path, this.serialize, this.deserialize, new grpc.Metadata(),
        { deadline: Date.now() + this.o.callTimeoutMs },
        (err) => {
          this.inFlight.delete(call);
          this.callsOn.set(client, this.callsOn.get(client)! - 1);
          if (this.retiring.has(client) && this.callsOn.get(client) === 0) {
            this.retiring.delete(client);
            this.retire(client);
          }
          this.o.stats.oapCall?.(peerOf(call), !err ? 'ok' : PERMANENT.has(err.code) ? 'rejected' : 'failed');
          this.callEnded(batches, count, err);
          resolve();
          this.wake?.();
        },
      );
    });
    this.inFlight.set(call, ended);
    for (const b of batches) call.write(this.encoder.frame(b.kind, b.elements));
    call.end();
  }

  private callEnded(batches: EncodedBatch[], count: number, err: grpc.ServiceError | null): void {
    if (!err) {
      this.release(batches);
      this.o.stats.forwarded(count);
      if (this.failedInARow > 0) this.logger.info('OAP calls succeed again', { failedCalls: this.failedInARow, queued: this.capacity.used });
      this.failedInARow = 0;
      this.lastCallOk = true;
      this.backoff = this.o.backoffInitialMs;
      return;
    }
    this.lastCallOk = false;
    if (PERMANENT.has(err.code)) {
      this.release(batches);
      this.o.stats.dropped('rejected', count);
      this.logger.error('OAP rejected a call; its metrics are dropped', { metrics: count, ...errorFields(err) });
      return;
    }
    // Back at the head, in their order, to be resent as soon as the backoff allows.
    for (const b of [...batches].reverse()) {
      if (b.kind === 'http') this.http.putBack(b.elements);
      else this.tcp.putBack(b.elements);
    }
    this.oldestQueuedAt = 0;
    this.o.stats.deliveryFailed();
    if (Date.now() >= this.retryAt) {
      // Full jitter keeps a fleet of receivers from reconnecting in step; calls failing together back off once.
      this.retryAt = Date.now() + this.backoff / 2 + Math.random() * (this.backoff / 2);
      this.backoff = Math.min(this.backoff * 2, this.o.retryMaxMs);
    }
    // Retries come every second while the OAP is away: the first failure of a run is a warning, the rest debug.
    if (!this.stopped) {
      const log = this.failedInARow++ === 0 ? this.logger.warn : this.logger.debug;
      log.call(this.logger, 'OAP call failed; metrics stay queued', { metrics: count, queued: this.capacity.used, ...errorFields(err) });
    }
  }

  private release(batches: EncodedBatch[]): void {
    for (const b of batches) (b.kind === 'http' ? this.http : this.tcp).release(b.elements.length);
    this.depthChanged();
  }
}

/** The OAP address a call went to ("unknown" when it never reached one). */
function peerOf(call: grpc.ClientWritableStream<Buffer>): string {
  try {
    return call.getPeer() || 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Batches as collect request bytes, the hot half of the sink. It writes the protobuf wire format itself
 * (tags from the .proto's field numbers, meshMetricFieldNumbers) because most of a metric repeats from one
 * metric to the next: the four service/instance names of a (source, dest) pair, the endpoint, the TLS
 * mode and each workload's instance properties are UTF-8 encoded once, with their tags, and copied after
 * that; UTF-8 string writes were the largest part of the sink's time with protobufjs. The bytes are those
 * protobufjs writes for the same message (every scalar written, even zero or empty; empty lists not at
 * all): test/receiver/oap-encoder.test.ts holds the two encoders together and decodes the result.
 * Each metric is sized first, then written into a Buffer of exactly that length; a batch is a header
 * and a copy of its metrics' bytes.
 */
export class BatchEncoder {
  private readonly f = meshMetricFieldNumbers();
  private readonly enums = meshMetricsEncoder().enumNumbers;
  /** (source service, source instance, dest service, dest instance) → their four fields, tags included. */
  private names = new Map<string, Map<string, Map<string, Map<string, Buffer>>>>();
  private namesCount = 0;
  /** One string field (tag + length + UTF-8) per value, by field number. */
  private readonly strings = new Map<number, Map<string, Buffer>>();
  /** An instance-properties map as its repeated field, by field number (analysis shares one map per workload). */
  private readonly props = new Map<number, WeakMap<Record<string, string>, Buffer>>();
  /** The cached pieces of the metric being encoded (see sizeHttp). */
  private readonly pieces: Buffer[] = [];
  private readonly listTag = tag(this.f.list.metrics, LEN);

  constructor() {
    for (const name of NAME_FIELDS) {
      if (this.f.http[name] !== this.f.tcp[name]) {
        throw new Error(`${name} is field ${this.f.http[name]} of HTTP metrics but ${this.f.tcp[name]} of TCP ones; the name cache assumes one number`);
      }
    }
  }

  /** One batch as a ServiceMeshMetrics message. */
  encode(b: Batch): Buffer {
    return this.frame(b.kind, b.metrics.map((m) => this.element(m)));
  }

  /**
   * One metric as an element of its list (HTTPServiceMeshMetrics/TCPServiceMeshMetrics field 1: tag,
   * length, body). The sink queues these bytes rather than the metric objects (see offer).
   */
  element(m: MeshMetric): Buffer {
    const listTag = this.listTag;
    const n = m.kind === 'http' ? this.sizeHttp(m, 0) : this.sizeTcp(m, 0);
    const out = Buffer.allocUnsafe(varintSize(listTag) + varintSize(n) + n);
    const pos = writeVarint(out, writeVarint(out, 0, listTag), n);
    const end = m.kind === 'http' ? this.writeHttp(out, pos, m, 0) : this.writeTcp(out, pos, m, 0);
    if (end !== out.length) throw new Error(`BatchEncoder wrote ${end} bytes, sized ${out.length}`);
    return out;
  }

  /** List elements of one kind as one ServiceMeshMetrics message. */
  frame(kind: Batch['kind'], elements: readonly Buffer[]): Buffer {
    let listLength = 0;
    for (const e of elements) listLength += e.length;
    const batchTag = tag(kind === 'http' ? this.f.batch.httpMetrics : this.f.batch.tcpMetrics, LEN);
    const out = Buffer.allocUnsafe(varintSize(batchTag) + varintSize(listLength) + listLength);
    let pos = writeVarint(out, 0, batchTag);
    pos = writeVarint(out, pos, listLength);
    for (const e of elements) pos = copy(out, pos, e);
    return out;
  }

  // Pieces per metric, in field order: names (3-6), endpoint, tlsMode, internalErrorCode, source and dest properties.
  private sizeHttp(m: HttpMeshMetric, p: number): number {
    const f = this.f.http;
    const pc = this.pieces;
    pc[p] = this.nameFields(m, f);
    pc[p + 1] = this.string(f.endpoint, m.endpoint);
    pc[p + 2] = this.string(f.tlsMode, m.tlsMode);
    pc[p + 3] = this.string(f.internalErrorCode, m.internalErrorCode);
    pc[p + 4] = this.properties(f.sourceInstanceProperties, m.sourceInstanceProperties);
    pc[p + 5] = this.properties(f.destInstanceProperties, m.destInstanceProperties);
    return pc[p]!.length + pc[p + 1]!.length + pc[p + 2]!.length + pc[p + 3]!.length + pc[p + 4]!.length + pc[p + 5]!.length +
      varintField(f.startTime, m.startTime) + varintField(f.endTime, m.endTime) +
      varintField(f.latency, m.latency) + varintField(f.responseCode, m.responseCode) + varintField(f.status, m.status ? 1 : 0) +
      varintField(f.protocol, this.enums.protocol[m.protocol]) + varintField(f.detectPoint, this.enums.detectPoint[m.detectPoint]) +
      varintField(f.internalRequestLatencyNanos, m.internalRequestLatencyNanos) +
      varintField(f.internalResponseLatencyNanos, m.internalResponseLatencyNanos);
  }

  private writeHttp(out: Buffer, pos: number, m: HttpMeshMetric, p: number): number {
    const f = this.f.http;
    const pc = this.pieces;
    pos = writeVarintField(out, pos, f.startTime, m.startTime);
    pos = writeVarintField(out, pos, f.endTime, m.endTime);
    pos = copy(out, pos, pc[p]!);
    pos = copy(out, pos, pc[p + 1]!);
    pos = writeVarintField(out, pos, f.latency, m.latency);
    pos = writeVarintField(out, pos, f.responseCode, m.responseCode);
    pos = writeVarintField(out, pos, f.status, m.status ? 1 : 0);
    pos = writeVarintField(out, pos, f.protocol, this.enums.protocol[m.protocol]);
    pos = writeVarintField(out, pos, f.detectPoint, this.enums.detectPoint[m.detectPoint]);
    pos = copy(out, pos, pc[p + 2]!);
    pos = copy(out, pos, pc[p + 3]!);
    pos = writeVarintField(out, pos, f.internalRequestLatencyNanos, m.internalRequestLatencyNanos);
    pos = writeVarintField(out, pos, f.internalResponseLatencyNanos, m.internalResponseLatencyNanos);
    pos = copy(out, pos, pc[p + 4]!);
    return copy(out, pos, pc[p + 5]!);
  }

  private sizeTcp(m: TcpMeshMetric, p: number): number {
    const f = this.f.tcp;
    const pc = this.pieces;
    pc[p] = this.nameFields(m, f);
    pc[p + 1] = EMPTY;
    pc[p + 2] = this.string(f.tlsMode, m.tlsMode);
    pc[p + 3] = this.string(f.internalErrorCode, m.internalErrorCode);
    pc[p + 4] = this.properties(f.sourceInstanceProperties, m.sourceInstanceProperties);
    pc[p + 5] = this.properties(f.destInstanceProperties, m.destInstanceProperties);
    return pc[p]!.length + pc[p + 2]!.length + pc[p + 3]!.length + pc[p + 4]!.length + pc[p + 5]!.length +
      varintField(f.startTime, m.startTime) + varintField(f.endTime, m.endTime) +
      varintField(f.detectPoint, this.enums.detectPoint[m.detectPoint]) +
      varintField(f.internalRequestLatencyNanos, m.internalRequestLatencyNanos) +
      varintField(f.internalResponseLatencyNanos, m.internalResponseLatencyNanos) +
      varintField(f.receivedBytes, m.receivedBytes) + varintField(f.sentBytes, m.sentBytes);
  }

  private writeTcp(out: Buffer, pos: number, m: TcpMeshMetric, p: number): number {
    const f = this.f.tcp;
    const pc = this.pieces;
    pos = writeVarintField(out, pos, f.startTime, m.startTime);
    pos = writeVarintField(out, pos, f.endTime, m.endTime);
    pos = copy(out, pos, pc[p]!);
    pos = writeVarintField(out, pos, f.detectPoint, this.enums.detectPoint[m.detectPoint]);
    pos = copy(out, pos, pc[p + 2]!);
    pos = copy(out, pos, pc[p + 3]!);
    pos = writeVarintField(out, pos, f.internalRequestLatencyNanos, m.internalRequestLatencyNanos);
    pos = writeVarintField(out, pos, f.internalResponseLatencyNanos, m.internalResponseLatencyNanos);
    pos = copy(out, pos, pc[p + 4]!);
    pos = copy(out, pos, pc[p + 5]!);
    pos = writeVarintField(out, pos, f.receivedBytes, m.receivedBytes);
    return writeVarintField(out, pos, f.sentBytes, m.sentBytes);
  }

  /** Fields 3-6 of either metric type (same numbers in both, checked): one cached piece per pair. */
  private nameFields(m: MeshMetric, f: Record<typeof NAME_FIELDS[number], number>): Buffer {
    // Bounded: a churning fleet (pod names) must not grow this forever; starting over costs one encode each.
    if (this.namesCount >= MAX_CACHED) { this.names = new Map(); this.namesCount = 0; }
    let a = this.names.get(m.sourceServiceName);
    if (!a) this.names.set(m.sourceServiceName, (a = new Map()));
    let b = a.get(m.sourceServiceInstance);
    if (!b) a.set(m.sourceServiceInstance, (b = new Map()));
    let c = b.get(m.destServiceName);
    if (!c) b.set(m.destServiceName, (c = new Map()));
    let bytes = c.get(m.destServiceInstance);
    if (!bytes) {
      bytes = Buffer.concat([
        stringField(f.sourceServiceName, m.sourceServiceName), stringField(f.sourceServiceInstance, m.sourceServiceInstance),
        stringField(f.destServiceName, m.destServiceName), stringField(f.destServiceInstance, m.destServiceInstance),
      ]);
      this.namesCount++;
      c.set(m.destServiceInstance, bytes);
    }
    return bytes;
  }

  private string(field: number, value: string): Buffer {
    let cache = this.strings.get(field);
    if (!cache) this.strings.set(field, (cache = new Map()));
    let bytes = cache.get(value);
    if (!bytes) {
      if (cache.size >= MAX_CACHED) cache.clear(); // endpoints can be many (paths with ids): bounded
      cache.set(value, (bytes = stringField(field, value)));
    }
    return bytes;
  }

  private properties(field: number, props: Record<string, string>): Buffer {
    let cache = this.props.get(field);
    if (!cache) this.props.set(field, (cache = new WeakMap()));
    let bytes = cache.get(props);
    if (!bytes) {
      const parts: Buffer[] = [];
      for (const key in props) {
        const pair = Buffer.concat([stringField(this.f.pair.key, key), stringField(this.f.pair.value, props[key]!)]);
        parts.push(lengthDelimited(field, pair));
      }
      cache.set(props, (bytes = Buffer.concat(parts)));
    }
    return bytes;
  }
}

const NAME_FIELDS = ['sourceServiceName', 'sourceServiceInstance', 'destServiceName', 'destServiceInstance'] as const;
/** Entries per string cache before it starts over. */
const MAX_CACHED = 10_000;
const EMPTY = Buffer.alloc(0);
/** Wire types. */
const VARINT = 0;
const LEN = 2;

function tag(field: number, wireType: number): number {
  return field * 8 + wireType;
}

function stringField(field: number, value: string): Buffer {
  return lengthDelimited(field, Buffer.from(value, 'utf8'));
}

function lengthDelimited(field: number, body: Buffer): Buffer {
  const t = tag(field, LEN);
  const out = Buffer.allocUnsafe(varintSize(t) + varintSize(body.length) + body.length);
  const pos = writeVarint(out, writeVarint(out, 0, t), body.length);
  body.copy(out, pos);
  return out;
}

/**
 * Bytes of a varint of an integer as protobuf's int32/int64/uint64/bool/enum carry it: a negative value
 * is its 64-bit two's complement (10 bytes), as protobufjs writes it; a BigInt (an int64/uint64 beyond
 * 2^53: byte counts, nanoseconds) is written exactly, its low 64 bits.
 */
function varintSize(n: Int64): number {
  if (typeof n === 'bigint' || n < 0) return bigVarintSize(n);
  let size = 1;
  while (n >= 128) { n = Math.floor(n / 128); size++; }
  return size;
}

function bigVarintSize(n: Int64): number {
  let v = BigInt.asUintN(64, BigInt(n));
  let size = 1;
  while (v >= 128n) { v >>= 7n; size++; }
  return size;
}

function varintField(field: number, n: Int64): number {
  return varintSize(tag(field, VARINT)) + varintSize(n);
}

function writeVarint(out: Buffer, pos: number, n: Int64): number {
  if (typeof n === 'bigint' || n < 0) {
    let v = BigInt.asUintN(64, typeof n === 'bigint' ? n : BigInt(Math.trunc(n)));
    while (v >= 128n) { out[pos++] = Number(v & 127n) | 128; v >>= 7n; }
    out[pos++] = Number(v);
    return pos;
  }
  while (n >= 0x80000000) { out[pos++] = (n % 128) | 128; n = Math.floor(n / 128); } // beyond 32-bit ops
  while (n >= 128) { out[pos++] = (n & 127) | 128; n >>>= 7; }
  out[pos++] = n;
  return pos;
}

function writeVarintField(out: Buffer, pos: number, field: number, n: Int64): number {
  return writeVarint(out, writeVarint(out, pos, tag(field, VARINT)), n);
}

function copy(out: Buffer, pos: number, piece: Buffer): number {
  out.set(piece, pos);
  return pos + piece.length;
}
