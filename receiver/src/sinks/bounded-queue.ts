// A FIFO with a hard capacity shared by several queues (the OAP sink keeps HTTP and TCP apart but bounds
// them together). Taking from the head is O(1); the array is compacted now and then, not per take.
// Items checked out for delivery keep their room until released, so the bound covers what is in flight.
export class Capacity {
  used = 0;
  constructor(readonly limit: number) {}
  get free(): number {
    return this.limit - this.used;
  }
}

export class BoundedQueue<T> {
  private items: T[] = [];
  private head = 0;

  constructor(private readonly capacity: Capacity) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** Appends as many of `batch` as fit; returns how many did. */
  push(batch: readonly T[]): number {
    const n = Math.min(batch.length, this.capacity.free);
    for (let i = 0; i < n; i++) this.items.push(batch[i]!);
    this.capacity.used += n;
    return n;
  }

  /** The first `n` items, left in place (the OAP sink removes them only once delivered). */
  peek(n: number): T[] {
    return this.items.slice(this.head, this.head + Math.min(n, this.length));
  }

  /** Removes the first `n` items. */
  take(n: number): void {
    this.capacity.used -= this.advance(n);
  }

  /** Removes and returns the first `n` items; their room stays taken until `release` or `putBack`. */
  checkout(n: number): T[] {
    const out = this.items.slice(this.head, this.head + Math.min(n, this.length));
    this.advance(out.length);
    return out;
  }

  /** Items checked out earlier go back to the head (their delivery failed); their room was never given up. */
  putBack(batch: readonly T[]): void {
    if (batch.length <= this.head) {
      this.head -= batch.length;
      for (let i = 0; i < batch.length; i++) this.items[this.head + i] = batch[i]!;
    } else {
      this.items = [...batch, ...this.items.slice(this.head)];
      this.head = 0;
    }
  }

  /** Gives up the room of `n` checked-out items (delivered or dropped). */
  release(n: number): void {
    this.capacity.used -= n;
  }

  private advance(n: number): number {
    const k = Math.min(n, this.length);
    this.head += k;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return k;
  }
}
