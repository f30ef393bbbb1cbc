// Bounded-memory statistics of a stream of calls: counts, errors, a log-scale latency histogram (about
// 10% precision from 1 ms to days, fixed size) and per-second counts over a recent window.
const GROWTH = 1.1;
export const BUCKETS = 220; // 1.1^219 ms ≈ 1.1e9 ms: every realistic latency has a bucket
const LOG_GROWTH = Math.log(GROWTH);

export function bucketOf(ms: number): number {
  if (ms <= 1) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms) / LOG_GROWTH));
}

/** Upper bound of the bucket holding quantile q of `calls` latencies, never above the largest seen. */
export function histogramQuantile(histogram: ArrayLike<number>, calls: number, maxLatency: number, q: number): number {
  const rank = Math.ceil(q * calls);
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += histogram[i]!;
    if (seen >= rank) return Math.min(Math.round(GROWTH ** i), maxLatency);
  }
  return maxLatency;
}

export interface LatencyPercentiles { p50: number; p95: number; p99: number }

/** Everything a CallStats holds, as plain data: what a worker sends for the primary to merge. */
export interface CallStatsState {
  calls: number; errors: number; receivedBytes: number; sentBytes: number; maxLatency: number;
  histogram: number[]; counts: number[]; seconds: number[];
}

export class CallStats {
  calls = 0;
  errors = 0;
  receivedBytes = 0;
  sentBytes = 0;
  private maxLatency = 0;
  private readonly histogram = new Uint32Array(BUCKETS);
  /** counts[i] holds calls seen during second seconds[i]; slot = second mod window. */
  private readonly counts: Uint32Array;
  private readonly seconds: Float64Array;

  constructor(readonly windowSeconds: number) {
    this.counts = new Uint32Array(windowSeconds);
    this.seconds = new Float64Array(windowSeconds).fill(-1);
  }

  record(latencyMs: number, error: boolean, nowSecond: number): void {
    this.calls++;
    if (error) this.errors++;
    this.histogram[bucketOf(latencyMs)]!++;
    if (latencyMs > this.maxLatency) this.maxLatency = latencyMs;
    const slot = nowSecond % this.windowSeconds;
    if (this.seconds[slot] !== nowSecond) {
      this.seconds[slot] = nowSecond;
      this.counts[slot] = 0;
    }
    this.counts[slot]!++;
  }

  state(): CallStatsState {
    return {
      calls: this.calls, errors: this.errors, receivedBytes: this.receivedBytes, sentBytes: this.sentBytes,
      maxLatency: this.maxLatency, histogram: [...this.histogram], counts: [...this.counts], seconds: [...this.seconds],
    };
  }

  /** A CallStats holding `s` (a window of another width is refused: its slots would not line up). */
  static fromState(s: CallStatsState): CallStats {
    if (s.histogram.length !== BUCKETS || s.counts.length !== s.seconds.length) {
      throw new Error(`call stats state has ${s.histogram.length} buckets and ${s.counts.length}/${s.seconds.length} window slots; expected ${BUCKETS} and equal`);
    }
    const c = new CallStats(s.counts.length);
    c.calls = s.calls;
    c.errors = s.errors;
    c.receivedBytes = s.receivedBytes;
    c.sentBytes = s.sentBytes;
    c.maxLatency = s.maxLatency;
    c.histogram.set(s.histogram);
    c.counts.set(s.counts);
    c.seconds.set(s.seconds);
    return c;
  }

  /** Adds another's numbers into this one (per-service views are sums of edges). */
  add(other: CallStats): void {
    this.calls += other.calls;
    this.errors += other.errors;
    this.receivedBytes += other.receivedBytes;
    this.sentBytes += other.sentBytes;
    this.maxLatency = Math.max(this.maxLatency, other.maxLatency);
    for (let i = 0; i < BUCKETS; i++) this.histogram[i]! += other.histogram[i]!;
    for (let i = 0; i < this.windowSeconds; i++) {
      const sec = other.seconds[i]!;
      if (sec < 0) continue;
      if (this.seconds[i] !== sec) {
        if (this.seconds[i]! > sec) continue;
        this.seconds[i] = sec;
        this.counts[i] = 0;
      }
      this.counts[i]! += other.counts[i]!;
    }
  }

  /** Calls per second over the last window (the current, partial second included). */
  rate(nowSecond: number): number {
    let n = 0;
    for (let i = 0; i < this.windowSeconds; i++) {
      if (this.seconds[i]! > nowSecond - this.windowSeconds) n += this.counts[i]!;
    }
    return n / this.windowSeconds;
  }

  /** Upper bound of the bucket holding each percentile, never above the largest latency seen. */
  percentiles(): LatencyPercentiles | null {
    if (this.calls === 0) return null;
    const at = (q: number): number => histogramQuantile(this.histogram, this.calls, this.maxLatency, q);
    return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
  }
}
