import type { MeshMetric } from '../mesh-metric';

/**
 * Where analysed metrics go. `offer` never blocks the gRPC stream loop and never throws for a full
 * queue: it accepts what fits and counts the rest as dropped (by reason) in the receiver's metrics.
 */
export interface Sink {
  readonly name: 'oap' | 'memory' | 'jsonl';
  /** Hands metrics over; returns how many were accepted (the rest were dropped and counted). */
  offer(metrics: readonly MeshMetric[]): number;
  /** True once the sink can deliver (e.g. OAP connected); drives /readyz. */
  isReady(): boolean;
  /** Delivers everything still queued, waiting at most `timeoutMs`; then stops. */
  close(timeoutMs: number): Promise<void>;
}
