// Random augmentation ops: `runOp` (an op with its probability), the combinators oneOf and compose, and
// `fromSpec`, which turns a spec into a runnable Op. Each op first draws its probability (one rng.next(),
// applied when < p), then its parameters, in the order documented per op (geometric-ops.ts,
// photometric-ops.ts), then calls the deterministic kernels of geometry.ts / photometric.ts.
import type { Rng } from '../../util/random.js';
import { geometricOp } from './geometric-ops.js';
import { checkP } from './op-args.js';
import { photometricOp } from './photometric-ops.js';
import type { AugmentContext, Op, OpSpec, Sample } from './types.js';

export * from './geometric-ops.js';
export * from './photometric-ops.js';
export type { POpt } from './op-args.js';

/** Runs an op with its probability: one r.next() decides (skipped when force is set, as inside oneOf). */
export function runOp(op: Op, s: Sample, r: Rng, ctx: AugmentContext, force = false): Sample {
  if (!force) {
    const u = r.next();
    if (!(u < op.spec.p)) return s;
  }
  return op.transform(s, r, ctx);
}

/**
 * albumentations OneOf (default p 0.5): with probability p picks exactly one child, with probability
 * proportional to the children's own p, and applies it unconditionally. Draws: p, choice, then the child's.
 */
export function oneOf(ops: OpSpec[], p = 0.5): OpSpec {
  return { op: 'oneOf', p: checkP(p), ops: ops.slice() };
}

/** Applies the children in order, each with its own probability (default p 1). */
export function compose(ops: OpSpec[], p = 1): OpSpec {
  return { op: 'compose', p: checkP(p), ops: ops.slice() };
}

/** Turns a spec (e.g. received by a worker thread) into a runnable op. Validates as the factories do. */
export function fromSpec(spec: OpSpec): Op {
  checkP(spec.p);
  switch (spec.op) {
    case 'hflip':
    case 'vflip':
    case 'rotate90':
    case 'affine':
    case 'shiftScaleRotate':
    case 'gridDistortion':
    case 'randomScale':
    case 'padCrop':
    case 'resize':
      return geometricOp(spec);
    case 'clahe':
    case 'colorJitter':
    case 'brightnessContrast':
    case 'gamma':
    case 'recipeJitter':
      return photometricOp(spec);
    case 'oneOf': {
      const children = spec.ops.map(fromSpec);
      const weights = children.map((c) => c.spec.p);
      const total = weights.reduce((a, b) => a + b, 0);
      return {
        spec,
        transform: (s, r, ctx) => {
          if (!children.length || total <= 0) return s;
          let u = r.next() * total;
          let i = 0;
          while (i < children.length - 1 && u >= weights[i]!) u -= weights[i++]!;
          return runOp(children[i]!, s, r, ctx, true);
        },
      };
    }
    case 'compose': {
      const children = spec.ops.map(fromSpec);
      return {
        spec,
        transform: (s, r, ctx) => {
          let cur = s;
          for (const c of children) cur = runOp(c, cur, r, ctx);
          return cur;
        },
      };
    }
    default: {
      const never: never = spec;
      throw new Error(`augment: unknown op ${JSON.stringify((never as { op?: unknown }).op)}`);
    }
  }
}
