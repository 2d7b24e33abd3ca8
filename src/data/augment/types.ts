// Shared types of the augmentation layer.
//
// A Sample is an RGB HWC uint8 image and its HW uint8 label map of the same size. Every op returns a new
// Sample (or the same object when it does nothing) and never mutates its input, so a cached decoded sample
// can be augmented many times.
//
// Pipelines are described by plain data (OpSpec) so that the loader can send them to worker threads and
// rebuild them there (see build.ts). The random draws of an op come from an Rng passed in by the caller; a
// pipeline run for (seed, epoch, index) uses rng(hashSeed(seed, epoch, index)), so the result depends only on
// those three numbers and never on which thread or in which order samples are processed.
import type { Rng } from '../../util/random.js';

export interface Sample {
  image: Uint8Array; // RGB, HWC, length height*width*3
  label: Uint8Array; // class ids, HW, length height*width
  width: number;
  height: number;
}

/** Values an op needs that belong to the pipeline rather than to one op. */
export interface AugmentContext {
  /** Label value used for every mask pixel that has no source (padding, outside a warp). */
  ignoreIndex: number;
  /** Image value (all three channels) used for image pixels that have no source. Default 0 (black). */
  fill: number;
}

/** [low, high] for a uniform draw. */
export type Range = [number, number];

/** Pixel extrapolation for warps: 'constant' fills (image: fill, mask: ignoreIndex), 'reflect101' mirrors
 * without repeating the edge pixel (OpenCV BORDER_REFLECT_101, albumentations' default for
 * ShiftScaleRotate and GridDistortion). */
export type BorderMode = 'constant' | 'reflect101';

export type OpSpec =
  | { op: 'hflip'; p: number }
  | { op: 'vflip'; p: number }
  | { op: 'rotate90'; p: number; factors: number[] }
  | {
      op: 'affine';
      p: number;
      scaleX: Range;
      scaleY: Range;
      keepRatio: boolean;
      /** translation as fractions of width/height (uniform) — or, if translatePx is set, in whole pixels */
      translatePercentX: Range;
      translatePercentY: Range;
      translatePx?: { x: Range; y: Range };
      rotate: Range;
      shearX: Range;
      shearY: Range;
      border: BorderMode;
      fill?: number;
      maskFill?: number;
    }
  | {
      op: 'shiftScaleRotate';
      p: number;
      shiftX: Range; // fraction of width
      shiftY: Range; // fraction of height
      scale: Range; // already biased by 1, e.g. [0.8, 1.2]
      rotate: Range; // degrees
      border: BorderMode;
      fill?: number;
      maskFill?: number;
    }
  | { op: 'gridDistortion'; p: number; numSteps: number; distortLimit: Range; normalized: boolean; border: BorderMode; fill?: number; maskFill?: number }
  | { op: 'randomScale'; p: number; scale: Range }
  | { op: 'padCrop'; p: number; height: number; width: number; fill?: number; maskFill?: number }
  | { op: 'resize'; p: number; height: number; width: number }
  | { op: 'clahe'; p: number; clipLimit: Range; tileGrid: [number, number] }
  | { op: 'colorJitter'; p: number; brightness: Range; contrast: Range; saturation: Range; hue: Range }
  | { op: 'brightnessContrast'; p: number; brightness: Range; contrast: Range; byMax: boolean }
  | { op: 'gamma'; p: number; gamma: Range /* in percent, e.g. [80, 120] */ }
  | { op: 'recipeJitter'; p: number; brightness: number; contrast: number; saturation: number }
  | { op: 'oneOf'; p: number; ops: OpSpec[] }
  | { op: 'compose'; p: number; ops: OpSpec[] };

export type OpName = OpSpec['op'];

/** A runnable op: its spec (plain data) plus the code. */
export interface Op {
  readonly spec: OpSpec;
  /** Draws this op's parameters from r and transforms s. Does not draw the probability (see runOp). */
  transform(s: Sample, r: Rng, ctx: AugmentContext): Sample;
}
