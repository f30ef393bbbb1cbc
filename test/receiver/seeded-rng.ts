// The seeded generator the randomized receiver tests draw from: the replayer's own mulberry32 (Prng), with
// the two draws those tests need besides its own. A printed seed replays a run exactly.
import { Prng } from '../../receiver/src/replay/prng';

export class Rng extends Prng {
  /** A whole number in [0, n). */
  int(n: number): number {
    return this.index(n);
  }

  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.index(256)));
  }
}
