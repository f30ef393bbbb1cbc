// A sink's signal to the ALS server that it holds as much as it should: engaged once its queue reaches
// the high-water mark, released when it has drained to the low-water mark (the gap keeps the server from
// pausing and resuming its streams on every message). While engaged the server stops reading its
// streams, so HTTP/2 flow control pushes back on the sidecars, which buffer and then drop on their side
// (Envoy's ALS is lossy by design and counts those drops in its own stats).
export class Backpressure {
  private engagedNow = false;
  private readonly listeners = new Set<() => void>();

  constructor(readonly highWater: number, readonly lowWater: number) {
    if (!(lowWater < highWater)) throw new Error(`backpressure low-water mark ${lowWater} must be below the high-water mark ${highWater}`);
  }

  /** For a queue of `capacity`: engage at 80 % full, release at 50 %. */
  static forCapacity(capacity: number): Backpressure {
    const high = Math.max(1, Math.floor(capacity * 0.8));
    return new Backpressure(high, Math.min(high - 1, Math.floor(capacity * 0.5)));
  }

  get engaged(): boolean {
    return this.engagedNow;
  }

  /** The sink reports its depth after every change. */
  update(depth: number): void {
    if (!this.engagedNow && depth >= this.highWater) {
      this.engagedNow = true;
    } else if (this.engagedNow && depth <= this.lowWater) {
      this.engagedNow = false;
      for (const l of this.listeners) l();
    }
  }

  /** `listener` runs each time the pressure is released; returns a function that unregisters it. */
  onRelease(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
