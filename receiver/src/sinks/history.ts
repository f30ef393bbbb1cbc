// Recent history of one stream of calls (one side of one edge in the memory sink): a ring of fixed-width
// steps (default 90 steps of 10 s: 15 minutes), each with its calls, errors, p95 latency and the errors
// broken down by response code and by Envoy response flag. Memory per series is fixed by the step count
// (see receiver/README.md, "memory sink"); the number of series is capped by HistoryStore, which counts
// what it refuses.
import { BUCKETS, bucketOf, histogramQuantile } from './call-stats';

export interface HistoryOptions {
  /** Width of one step, in seconds. */
  stepSeconds: number;
  /** Steps kept per series (the ring's length). */
  steps: number;
  /** Series kept at most; a call on a side beyond it is not recorded in history (counted as dropped). */
  maxSeries: number;
}

export const HISTORY_DEFAULTS: Readonly<HistoryOptions> = { stepSeconds: 10, steps: 90, maxSeries: 2000 };

/**
 * Distinct response codes (and, apart, response flags) a series tells apart at once; a new one takes the
 * place of one no step in the ring counts any more, else it is counted under OTHER.
 */
export const MAX_BREAKDOWN_KEYS = 8;
export const OTHER = 'other';
/** The response-flag key of an error Envoy set no flag on (e.g. the app answered 500 itself). */
export const NO_FLAG = 'none';
/** The response-code key of a failed TCP connection (it has no code). */
export const TCP_CODE = 'tcp';

/** One failed call, as the history breaks it down. */
export interface ErrorKind { code: string; flag: string }

/** Everything a Series holds, as plain JSON-safe data (workers send it to the primary to merge). */
export interface SeriesState {
  step: number[]; calls: number[]; errors: number[]; p95: number[];
  codes: BreakdownState | null; flags: BreakdownState | null;
  liveHistogram: number[]; liveStep: number; liveCalls: number; liveMax: number;
}

/** What one series says about the last `steps` steps, oldest first (the last step is the current, partial one). */
export interface SeriesJson {
  /** Calls per second in each step (the current step: over the part of it that has passed). */
  rate: number[];
  /** errors / calls in each step, 0 with no calls. */
  errorRate: number[];
  /** p95 latency in ms in each step; null with no calls. */
  p95: (number | null)[];
  /** Totals over the whole history. */
  calls: number;
  errors: number;
  /** Failed calls over the whole history, by response code (`tcp` for TCP) and by response flag (`none`). */
  errorCodes: Record<string, number>;
  errorFlags: Record<string, number>;
}

export interface BreakdownState { keys: string[]; counts: number[] }

/**
 * Counts per step of a few keys (response codes, or response flags): one fixed table of steps ×
 * MAX_BREAKDOWN_KEYS, made on a series' first error, so its size never depends on what the calls carry.
 */
class Breakdown {
  readonly keys: string[] = [];
  readonly counts: Uint32Array;

  constructor(private readonly steps: number) {
    this.counts = new Uint32Array(steps * MAX_BREAKDOWN_KEYS);
  }

  add(slot: number, key: string, n: number): void {
    this.counts[slot * MAX_BREAKDOWN_KEYS + this.column(key)]! += n;
  }

  clear(slot: number): void {
    this.counts.fill(0, slot * MAX_BREAKDOWN_KEYS, (slot + 1) * MAX_BREAKDOWN_KEYS);
  }

  count(slot: number, column: number): number {
    return this.counts[slot * MAX_BREAKDOWN_KEYS + column]!;
  }

  private column(key: string): number {
    const at = this.keys.indexOf(key);
    if (at >= 0) return at;
    if (this.keys.length < MAX_BREAKDOWN_KEYS) return this.keys.push(key) - 1;
    // Full: reuse a column no step in the ring counts any more, else count under OTHER (made from the
    // column with the fewest calls, which then count as OTHER too).
    const totals = this.keys.map((_, c) => {
      let sum = 0;
      for (let s = 0; s < this.steps; s++) sum += this.count(s, c);
      return sum;
    });
    const idle = totals.findIndex((t, c) => t === 0 && this.keys[c] !== OTHER);
    if (idle >= 0) {
      this.keys[idle] = key;
      return idle;
    }
    const other = this.keys.indexOf(OTHER);
    if (other >= 0) return other;
    const fewest = totals.indexOf(Math.min(...totals));
    this.keys[fewest] = OTHER;
    return fewest;
  }

  state(): BreakdownState {
    return { keys: [...this.keys], counts: [...this.counts] };
  }
}

