// Argument conventions shared by the augmentation ops: probabilities, ranges (albumentations' scalar
// shorthands), fill values, and one uniform draw of a range.
import type { Rng } from '../../util/random.js';
import type { AugmentContext, Range } from './types.js';

export interface POpt {
  p?: number;
}

export function checkP(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new Error(`augment: probability must be in [0, 1], got ${p}`);
  return p;
}

export function checkRange(r: Range, what: string): Range {
  if (!Array.isArray(r) || r.length !== 2 || !Number.isFinite(r[0]) || !Number.isFinite(r[1]) || r[0] > r[1]) {
    throw new Error(`augment: ${what} must be a [low, high] range with low <= high, got ${JSON.stringify(r)}`);
  }
  return [r[0], r[1]];
}

/** A scalar v means [−v, v] (albumentations to_tuple(v)); a pair is taken as is. */
export function symmetric(v: number | Range, what: string): Range {
  return typeof v === 'number' ? checkRange([-Math.abs(v), Math.abs(v)], what) : checkRange(v, what);
}

/** A scalar v means [v, v] (albumentations to_tuple(v, v)); a pair is taken as is. */
export function fixedOr(v: number | Range, what: string): Range {
  return typeof v === 'number' ? checkRange([v, v], what) : checkRange(v, what);
}

export function draw(r: Rng, range: Range): number {
  return range[0] === range[1] ? range[0] : r.uniform(range[0], range[1]);
}

export function checkFill(v: number | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < 0 || v > 255) throw new Error(`augment: ${what} must be an integer in [0, 255], got ${v}`);
  return v;
}

export function fillOf(v: number | undefined, ctx: AugmentContext): number {
  return v ?? ctx.fill;
}
export function maskFillOf(v: number | undefined, ctx: AugmentContext): number {
  return v ?? ctx.ignoreIndex;
}

