// torch.utils.data.DistributedSampler's semantics over the loader's epoch order: every rank draws the
// same permutation of the epoch (seed, epoch), pads it by wrapping around to a multiple of the world
// size (or, with dropLast, cuts it to one), and rank r takes positions r, r+W, r+2W, … of it.
//
// The permutation is the loader's own (shuffleInPlace with rng(hashSeed(seed, epoch)), src/data/loader.ts),
// so a world of one iterates exactly what the single-process loader does, and W ranks with batch B
// consume, step by step, the same global batches as one process with batch W·B: after k steps they
// have used positions [0, k·B·W) of the permutation, which is what makes resuming with another world
// size well defined (trainer_state stores that global position).
import { hashSeed, rng, shuffleInPlace } from '../../util/random.js';

export interface DistributedSamplerOptions {
  /** dataset size (indices 0..n-1) */
  size: number;
  rank: number;
  worldSize: number;
  shuffle?: boolean;
  seed?: number;
  /** cut the permutation to a multiple of worldSize instead of padding it */
  dropLast?: boolean;
  /**
   * No padding and no cut: rank r takes r::W of the plain order, shards differ in length by at most one.
   * For evaluation, where a padded duplicate would be counted twice in the reduced metrics.
   */
  exact?: boolean;
}

export class DistributedSampler {
  readonly size: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly exact: boolean;

  constructor(o: DistributedSamplerOptions) {
    if (!Number.isInteger(o.worldSize) || o.worldSize < 1) throw new RangeError(`DistributedSampler: worldSize must be an integer >= 1, got ${o.worldSize}`);
    if (!Number.isInteger(o.rank) || o.rank < 0 || o.rank >= o.worldSize) throw new RangeError(`DistributedSampler: rank must be an integer in [0, ${o.worldSize}), got ${o.rank}`);
    if (!Number.isInteger(o.size) || o.size < 0) throw new RangeError(`DistributedSampler: size must be an integer >= 0, got ${o.size}`);
    this.size = o.size;
    this.rank = o.rank;
    this.worldSize = o.worldSize;
    this.shuffle = o.shuffle ?? true;
    this.seed = o.seed ?? 0;
    this.dropLast = o.dropLast ?? false;
    this.exact = o.exact ?? false;
  }

  /** Samples this rank gets per epoch (PyTorch's num_samples). */
  get length(): number {
    const { size: n, worldSize: w } = this;
    if (this.exact) return Math.max(0, Math.ceil((n - this.rank) / w));
    return this.dropLast && n % w !== 0 ? Math.floor(n / w) : Math.ceil(n / w);
  }

  /** The padded (or cut) global order of an epoch, before sharding (PyTorch's total_size entries). */
  globalOrder(epoch: number): number[] {
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`DistributedSampler: epoch must be an integer >= 0, got ${epoch}`);
    const o = Array.from({ length: this.size }, (_, i) => i);
    if (this.shuffle) shuffleInPlace(o, rng(hashSeed(this.seed, epoch)));
    if (this.exact) return o;
    const total = (this.dropLast && this.size % this.worldSize !== 0 ? Math.floor(this.size / this.worldSize) : Math.ceil(this.size / this.worldSize)) * this.worldSize;
    if (total <= o.length) return o.slice(0, total);
    if (o.length === 0) throw new RangeError('DistributedSampler: cannot pad an empty dataset');
    const out = o.slice();
    for (let i = 0; out.length < total; i++) out.push(o[i % o.length]!);
    return out;
  }

  /** This rank's indices of an epoch, in order. */
  order(epoch: number): number[] {
    const g = this.globalOrder(epoch);
    const out: number[] = [];
    for (let i = this.rank; i < g.length; i += this.worldSize) out.push(g[i]!);
    return out;
  }
}
