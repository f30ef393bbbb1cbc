// The `oap` sink: SkyWalking's ServiceMeshMetricService/collect, with our own copy of its proto.
//
// Delivery guarantee. Metrics wait in a bounded queue (full → dropped, reason queue_full). Up to
// `maxCallsInFlight` collect calls run at once, spread over `channels` connections (one call at a time,
// or one connection, would leave the receiver idle while each call's bytes crawl through HTTP/2 flow
// control), each carrying up to `maxBatchesPerCall` batches
// (HTTP and TCP never share a batch). A call's batches are checked out of the queue but keep their room
// until the call ends: with status OK they are counted forwarded and their room freed; if it fails (OAP
// down, restarting, deadline) they go back to the head of the queue and are resent after a backoff, on
// a new call. So nothing queued is lost while the OAP is away, and each metric is counted forwarded
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
import type { MeshMetric, HttpMeshMetric, TcpMeshMetric } from '../mesh-metric';
import type { SinkStats } from '../metrics';
import { errorFields, silentLogger, type Logger } from '../log';
import {
  MESH_METRIC_SERVICE, meshMetricServiceDefinition, meshMetricsEncoder,
  type EncodableServiceMeshMetrics, type HttpMeshMetricWire, type KeyStringValuePair, type ServiceMeshMetricsWire,
  type TcpMeshMetricWire,
} from '../skywalking-protos';
import { Backpressure } from './backpressure';
import { BoundedQueue, Capacity } from './bounded-queue';
import type { Sink } from './sink';

export interface OapSinkOptions {
  /** host:port of the OAP's gRPC receiver (11800). */
  address: string;
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
  backoffMaxMs?: number;
}

/** Statuses that mean "this content will never be accepted": resending would loop forever. */
const PERMANENT = new Set<grpc.status>([
  grpc.status.INVALID_ARGUMENT, grpc.status.UNIMPLEMENTED, grpc.status.FAILED_PRECONDITION, grpc.status.OUT_OF_RANGE,
]);

type Batch = { kind: 'http'; metrics: HttpMeshMetric[] } | { kind: 'tcp'; metrics: TcpMeshMetric[] };

export class OapSink implements Sink {
  readonly name = 'oap' as const;
  private readonly capacity: Capacity;
  private readonly http: BoundedQueue<HttpMeshMetric>;
  private readonly tcp: BoundedQueue<TcpMeshMetric>;
  private readonly clients: grpc.Client[];
  private nextClient = 0;
  private readonly path: string;
  private readonly logger: Logger;
  private readonly o: Required<Omit<OapSinkOptions, 'logger'>>;
  readonly backpressure: Backpressure;
  private oldestQueuedAt = 0;
  private closing = false;
  private stopped = false;
  private lastCallOk = false;
  private wake: (() => void) | undefined;
  /** Calls under way: their stream (to cancel on a close deadline) and their end. */
  private readonly inFlight = new Map<grpc.ClientWritableStream<Buffer>, Promise<void>>();
  private backoff: number;
  /** No new call starts before this time (backoff after a failure). */
  private retryAt = 0;
  private readonly loop: Promise<void>;

  constructor(opts: OapSinkOptions) {
    this.o = { maxBatchesPerCall: 4, maxCallsInFlight: 4, channels: 2, callTimeoutMs: 10_000, backoffInitialMs: 250, backoffMaxMs: 30_000, ...opts };
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
    this.clients = Array.from({ length: this.o.channels }, () => new grpc.Client(opts.address, grpc.credentials.createInsecure(), {
      // The channel's own reconnect backoff must not outwait ours (grpc's default max is 120 s).
      'grpc.initial_reconnect_backoff_ms': this.o.backoffInitialMs,
      'grpc.max_reconnect_backoff_ms': this.o.backoffMaxMs,
      'grpc.keepalive_time_ms': 30_000,
      // A connection of its own (grpc-js would otherwise share one per address).
      'grpc.use_local_subchannel_pool': 1,
    }));
    for (const c of this.clients) c.getChannel().getConnectivityState(true); // connect now, so /readyz turns green early
    this.deserialize = collect.responseDeserialize as (b: Buffer) => unknown;
    this.loop = this.run();
  }

