// The oap sink's queue of one metric kind, as collect-request bytes. Each metric is encoded as it is
// offered, straight after the one before it in its batch's buffer, so a queued metric is a few hundred
// bytes inside a buffer it shares with its batch, not an object of its own: a metric waits in the queue
// long enough to survive young-generation collections, and an object per metric was copied by each of
// them, promoted, then left for the mark-compactor (round 5 of BENCHMARKS.md). A batch leaves as one
// view of its buffer, its ServiceMeshMetrics header written into room kept free in front of its metrics.
// The bound is shared (Capacity): metrics checked out for a call keep their room until released.
import type { MeshMetric } from '../analysis/mesh-metric';
import { BATCH_HEADER_ROOM, type BatchEncoder, type MetricKind } from './oap-encoder';

export class Capacity {
  used = 0;
  constructor(readonly limit: number) {}
  get free(): number {
    return this.limit - this.used;
  }
}

/** Up to batchSize metrics of one kind: list elements in buf[BATCH_HEADER_ROOM, end). */
export interface EncodedBatch {
  readonly kind: MetricKind;
  readonly buf: Buffer;
  readonly end: number;
  readonly count: number;
}

/** A first buffer's guess at a metric's size; later ones follow what was written. */
const FIRST_BYTES_PER_METRIC = 512;
/** Buffers kept for reuse, per queue: most of what the calls in flight carry (up to 8 calls of 4 batches). */
const MAX_SPARE = 24;

export class BatchQueue {
  /** Sealed batches, oldest first, from `head` on. */
  private sealed: EncodedBatch[] = [];
  private head = 0;
  /** The batch being written: its buffer, where the next metric goes, how many it holds. */
  private buf: Buffer | undefined;
  private end = BATCH_HEADER_ROOM;
  private count = 0;
  /** Metrics waiting (sealed and open), not counting those checked out. */
  private waiting = 0;
  private bytesPerMetric = FIRST_BYTES_PER_METRIC;
  /** Buffers of delivered batches, written again: a steady flow allocates none. */
  private readonly spare: Buffer[] = [];

  constructor(
    readonly kind: MetricKind, private readonly capacity: Capacity, private readonly batchSize: number,
    private readonly encoder: BatchEncoder,
  ) {}

  /** Metrics waiting to be checked out. */
  get length(): number {
    return this.waiting;
  }

  /** Encodes `m` at the end of the queue if there is room for it; false when the queue is full. */
  push(m: MeshMetric): boolean {
    if (this.capacity.free <= 0) return false;
    const size = this.encoder.sizeOf(m);
    if (!this.buf) this.buf = this.newBuffer(size);
    else if (this.end + size > this.buf.length) this.buf = resized(this.buf, this.end, Math.max(this.end + size, Math.ceil(this.buf.length * HEADROOM)));
    this.end = this.encoder.writeSized(this.buf, this.end, m);
    this.count++;
    this.waiting++;
    this.capacity.used++;
    if (this.count >= this.batchSize) this.seal();
    return true;
  }

  /**
   * The oldest waiting batch, checked out (its room stays taken until release or putBack), or undefined
   * when nothing waits. A batch still being written is sealed for it only with `partial` (a flush);
   * batches left short (sealed early, then put back after a failed call) are joined while they fit in one batch.
   */
  checkout(partial = true): EncodedBatch | undefined {
    if (this.head === this.sealed.length && partial) this.seal();
    if (this.head === this.sealed.length) return undefined;
    let batch = this.sealed[this.head++]!;
    while (this.head < this.sealed.length && batch.count + this.sealed[this.head]!.count <= this.batchSize) {
      batch = joined(batch, this.sealed[this.head++]!);
    }
    if (this.head === this.sealed.length) {
      this.sealed = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.sealed.length) {
      this.sealed = this.sealed.slice(this.head);
      this.head = 0;
    }
    this.waiting -= batch.count;
    return batch;
  }

