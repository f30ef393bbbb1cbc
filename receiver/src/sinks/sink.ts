import type { MeshMetric } from '../analysis/mesh-metric';
import type { Backpressure } from './backpressure';

/**
 * Where analysed metrics go. `offer` never blocks the gRPC stream loop and never throws for a full
 * queue: it accepts what fits and counts the rest as dropped (by reason) in the receiver's metrics.
 * Each sink reports through the SinkStats it is built with (metrics.ts): forwarded once delivered,
 * dropped by reason, queue depth, failed delivery attempts; so offered = forwarded + dropped + queued.
 * The server offers once per ALS message (all its entries' metrics together), never per entry.
 */
export interface Sink {
  readonly name: 'oap' | 'memory' | 'jsonl';
  /** Hands metrics over; returns how many were accepted (the rest were dropped and counted). */
  offer(metrics: readonly MeshMetric[]): number;
  /** True once the sink can deliver (e.g. OAP connected); drives /readyz. */
  isReady(): boolean;
  /**
   * Set by sinks whose queue can fill (oap): while engaged, the ALS server stops reading its streams
   * (gRPC flow control) instead of letting the queue overflow. Sinks that never hold metrics leave it out.
   */
  readonly backpressure?: Backpressure;
  /** Delivers everything still queued, waiting at most `timeoutMs`; then stops. */
  close(timeoutMs: number): Promise<void>;
}