  /** Batches are encoded by BatchEncoder before they are written. */
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
    // Metrics of one message are nearly always one kind: split only when needed.
    const httpPart: HttpMeshMetric[] = [];
    const tcpPart: TcpMeshMetric[] = [];
    for (const m of metrics) {
      if (m.kind === 'http') httpPart.push(m);
      else tcpPart.push(m);
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

  isReady(): boolean {
    return this.clients.some((c) => {
      const state = c.getChannel().getConnectivityState(false);
      return state === grpc.connectivityState.READY || (state === grpc.connectivityState.IDLE && this.lastCallOk);
    });
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
    for (const c of this.clients) c.close();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.pending() === 0) {
        if (this.closing && this.inFlight.size === 0) return;
        // Woken by an offer that fills a batch, or by a call's end.
        await this.sleep(this.inFlight.size > 0 ? this.o.callTimeoutMs : this.o.flushIntervalMs);
        continue;
      }
      if (this.inFlight.size >= this.o.maxCallsInFlight) {
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
  private nextBatches(): Batch[] {
    const batches: Batch[] = [];
    while (batches.length < this.o.maxBatchesPerCall) {
      const before = batches.length;
      if (this.http.length > 0) batches.push({ kind: 'http', metrics: this.http.checkout(this.o.batchSize) });
      if (this.tcp.length > 0 && batches.length < this.o.maxBatchesPerCall) {
        batches.push({ kind: 'tcp', metrics: this.tcp.checkout(this.o.batchSize) });
      }
      if (batches.length === before) break;
    }
    return batches;
  }

  private startCall(): void {
    const batches = this.nextBatches();
    const count = batches.reduce((n, b) => n + b.metrics.length, 0);
    let call!: grpc.ClientWritableStream<Buffer>;
    const ended = new Promise<void>((resolve) => {
      const client = this.clients[this.nextClient++ % this.clients.length]!;
      call = client.makeClientStreamRequest(
        this.path, this.serialize, this.deserialize, new grpc.Metadata(),
        { deadline: Date.now() + this.o.callTimeoutMs },
        (err) => {
          this.inFlight.delete(call);
          this.callEnded(batches, count, err);
          resolve();
          this.wake?.();
        },
      );
    });
    this.inFlight.set(call, ended);
    for (const b of batches) call.write(this.encoder.encode(b));
    call.end();
  }

  private callEnded(batches: Batch[], count: number, err: grpc.ServiceError | null): void {
    if (!err) {
      this.release(batches);
      this.o.stats.forwarded(count);
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
      if (b.kind === 'http') this.http.putBack(b.metrics);
      else this.tcp.putBack(b.metrics);
    }
    this.oldestQueuedAt = 0;
    this.o.stats.deliveryFailed();
    if (Date.now() >= this.retryAt) {
      // Full jitter keeps a fleet of receivers from reconnecting in step; calls failing together back off once.
      this.retryAt = Date.now() + this.backoff / 2 + Math.random() * (this.backoff / 2);
      this.backoff = Math.min(this.backoff * 2, this.o.backoffMaxMs);
    }
    if (!this.stopped) {
      this.logger.warn('OAP call failed; metrics stay queued', { metrics: count, queued: this.capacity.used, ...errorFields(err) });
    }
  }

  private release(batches: Batch[]): void {
    for (const b of batches) (b.kind === 'http' ? this.http : this.tcp).release(b.metrics.length);
    this.depthChanged();
  }
}

/**
 * Batches as collect request bytes, the hot half of the sink: enums as numbers and protobufjs's encoder
 * run on plain objects (no proto-loader fromObject copy), and each instance-properties map turned into
 * its key/value list once (analysis shares one map per workload across all its metrics).
 */
class BatchEncoder {
  private readonly e = meshMetricsEncoder();
  private readonly pairCache = new WeakMap<Record<string, string>, KeyStringValuePair[]>();

  encode(b: Batch): Buffer {
    const { protocol, detectPoint } = this.e.enumNumbers;
    // Object literals written out field by field: spreading a shared part costs an extra object per metric.
    const msg: EncodableServiceMeshMetrics = b.kind === 'http'
      ? { httpMetrics: { metrics: b.metrics.map((m) => ({
        startTime: m.startTime, endTime: m.endTime,
        sourceServiceName: m.sourceServiceName, sourceServiceInstance: m.sourceServiceInstance,
        destServiceName: m.destServiceName, destServiceInstance: m.destServiceInstance,
        endpoint: m.endpoint, latency: m.latency, responseCode: m.responseCode, status: m.status,
        protocol: protocol[m.protocol], detectPoint: detectPoint[m.detectPoint], tlsMode: m.tlsMode,
        internalErrorCode: m.internalErrorCode,
        internalRequestLatencyNanos: m.internalRequestLatencyNanos, internalResponseLatencyNanos: m.internalResponseLatencyNanos,
        sourceInstanceProperties: this.pairs(m.sourceInstanceProperties), destInstanceProperties: this.pairs(m.destInstanceProperties),
      })) } }
      : { tcpMetrics: { metrics: b.metrics.map((m) => ({
        startTime: m.startTime, endTime: m.endTime,
        sourceServiceName: m.sourceServiceName, sourceServiceInstance: m.sourceServiceInstance,
        destServiceName: m.destServiceName, destServiceInstance: m.destServiceInstance,
        detectPoint: detectPoint[m.detectPoint], tlsMode: m.tlsMode, internalErrorCode: m.internalErrorCode,
        internalRequestLatencyNanos: m.internalRequestLatencyNanos, internalResponseLatencyNanos: m.internalResponseLatencyNanos,
        sourceInstanceProperties: this.pairs(m.sourceInstanceProperties), destInstanceProperties: this.pairs(m.destInstanceProperties),
        receivedBytes: m.receivedBytes, sentBytes: m.sentBytes,
      })) } };
    return this.e.encode(msg);
  }

  private pairs(props: Record<string, string>): KeyStringValuePair[] {
    let list = this.pairCache.get(props);
    if (!list) this.pairCache.set(props, (list = pairs(props)));
    return list;
  }
}

function pairs(props: Record<string, string>): KeyStringValuePair[] {
  const out: KeyStringValuePair[] = [];
  for (const key in props) out.push({ key, value: props[key]! });
  return out;
}

function httpWire(m: HttpMeshMetric): HttpMeshMetricWire {
  return {
    startTime: m.startTime, endTime: m.endTime,
    sourceServiceName: m.sourceServiceName, sourceServiceInstance: m.sourceServiceInstance,
    destServiceName: m.destServiceName, destServiceInstance: m.destServiceInstance,
    endpoint: m.endpoint, latency: m.latency, responseCode: m.responseCode, status: m.status,
    protocol: m.protocol, detectPoint: m.detectPoint, tlsMode: m.tlsMode, internalErrorCode: m.internalErrorCode,
    internalRequestLatencyNanos: m.internalRequestLatencyNanos, internalResponseLatencyNanos: m.internalResponseLatencyNanos,
    sourceInstanceProperties: pairs(m.sourceInstanceProperties), destInstanceProperties: pairs(m.destInstanceProperties),
  };
}

function tcpWire(m: TcpMeshMetric): TcpMeshMetricWire {
  return {
    startTime: m.startTime, endTime: m.endTime,
    sourceServiceName: m.sourceServiceName, sourceServiceInstance: m.sourceServiceInstance,
    destServiceName: m.destServiceName, destServiceInstance: m.destServiceInstance,
    detectPoint: m.detectPoint, tlsMode: m.tlsMode, internalErrorCode: m.internalErrorCode,
    internalRequestLatencyNanos: m.internalRequestLatencyNanos, internalResponseLatencyNanos: m.internalResponseLatencyNanos,
    sourceInstanceProperties: pairs(m.sourceInstanceProperties), destInstanceProperties: pairs(m.destInstanceProperties),
    receivedBytes: m.receivedBytes, sentBytes: m.sentBytes,
  };
}

/** One ServiceMeshMetrics message, exported for tests that check the mapping field by field. */
export function toWire(b: Batch): ServiceMeshMetricsWire {
  return b.kind === 'http'
    ? { httpMetrics: { metrics: b.metrics.map(httpWire) } }
    : { tcpMetrics: { metrics: b.metrics.map(tcpWire) } };
}
