// Pipelines and presets. A Pipeline is a composed op plus its context (ignore index, image fill) and an
// optional guaranteed output size; it is reproducible from (seed, epoch, index) and serialisable as a
// PipelineSpec for worker threads.
import { hashSeed, rng, type Rng } from '../../util/random.js';
import * as O from './ops.js';
import type { AugmentContext, Op, OpSpec, Sample } from './types.js';

export interface PipelineSpec {
  name: string;
  op: OpSpec;
  ctx: AugmentContext;
  /** the size every output has, when the pipeline guarantees one (presets do) */
  height?: number;
  width?: number;
}

export interface Pipeline {
  readonly spec: PipelineSpec;
  /** Runs the pipeline with an explicit generator. */
  run(s: Sample, r: Rng): Sample;
  /** Runs the pipeline for one sample of one epoch: rng(hashSeed(seed, epoch, index)). */
  apply(s: Sample, seed: number, epoch: number, index: number): Sample;
}

export function pipeline(op: OpSpec, ctx: Partial<AugmentContext> & { ignoreIndex: number }, extra: { name?: string; height?: number; width?: number } = {}): Pipeline {
  const fill = ctx.fill ?? 0;
  if (!Number.isInteger(ctx.ignoreIndex) || ctx.ignoreIndex < 0 || ctx.ignoreIndex > 255) throw new Error(`augment: ignoreIndex must be an integer in [0, 255], got ${ctx.ignoreIndex}`);
  if (!Number.isInteger(fill) || fill < 0 || fill > 255) throw new Error(`augment: fill must be an integer in [0, 255], got ${fill}`);
  const spec: PipelineSpec = { name: extra.name ?? 'custom', op, ctx: { ignoreIndex: ctx.ignoreIndex, fill } };
  if (extra.height !== undefined) spec.height = extra.height;
  if (extra.width !== undefined) spec.width = extra.width;
  return fromPipelineSpec(spec);
}

/** Rebuilds a pipeline from its spec (e.g. in a worker thread). */
export function fromPipelineSpec(spec: PipelineSpec): Pipeline {
  const root: Op = O.fromSpec(spec.op);
  const ctx = spec.ctx;
  const run = (s: Sample, r: Rng): Sample => {
    const out = O.runOp(root, s, r, ctx);
    if (spec.height !== undefined && spec.width !== undefined && (out.height !== spec.height || out.width !== spec.width)) {
      throw new Error(`augment: pipeline '${spec.name}' produced ${out.width}x${out.height}, expected ${spec.width}x${spec.height}`);
    }
    return out;
  };
  return {
    spec,
    run,
    apply: (s, seed, epoch, index) => run(s, rng(hashSeed(seed, epoch, index))),
  };
}

export const PRESET_NAMES = ['none', 'tutorial', 'camvid-scratch'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface PresetOptions {
  height: number;
  width: number;
  ignoreIndex: number;
  /** image fill for padding / warps (default 0) */
  fill?: number;
}

/**
 * The named pipelines. Every preset outputs height×width samples.
 *
 * - `none`: only a resize to height×width when the input has another size.
 * - `tutorial` (the albumentations pipeline of the SegFormer/CamSeq01 tutorial): HorizontalFlip 0.5,
 *   RandomRotate90 0.5, OneOf(p 0.5)[Affine(shear ±5°, rotate −80..90°), ShiftScaleRotate(0.2, 0.2, 120°),
 *   GridDistortion(5, 0.3)] (each child p 0.5, so equally likely), CLAHE(clip U[1,4], 8×8) 0.8,
 *   OneOf(p 0.5)[ColorJitter(0.2, 0.2, 0.2, 0.2), RandomBrightnessContrast(0.2, 0.2), RandomGamma(80..120)],
 *   then a resize back to height×width (a 90° rotation of a non-square frame changes its shape).
 *   Warps use a constant border: image `fill`, mask the ignore index.
 * - `camvid-scratch` (shared/reference/RECIPE.md, training-sample pipeline): hflip 0.5; rescale by
 *   s ~ U[0.75, 1.5]; brightness/contrast/saturation jitter 0.2 with the RECIPE's formulas; pad bottom/right with
 *   `fill` / ignore and a random height×width crop. (Normalisation is the loader's job.)
 */
export function buildPreset(name: string, o: PresetOptions): Pipeline {
  const { height, width } = o;
  const ctx = { ignoreIndex: o.ignoreIndex, fill: o.fill ?? 0 };
  let op: OpSpec;
  switch (name) {
    case 'none':
      op = O.compose([O.resize({ height, width })]);
      break;
    case 'tutorial':
      op = O.compose([
        O.hflip({ p: 0.5 }),
        O.rotate90({ p: 0.5 }),
        O.oneOf(
          [
            O.affine({ shear: [-5, 5], rotate: [-80, 90], p: 0.5 }),
            O.shiftScaleRotate({ shiftLimit: 0.2, scaleLimit: 0.2, rotateLimit: 120, p: 0.5 }),
            O.gridDistortion({ numSteps: 5, distortLimit: 0.3, p: 0.5 }),
          ],
          0.5,
        ),
        O.clahe({ clipLimit: 4, tileGrid: [8, 8], p: 0.8 }),
        O.oneOf([O.colorJitter({ p: 0.5 }), O.brightnessContrast({ p: 0.5 }), O.gamma({ p: 0.5 })], 0.5),
        O.resize({ height, width }),
      ]);
      break;
    case 'camvid-scratch':
      op = O.compose([
        O.hflip({ p: 0.5 }),
        O.randomScale({ scale: [0.75, 1.5] }),
        O.recipeJitter({ brightness: 0.2, contrast: 0.2, saturation: 0.2 }),
        O.padCrop({ height, width }),
      ]);
      break;
    default:
      throw new Error(`unknown augmentation preset '${name}' (expected one of ${PRESET_NAMES.join(', ')})`);
  }
  return pipeline(op, ctx, { name, height, width });
}
