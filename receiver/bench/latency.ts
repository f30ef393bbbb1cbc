// Latency samples in whole milliseconds, counted per millisecond up to a ceiling: exact percentiles at
// 1 ms resolution in constant memory, mergeable across processes (the counts travel as a plain array).
export const LATENCY_CEILING_MS = 60_000;

export class LatencyHistogram {
  readonly counts = new Uint32Array(LATENCY_CEILING_MS + 1);
  total = 0;

  add(ms: number): void {
    const i = ms <= 0 ? 0 : ms >= LATENCY_CEILING_MS ? LATENCY_CEILING_MS : Math.floor(ms);
    this.counts[i]!++;
    this.total++;
  }

  /** The smallest latency at or below which `q` (0..1) of the samples fall; NaN when empty. */
  quantile(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i;
    }
    return LATENCY_CEILING_MS;
  }

  /** Sparse form for IPC: [ms, count] pairs. */
  toPairs(): [number, number][] {
    const out: [number, number][] = [];
    this.counts.forEach((c, i) => { if (c) out.push([i, c]); });
    return out;
  }

  static fromPairs(pairs: [number, number][]): LatencyHistogram {
    const h = new LatencyHistogram();
    for (const [ms, c] of pairs) { h.counts[ms] = c; h.total += c; }
    return h;
  }
}

/** ms since the epoch of a decoded Timestamp. */
export function timestampMs(t: { seconds?: number; nanos?: number } | undefined): number {
  return t ? (t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
}
