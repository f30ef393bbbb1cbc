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
import type { MeshMetric } from '../analysis/mesh-metric';
import type { SinkStats } from '../admin/metrics';
import { errorFields, silentLogger, type Logger } from '../log';
import { MESH_METRIC_SERVICE, meshMetricServiceDefinition } from './skywalking-protos';
import { Backpressure } from './backpressure';
import { BatchQueue, Capacity, type EncodedBatch } from './batch-queue';
import { BatchEncoder } from './oap-encoder';
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

export class OapSink implements Sink {
  readonly name = 'oap' as const;
  private readonly capacity: Capacity;
  /** Metrics queue as collect-request bytes, a buffer per batch (batch-queue.ts). */
  private readonly http: BatchQueue;
  private readonly tcp: BatchQueue;
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
    this.o = { maxBatchesPerCall: 4, maxCallsInFlight: 8, channels: 2, callTimeoutMs: 10_000, backoffInitialMs: 250, retryMaxMs: 1000, reresolveMs: 30_000, ...opts };
    this.backoff = this.o.backoffInitialMs;
    this.backpressure = Backpressure.forCapacity(opts.queueCapacity);
    this.logger = opts.logger ?? silentLogger;
    this.capacity = new Capacity(opts.queueCapacity);
    const encoder = new BatchEncoder();
    this.http = new BatchQueue('http', this.capacity, opts.batchSize, encoder);
    this.tcp = new BatchQueue('tcp', this.capacity, opts.batchSize, encoder);
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

  /** Metrics are encoded as they are offered (BatchQueue); calls write their batches' bytes. */
  private readonly serialize = (b: Buffer): Buffer => b;
  private readonly deserialize: (b: Buffer) => unknown;

  offer(metrics: readonly MeshMetric[]): number {
    if (this.closing) {
      this.o.stats.dropped('shutting_down', metrics.length);
      return 0;
    }
    const wasEmpty = this.pending() === 0;
    // Encoded now, and only what fits: the rest is dropped.
    let accepted = 0;
    for (const m of metrics) if ((m.kind === 'http' ? this.http : this.tcp).push(m)) accepted++;
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
      this.http.clear();
      this.tcp.clear();
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
      const flushDue = this.closing || waited >= this.o.flushIntervalMs;
      if (!fullBatch && !flushDue) {
        await this.sleep(this.o.flushIntervalMs - waited);
        continue;
      }
      if (!this.startCall(flushDue)) await this.sleep(Math.max(1, this.o.flushIntervalMs - waited));
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

  /**
   * The next batches, HTTP and TCP in turn, checked out of their queues: whole batches, and the ones still
   * being written only when a flush is due (a short batch taken along with every call would be sent, and
   * copied into a buffer of its own size, far more often than the flush interval asks).
   */
  private nextBatches(flush: boolean): EncodedBatch[] {
    const batches: EncodedBatch[] = [];
    const most = this.lastCallOk ? this.o.maxBatchesPerCall : 1;
    while (batches.length < most) {
      const before = batches.length;
      const http = this.http.checkout(flush);
      if (http) batches.push(http);
      if (batches.length < most) {
        const tcp = this.tcp.checkout(flush);
        if (tcp) batches.push(tcp);
      }
      if (batches.length === before) break;
    }
    return batches;
  }

  /** Starts a call with the next batches; false when none was ready (nothing whole, and no flush due). */
  private startCall(flush: boolean): boolean {
    const batches = this.nextBatches(flush);
    if (batches.length === 0) return false;
    const count = batches.reduce((n, b) => n + b.count, 0);
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
    for (const b of batches) call.write((b.kind === 'http' ? this.http : this.tcp).frame(b));
    call.end();
    return true;
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
    this.http.putBack(batches.filter((b) => b.kind === 'http'));
    this.tcp.putBack(batches.filter((b) => b.kind === 'tcp'));
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
    for (const b of batches) (b.kind === 'http' ? this.http : this.tcp).release(b);
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