export class Series {
  /** step[i] is the step index (floor(second / stepSeconds)) slot i holds; -1: empty. */
  private readonly step: Float64Array;
  private readonly calls: Uint32Array;
  private readonly errors: Uint32Array;
  /** p95 of a closed step, ms; -1 when it had no latency recorded. */
  private readonly p95: Float64Array;
  private codes: Breakdown | null = null;
  private flags: Breakdown | null = null;
  /** The newest step's latencies, exact to the histogram's buckets; closed into p95 when a newer step starts. */
  private readonly live = new Uint32Array(BUCKETS);
  private liveStep = -1;
  private liveCalls = 0;
  private liveMax = 0;

  constructor(readonly steps: number) {
    this.step = new Float64Array(steps).fill(-1);
    this.calls = new Uint32Array(steps);
    this.errors = new Uint32Array(steps);
    this.p95 = new Float64Array(steps).fill(-1);
  }

  /** One call in step `stepIndex`; `error` says how it failed. Steps older than the ring are ignored. */
  record(stepIndex: number, latencyMs: number, error: ErrorKind | undefined): void {
    const slot = this.slotFor(stepIndex);
    if (slot < 0) return;
    this.calls[slot]!++;
    if (error) {
      this.errors[slot]!++;
      (this.codes ??= new Breakdown(this.steps)).add(slot, error.code, 1);
      (this.flags ??= new Breakdown(this.steps)).add(slot, error.flag, 1);
    }
    // A late call of an already closed step counts, but its p95 stays as it was closed.
    if (stepIndex === this.liveStep) {
      this.live[bucketOf(latencyMs)]!++;
      this.liveCalls++;
      if (latencyMs > this.liveMax) this.liveMax = latencyMs;
    }
  }

  /** The slot of `stepIndex`, claimed (and the live step moved on) when it is new; -1 when too old. */
  private slotFor(stepIndex: number): number {
    const slot = stepIndex % this.steps;
    const held = this.step[slot]!;
    if (held === stepIndex) return slot;
    if (held > stepIndex || stepIndex <= this.liveStep - this.steps) return -1;
    this.step[slot] = stepIndex;
    this.calls[slot] = 0;
    this.errors[slot] = 0;
    this.p95[slot] = -1;
    this.codes?.clear(slot);
    this.flags?.clear(slot);
    if (stepIndex > this.liveStep) this.moveLive(stepIndex);
    return slot;
  }

  private moveLive(stepIndex: number): void {
    if (this.liveStep >= 0 && this.liveCalls > 0) {
      const closed = this.liveStep % this.steps;
      if (this.step[closed] === this.liveStep) this.p95[closed] = histogramQuantile(this.live, this.liveCalls, this.liveMax, 0.95);
    }
    this.live.fill(0);
    this.liveStep = stepIndex;
    this.liveCalls = 0;
    this.liveMax = 0;
  }

  private p95Of(slot: number): number {
    if (this.step[slot] === this.liveStep && this.liveCalls > 0) return histogramQuantile(this.live, this.liveCalls, this.liveMax, 0.95);
    return this.p95[slot]!;
  }

  state(): SeriesState {
    return {
      step: [...this.step], calls: [...this.calls], errors: [...this.errors], p95: [...this.p95],
      codes: this.codes?.state() ?? null,
      flags: this.flags?.state() ?? null,
      liveHistogram: [...this.live], liveStep: this.liveStep, liveCalls: this.liveCalls, liveMax: this.liveMax,
    };
  }

  /**
   * Adds another series (another worker's, same calls never seen twice) into this one. Calls, errors and the
   * breakdowns add up exactly, and so does the live step's histogram; a closed step's p95 becomes the larger
   * of the two (the p95 of the union lies between the parts' p95s, so this is an upper bound).
   */
  absorb(other: SeriesState): void {
    if (other.step.length !== this.steps || other.liveHistogram.length !== BUCKETS) {
      throw new Error(`history state of ${other.step.length} steps and ${other.liveHistogram.length} buckets; expected ${this.steps} and ${BUCKETS}`);
    }
    if (other.liveStep > this.liveStep) this.moveLive(other.liveStep);
    for (let i = 0; i < this.steps; i++) {
      const stepIndex = other.step[i]!;
      if (stepIndex < 0) continue;
      const slot = this.slotFor(stepIndex);
      if (slot < 0) continue;
      this.calls[slot]! += other.calls[i]!;
      this.errors[slot]! += other.errors[i]!;
      this.p95[slot] = Math.max(this.p95[slot]!, other.p95[i]!);
      if (other.codes) other.codes.keys.forEach((k, c) => { const n = other.codes!.counts[i * MAX_BREAKDOWN_KEYS + c]!; if (n) (this.codes ??= new Breakdown(this.steps)).add(slot, k, n); });
      if (other.flags) other.flags.keys.forEach((k, c) => { const n = other.flags!.counts[i * MAX_BREAKDOWN_KEYS + c]!; if (n) (this.flags ??= new Breakdown(this.steps)).add(slot, k, n); });
    }
    if (other.liveStep === this.liveStep && other.liveCalls > 0) {
      for (let b = 0; b < BUCKETS; b++) this.live[b]! += other.liveHistogram[b]!;
      this.liveCalls += other.liveCalls;
      this.liveMax = Math.max(this.liveMax, other.liveMax);
    }
  }

