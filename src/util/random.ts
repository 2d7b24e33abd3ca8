// Small, fast, seeded randomness shared by the data layer (splits, synthetic scenes) and augmentation.
// The generator is mulberry32 (32-bit state, period 2^32): plenty for shuffles and augmentation draws, and
// identical on every platform because it only uses 32-bit integer arithmetic. It is not cryptographic.
//
// Streams are cheap, so code that needs reproducibility independent of execution order (worker threads,
// resumed epochs) derives one stream per unit of work: rng(hashSeed(seed, epoch, index)).

export interface Rng {
  /** Uniform float in [0, 1), 32 bits of resolution. */
  next(): number;
  /** Uniform integer in [0, n), unbiased (rejection sampling). n must be an integer in [1, 2^32]. */
  int(n: number): number;
  /** Uniform float in [a, b). */
  uniform(a: number, b: number): number;
  /** Standard normal N(0, 1) (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number;
  /** Raw 32-bit unsigned output. */
  uint32(): number;
}

const TWO_32 = 4294967296;

/** A seeded generator. Any finite number is accepted as a seed; it is reduced to 32 bits via hashSeed. */
export function rng(seed: number): Rng {
  let state = hashSeed(seed);
  let spare: number | null = null;
  const uint32 = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = (): number => uint32() / TWO_32;
  return {
    uint32,
    next,
    int(n: number): number {
      if (!Number.isInteger(n) || n < 1 || n > TWO_32) throw new RangeError(`rng.int: n must be an integer in [1, 2^32], got ${n}`);
      // Largest multiple of n that fits in 2^32; draws at or above it are rejected so every residue is equally likely.
      const limit = TWO_32 - (TWO_32 % n);
      let x = uint32();
      while (x >= limit) x = uint32();
      return x % n;
    },
    uniform(a: number, b: number): number {
      return a + (b - a) * next();
    },
    normal(): number {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = next();
      while (u === 0) u = next(); // log(0) guard
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}

/** murmur3's 32-bit finaliser: a bijective avalanche mix of a 32-bit integer. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Combines numbers into one well-mixed 32-bit seed, e.g. hashSeed(seed, epoch, index). Order matters
 * (hashSeed(1, 2) !== hashSeed(2, 1)). Each part contributes its integer value modulo 2^53 split into two
 * 32-bit words, so seeds above 2^32 and negative seeds are distinct from small ones; non-integers are
 * truncated toward zero.
 */
export function hashSeed(...parts: number[]): number {
  let h = 0x9e3779b9 ^ parts.length;
  for (const p of parts) {
    if (!Number.isFinite(p)) throw new RangeError(`hashSeed: parts must be finite numbers, got ${p}`);
    const v = Math.trunc(p);
    const lo = v >>> 0; // two's-complement low word (also right for negatives)
    const hi = Math.floor(v / TWO_32) >>> 0;
    h = fmix32((h ^ lo) + 0x632be5ab);
    h = fmix32((h ^ hi) + 0x85157af5);
  }
  return fmix32(h);
}

/** Fisher–Yates shuffle in place, driven by r. Returns the same array. */
export function shuffleInPlace<T>(arr: T[], r: Rng): T[] {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    const t = arr[i]!;
    arr[i] = arr[j]!;
    arr[j] = t;
  }
  return arr;
}

/** A shuffled copy of arr. */
export function shuffled<T>(arr: readonly T[], r: Rng): T[] {
  return shuffleInPlace(arr.slice(), r);
}

/** A random permutation of 0..n-1. */
export function permutation(n: number, r: Rng): number[] {
  return shuffleInPlace(Array.from({ length: n }, (_, i) => i), r);
}
