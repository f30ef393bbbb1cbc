// The `jsonl` sink: one metric per line (JSON) on stdout. Each offer becomes one chunk; while stdout
// pushes back (a slow pipe), chunks wait in a bounded queue, and what does not fit is dropped as
// queue_full rather than buffered without limit inside the stream.
import type { Writable } from 'node:stream';
import type { MeshMetric } from '../analysis/mesh-metric';
import type { SinkStats } from '../admin/metrics';
import type { Sink } from './sink';

export interface JsonlSinkOptions {
  stats: SinkStats;
  /** Metrics allowed to wait while the output pushes back. */
  queueCapacity: number;
  out?: Writable;
}

export class JsonlSink implements Sink {
  readonly name = 'jsonl' as const;
  private readonly out: Writable;
  private readonly chunks: { text: string; count: number }[] = [];
  private queued = 0;
  private blocked = false;
  private closing = false;
  private broken = false;
  private drained: (() => void) | undefined;

  constructor(private readonly opts: JsonlSinkOptions) {
    this.out = opts.out ?? process.stdout;
    this.out.on('drain', () => this.pump());
    // A closed stdout (EPIPE) must not crash the receiver: everything after it is dropped and counted.
    this.out.on('error', () => {
      this.broken = true;
      this.opts.stats.dropped('queue_full', this.queued);
      this.chunks.length = 0;
      this.queued = 0;
      this.opts.stats.queueDepth(0);
      this.drained?.();
    });
  }

  offer(metrics: readonly MeshMetric[]): number {
    if (this.closing || this.broken) {
      this.opts.stats.dropped(this.closing ? 'shutting_down' : 'queue_full', metrics.length);
      return 0;
    }
    const n = Math.min(metrics.length, this.opts.queueCapacity - this.queued);
    if (n < metrics.length) this.opts.stats.dropped('queue_full', metrics.length - n);
    if (n === 0) return 0;
    let text = '';
    for (let i = 0; i < n; i++) text += toJsonLine(metrics[i]!);
    this.chunks.push({ text, count: n });
    this.queued += n;
    this.pump();
    return n;
  }

  isReady(): boolean {
    return !this.broken && !this.closing;
  }

  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    if ((this.queued === 0 && !this.blocked) || this.broken) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.drained = resolve;
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    if (this.queued > 0) {
      this.opts.stats.dropped('shutdown_timeout', this.queued);
      this.chunks.length = 0;
      this.queued = 0;
      this.opts.stats.queueDepth(0);
    }
  }

  /** Writes queued chunks until the stream says stop; 'drain' resumes. */
  private pump(): void {
    if (!this.blocked || !this.out.writableNeedDrain) {
      this.blocked = false;
      while (this.chunks.length > 0 && !this.broken) {
        const chunk = this.chunks.shift()!;
        this.queued -= chunk.count;
        const more = this.out.write(chunk.text);
        this.opts.stats.forwarded(chunk.count);
        if (!more) {
          this.blocked = true;
          break;
        }
      }
    }
    this.opts.stats.queueDepth(this.queued);
    if (this.queued === 0 && !this.blocked) this.drained?.();
  }
}

/** One metric as a JSON line; 64-bit values beyond 2^53 (BigInts) are written as exact JSON numbers. */
export function toJsonLine(m: MeshMetric): string {
  const big = typeof m.internalRequestLatencyNanos === 'bigint' || typeof m.internalResponseLatencyNanos === 'bigint' ||
    (m.kind === 'tcp' && (typeof m.receivedBytes === 'bigint' || typeof m.sentBytes === 'bigint'));
  if (!big) return JSON.stringify(m) + '\n';
  // JSON.stringify refuses BigInts: mark their digits, then unquote them.
  const text = JSON.stringify(m, (_key, v: unknown) => (typeof v === 'bigint' ? `${BIG_MARK}${v}` : v));
  return text.replace(BIG_MARKED, '$1') + '\n';
}

const BIG_MARK = '\u0001bigint:';
const BIG_MARKED = /"\\u0001bigint:(-?\d+)"/g;