  /** Batches checked out earlier go back to the head, in their order (their call failed); their room was never given up. */
  putBack(batches: readonly EncodedBatch[]): void {
    this.sealed = [...batches, ...this.sealed.slice(this.head)];
    this.head = 0;
    for (const b of batches) this.waiting += b.count;
  }

  /** Gives up the room of a checked-out batch (delivered or dropped); its buffer may be written again. */
  release(b: EncodedBatch): void {
    this.capacity.used -= b.count;
    if (this.spare.length < MAX_SPARE && fits(b.buf, this.expectedBytes())) this.spare.push(b.buf);
  }

  /** Drops everything waiting; returns how many metrics that was. */
  clear(): number {
    const n = this.waiting;
    this.sealed = [];
    this.head = 0;
    this.buf = undefined;
    this.end = BATCH_HEADER_ROOM;
    this.count = 0;
    this.waiting = 0;
    this.capacity.used -= n;
    return n;
  }

  /** The batch as a ServiceMeshMetrics message: a view of its buffer with the header written in front. */
  frame(b: EncodedBatch): Buffer {
    const start = this.encoder.writeHeader(b.buf, BATCH_HEADER_ROOM, b.kind, b.end - BATCH_HEADER_ROOM);
    return b.buf.subarray(start, b.end);
  }

  /** What a whole batch is expected to take, from what the last batch's metrics took. */
  private expectedBytes(): number {
    return BATCH_HEADER_ROOM + this.batchSize * this.bytesPerMetric;
  }

  private newBuffer(first: number): Buffer {
    const expected = Math.max(BATCH_HEADER_ROOM + first, this.expectedBytes());
    // A spare of another size is let go: kept, the largest ever made would be the ones reused, each batch
    // then sealed into a copy of its own size (round 6 of BENCHMARKS.md: buffers were 1.8x their batches).
    while (this.spare.length > 0) {
      const b = this.spare.pop()!;
      if (fits(b, expected)) return b;
    }
    return Buffer.allocUnsafe(Math.ceil(expected * HEADROOM));
  }

  /** Closes the batch being written. A short one (sealed for a flush) keeps a buffer of its own size, not the whole batch's. */
  private seal(): void {
    if (!this.buf || this.count === 0) return;
    let buf = this.buf;
    if (this.end * 2 < buf.length) {
      buf = resized(buf, this.end, this.end);
      if (this.spare.length < MAX_SPARE && fits(this.buf, this.expectedBytes())) this.spare.push(this.buf);
    }
    this.sealed.push({ kind: this.kind, buf, end: this.end, count: this.count });
    this.bytesPerMetric = Math.max(16, (this.end - BATCH_HEADER_ROOM) / this.count);
    this.buf = undefined;
    this.end = BATCH_HEADER_ROOM;
    this.count = 0;
  }
}

/** A new buffer's room beyond what its batch is expected to take (metrics vary in size). */
const HEADROOM = 1.25;

/**
 * Whether `buf` will do for a batch expected to take `expected` bytes: some room to spare (a batch that
 * outgrows its buffer is copied into a larger one), and not much bigger than a new buffer would be.
 */
function fits(buf: Buffer, expected: number): boolean {
  return buf.length >= expected * 1.1 && buf.length <= expected * 2;
}

/** A copy of buf's first `used` bytes in a new buffer of `size` bytes. */
function resized(buf: Buffer, used: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  buf.copy(out, 0, 0, used);
  return out;
}

/** Two short batches as one, a's metrics first. */
function joined(a: EncodedBatch, b: EncodedBatch): EncodedBatch {
  const bLength = b.end - BATCH_HEADER_ROOM;
  const buf = resized(a.buf, a.end, a.end + bLength);
  b.buf.copy(buf, a.end, BATCH_HEADER_ROOM, b.end);
  return { kind: a.kind, buf, end: a.end + bLength, count: a.count + b.count };
}