  /** Keys the breakdowns tell apart (at most MAX_BREAKDOWN_KEYS codes and as many flags). */
  breakdownKeys(): number {
    return (this.codes?.keys.length ?? 0) + (this.flags?.keys.length ?? 0);
  }

  /**
   * The steps ending at `nowStep` (oldest first). Several series (e.g. every edge into one service) are
   * combined by adding calls, errors and breakdowns; p95 is their largest, an upper bound as in absorb.
   */
  static json(series: readonly Series[], steps: number, stepSeconds: number, nowMs: number): SeriesJson {
    const nowStep = Math.floor(nowMs / 1000 / stepSeconds);
    const out: SeriesJson = {
      rate: [], errorRate: [], p95: [], calls: 0, errors: 0, errorCodes: {}, errorFlags: {},
    };
    const add = (into: Record<string, number>, b: Breakdown | null, slot: number) => {
      b?.keys.forEach((k, c) => {
        const n = b.count(slot, c);
        if (n) into[k] = (into[k] ?? 0) + n;
      });
    };
    for (let stepIndex = nowStep - steps + 1; stepIndex <= nowStep; stepIndex++) {
      let calls = 0;
      let errors = 0;
      let p95 = -1;
      for (const s of series) {
        const slot = stepIndex % s.steps;
        if (stepIndex < 0 || s.step[slot] !== stepIndex) continue;
        calls += s.calls[slot]!;
        errors += s.errors[slot]!;
        p95 = Math.max(p95, s.p95Of(slot));
        add(out.errorCodes, s.codes, slot);
        add(out.errorFlags, s.flags, slot);
      }
      // The current step has lasted only part of its width.
      const seconds = stepIndex === nowStep ? Math.max(1, nowMs / 1000 - nowStep * stepSeconds) : stepSeconds;
      out.rate.push(calls / seconds);
      out.errorRate.push(calls === 0 ? 0 : errors / calls);
      out.p95.push(calls === 0 || p95 < 0 ? null : p95);
      out.calls += calls;
      out.errors += errors;
    }
    return out;
  }
}

/** Hands out Series up to a cap and counts the calls it could not record for lack of one. */
export class HistoryStore {
  readonly options: HistoryOptions;
  private count = 0;
  /** Calls not recorded in history because the series cap was reached. */
  dropped = 0;

  constructor(options: Partial<HistoryOptions> = {}) {
    this.options = { ...HISTORY_DEFAULTS, ...options };
    const { stepSeconds, steps, maxSeries } = this.options;
    if (!(Number.isInteger(stepSeconds) && stepSeconds >= 1 && Number.isInteger(steps) && steps >= 2 && Number.isInteger(maxSeries) && maxSeries >= 0)) {
      throw new Error(`history of ${steps} steps of ${stepSeconds} s, at most ${maxSeries} series; allowed: whole numbers, steps >= 2, step >= 1 s, series >= 0`);
    }
  }

  /** A new Series, or undefined when the cap is reached. */
  open(): Series | undefined {
    if (this.count >= this.options.maxSeries) return undefined;
    this.count++;
    return new Series(this.options.steps);
  }

  get series(): number {
    return this.count;
  }

  stepOf(nowMs: number): number {
    return Math.floor(nowMs / 1000 / this.options.stepSeconds);
  }
}

/** How a failed call is broken down; undefined for a call that succeeded. */
export function errorKindOf(failed: boolean, responseCode: number | undefined, internalErrorCode: string): ErrorKind | undefined {
  if (!failed) return undefined;
  return { code: responseCode === undefined ? TCP_CODE : String(responseCode), flag: internalErrorCode || NO_FLAG };
}
