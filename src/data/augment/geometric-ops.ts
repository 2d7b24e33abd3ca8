// The geometric augmentation ops: factories that build plain-data specs (albumentations' defaults and
// argument conventions) and the runnable op of each spec, calling the kernels of geometry.ts. Images and
// masks move together.
import * as G from './geometry.js';
import { checkFill, checkP, checkRange, draw, fillOf, fixedOr, maskFillOf, symmetric, type POpt } from './op-args.js';
import { scaledSize } from '../preprocess.js';
import type { BorderMode, Op, OpSpec, Range } from './types.js';

export type GeometricOpName = 'hflip' | 'vflip' | 'rotate90' | 'affine' | 'shiftScaleRotate' | 'gridDistortion' | 'randomScale' | 'padCrop' | 'resize';

/** Horizontal flip (albumentations HorizontalFlip, default p 0.5): (x, y) → (W−1−x, y). No draws. */
export function hflip(o: POpt = {}): OpSpec {
  return { op: 'hflip', p: checkP(o.p ?? 0.5) };
}

/** Vertical flip, default p 0.5. No draws. */
export function vflip(o: POpt = {}): OpSpec {
  return { op: 'vflip', p: checkP(o.p ?? 0.5) };
}

/**
 * albumentations RandomRotate90: draws k uniformly from `factors` (default [0, 1, 2, 3], as albumentations'
 * randint(0, 3), so k = 0 — no change — is one of the outcomes) and applies np.rot90(·, k), i.e. k quarter
 * turns counter-clockwise. For k odd a non-square H×W frame becomes W×H; a later resize/crop (the presets end
 * with one) restores the training size. Draws: k.
 */
export function rotate90(o: POpt & { factors?: number[] } = {}): OpSpec {
  const factors = o.factors ?? [0, 1, 2, 3];
  if (!factors.length || factors.some((k) => !Number.isInteger(k))) throw new Error('rotate90: factors must be a non-empty list of integers');
  return { op: 'rotate90', p: checkP(o.p ?? 0.5), factors: factors.slice() };
}

type Axes = number | Range | { x?: number | Range; y?: number | Range };

function axes(v: Axes | undefined, dflt: number, conv: (v: number | Range, what: string) => Range, what: string): { x: Range; y: Range } {
  if (v === undefined) return { x: [dflt, dflt], y: [dflt, dflt] };
  if (typeof v === 'number' || Array.isArray(v)) {
    const r = conv(v as number | Range, what);
    return { x: r, y: r.slice() as Range };
  }
  return { x: conv(v.x ?? dflt, `${what}.x`), y: conv(v.y ?? dflt, `${what}.y`) };
}

export interface AffineOptions extends POpt {
  /** scale factor; a pair is a uniform range drawn independently per axis unless keepRatio */
  scale?: Axes;
  keepRatio?: boolean;
  /** translation as a fraction of width/height; a pair is a range drawn per axis */
  translatePercent?: Axes;
  /** translation in whole pixels; a pair [a, b] draws integers in a..b per axis */
  translatePx?: Axes;
  /** degrees, counter-clockwise; scalar = fixed angle */
  rotate?: number | Range;
  /** degrees; a scalar or pair applies to both axes (drawn independently) */
  shear?: Axes;
  border?: BorderMode;
  fill?: number;
  maskFill?: number;
}

/**
 * albumentations Affine: scale, shear and rotation about the frame centre, then translation; bilinear image,
 * nearest mask, constant border (image `fill`, mask ignore index) by default. With no geometric argument at all
 * the albumentations defaults apply (scale 0.9–1.1, translate ±10 %, rotate ±15°, shear ±10°); otherwise
 * missing ones are identity. Draws: translate x, y; shear x, y; scale x, y (y = x with keepRatio); rotation.
 */
export function affine(o: AffineOptions = {}): OpSpec {
  const none = o.scale === undefined && o.translatePercent === undefined && o.translatePx === undefined && o.rotate === undefined && o.shear === undefined;
  const scale = none ? { x: [0.9, 1.1] as Range, y: [0.9, 1.1] as Range } : axes(o.scale, 1, fixedOr, 'affine.scale');
  const tp = none ? { x: [-0.1, 0.1] as Range, y: [-0.1, 0.1] as Range } : axes(o.translatePercent, 0, fixedOr, 'affine.translatePercent');
  const rotate = none ? ([-15, 15] as Range) : fixedOr(o.rotate ?? 0, 'affine.rotate');
  const shear = none ? { x: [-10, 10] as Range, y: [-10, 10] as Range } : axes(o.shear, 0, fixedOr, 'affine.shear');
  if (o.translatePx !== undefined && o.translatePercent !== undefined) throw new Error('affine: give translatePercent or translatePx, not both');
  const keepRatio = o.keepRatio ?? false;
  if (keepRatio && (scale.x[0] !== scale.y[0] || scale.x[1] !== scale.y[1])) throw new Error('affine: keepRatio needs the same x and y scale range');
  if (scale.x[0] <= 0 || scale.y[0] <= 0) throw new Error('affine: scale must be > 0');
  const spec: OpSpec = {
    op: 'affine',
    p: checkP(o.p ?? 0.5),
    scaleX: scale.x,
    scaleY: scale.y,
    keepRatio,
    translatePercentX: tp.x,
    translatePercentY: tp.y,
    rotate,
    shearX: shear.x,
    shearY: shear.y,
    border: o.border ?? 'constant',
  };
  if (o.translatePx !== undefined) {
    const px = axes(o.translatePx, 0, fixedOr, 'affine.translatePx');
    spec.translatePx = { x: px.x, y: px.y };
  }
  if (o.fill !== undefined) spec.fill = checkFill(o.fill, 'affine.fill');
  if (o.maskFill !== undefined) spec.maskFill = checkFill(o.maskFill, 'affine.maskFill');
  return spec;
}

export interface ShiftScaleRotateOptions extends POpt {
  /** fraction of width/height; scalar v = [−v, v] (default 0.0625) */
  shiftLimit?: number | Range;
  /** scalar v = [1−v, 1+v]; a pair (a, b) = [1+a, 1+b] (default 0.1) */
  scaleLimit?: number | Range;
  /** degrees; scalar v = [−v, v] (default 45) */
  rotateLimit?: number | Range;
  /** default 'constant' (albumentations' default is reflect101; the brief asks for ignore-filled masks) */
  border?: BorderMode;
  fill?: number;
  maskFill?: number;
}

/**
 * albumentations ShiftScaleRotate: cv2.getRotationMatrix2D(centre, angle, scale) with the shift dx·W, dy·H
 * added. Angle positive = counter-clockwise. Centre ((W−1)/2, (H−1)/2) (see geometry.shiftScaleRotateMatrix).
 * Draws: angle, scale, dx, dy.
 */
export function shiftScaleRotate(o: ShiftScaleRotateOptions = {}): OpSpec {
  const shift = symmetric(o.shiftLimit ?? 0.0625, 'shiftScaleRotate.shiftLimit');
  const sl = symmetric(o.scaleLimit ?? 0.1, 'shiftScaleRotate.scaleLimit');
  const scale: Range = [1 + sl[0], 1 + sl[1]];
  if (scale[0] <= 0) throw new Error('shiftScaleRotate: scale range must stay > 0');
  const spec: OpSpec = {
    op: 'shiftScaleRotate',
    p: checkP(o.p ?? 0.5),
    shiftX: shift,
    shiftY: shift.slice() as Range,
    scale,
    rotate: symmetric(o.rotateLimit ?? 45, 'shiftScaleRotate.rotateLimit'),
    border: o.border ?? 'constant',
  };
  if (o.fill !== undefined) spec.fill = checkFill(o.fill, 'shiftScaleRotate.fill');
  if (o.maskFill !== undefined) spec.maskFill = checkFill(o.maskFill, 'shiftScaleRotate.maskFill');
  return spec;
}

export interface GridDistortionOptions extends POpt {
  numSteps?: number;
  /** each cell's relative size is 1 + U(limit); scalar v = [−v, v] (default 0.3) */
  distortLimit?: number | Range;
  normalized?: boolean;
  border?: BorderMode;
  fill?: number;
  maskFill?: number;
}

/**
 * albumentations GridDistortion (num_steps 5, distort_limit 0.3 by default): see geometry.gridDistort.
 * Draws: numSteps x-steps, then numSteps y-steps, each 1 + U(distortLimit).
 */
export function gridDistortion(o: GridDistortionOptions = {}): OpSpec {
  const numSteps = o.numSteps ?? 5;
  if (!Number.isInteger(numSteps) || numSteps < 1) throw new Error('gridDistortion: numSteps must be a positive integer');
  const dl = symmetric(o.distortLimit ?? 0.3, 'gridDistortion.distortLimit');
  if (dl[0] <= -1) throw new Error('gridDistortion: distortLimit must be > -1');
  const spec: OpSpec = { op: 'gridDistortion', p: checkP(o.p ?? 0.5), numSteps, distortLimit: dl, normalized: o.normalized ?? true, border: o.border ?? 'constant' };
  if (o.fill !== undefined) spec.fill = checkFill(o.fill, 'gridDistortion.fill');
  if (o.maskFill !== undefined) spec.maskFill = checkFill(o.maskFill, 'gridDistortion.maskFill');
  return spec;
}

/** RECIPE step 3: rescale by s ~ U[a, b] to (round(H·s), round(W·s)); bilinear image, nearest mask. Draws: s. */
export function randomScale(o: POpt & { scale?: Range } = {}): OpSpec {
  const scale = checkRange(o.scale ?? [0.75, 1.5], 'randomScale.scale');
  if (scale[0] <= 0) throw new Error('randomScale: scale must be > 0');
  return { op: 'randomScale', p: checkP(o.p ?? 1), scale };
}

/**
 * RECIPE step 5: pad bottom/right to at least height×width (image fill, mask ignore index), then a uniformly
 * random height×width crop. Draws: y offset, x offset (rng.int over the valid positions).
 */
export function padCrop(o: POpt & { height: number; width: number; fill?: number; maskFill?: number }): OpSpec {
  if (!Number.isInteger(o.height) || !Number.isInteger(o.width) || o.height < 1 || o.width < 1) throw new Error('padCrop: height/width must be positive integers');
  const spec: OpSpec = { op: 'padCrop', p: checkP(o.p ?? 1), height: o.height, width: o.width };
  if (o.fill !== undefined) spec.fill = checkFill(o.fill, 'padCrop.fill');
  if (o.maskFill !== undefined) spec.maskFill = checkFill(o.maskFill, 'padCrop.maskFill');
  return spec;
}

/** Resize to height×width (no-op when already that size); bilinear image, nearest mask. No draws. */
export function resize(o: POpt & { height: number; width: number }): OpSpec {
  if (!Number.isInteger(o.height) || !Number.isInteger(o.width) || o.height < 1 || o.width < 1) throw new Error('resize: height/width must be positive integers');
  return { op: 'resize', p: checkP(o.p ?? 1), height: o.height, width: o.width };
}

/** The runnable op of a geometric spec (ops.fromSpec dispatches here). */
export function geometricOp(spec: Extract<OpSpec, { op: GeometricOpName }>): Op {
  switch (spec.op) {
    case 'hflip':
      return { spec, transform: (s) => G.hflip(s) };
    case 'vflip':
      return { spec, transform: (s) => G.vflip(s) };
    case 'rotate90':
      return {
        spec,
        transform: (s, r) => {
          const k = spec.factors[r.int(spec.factors.length)]!;
          return ((k % 4) + 4) % 4 === 0 ? s : G.rot90(s, k);
        },
      };
    case 'affine':
      return {
        spec,
        transform: (s, r, ctx) => {
          let tx: number, ty: number;
          if (spec.translatePx) {
            const ri = (range: Range) => {
              const lo = Math.ceil(range[0]);
              const hi = Math.floor(range[1]);
              return lo >= hi ? lo : lo + r.int(hi - lo + 1);
            };
            tx = ri(spec.translatePx.x);
            ty = ri(spec.translatePx.y);
          } else {
            tx = draw(r, spec.translatePercentX) * s.width;
            ty = draw(r, spec.translatePercentY) * s.height;
          }
          const shearX = draw(r, spec.shearX);
          const shearY = draw(r, spec.shearY);
          const scaleX = draw(r, spec.scaleX);
          const scaleY = spec.keepRatio ? scaleX : draw(r, spec.scaleY);
          const rotate = draw(r, spec.rotate);
          const m = G.affineMatrix(s.width, s.height, { rotate, scaleX, scaleY, shearX, shearY, tx, ty });
          return G.warpAffine(s, m, { fill: fillOf(spec.fill, ctx), maskFill: maskFillOf(spec.maskFill, ctx), border: spec.border });
        },
      };
    case 'shiftScaleRotate':
      return {
        spec,
        transform: (s, r, ctx) => {
          const angle = draw(r, spec.rotate);
          const scale = draw(r, spec.scale);
          const dx = draw(r, spec.shiftX);
          const dy = draw(r, spec.shiftY);
          const m = G.shiftScaleRotateMatrix(s.width, s.height, angle, scale, dx, dy);
          return G.warpAffine(s, m, { fill: fillOf(spec.fill, ctx), maskFill: maskFillOf(spec.maskFill, ctx), border: spec.border });
        },
      };
    case 'gridDistortion':
      return {
        spec,
        transform: (s, r, ctx) => {
          const xs: number[] = [];
          const ys: number[] = [];
          for (let i = 0; i < spec.numSteps; i++) xs.push(1 + draw(r, spec.distortLimit));
          for (let i = 0; i < spec.numSteps; i++) ys.push(1 + draw(r, spec.distortLimit));
          return G.gridDistort(s, xs, ys, spec.normalized, { fill: fillOf(spec.fill, ctx), maskFill: maskFillOf(spec.maskFill, ctx), border: spec.border });
        },
      };
    case 'randomScale':
      return {
        spec,
        transform: (s, r) => {
          const f = draw(r, spec.scale);
          const { height: h, width: w } = scaledSize(s.height, s.width, f, 1);
          return h === s.height && w === s.width ? s : G.resize(s, h, w);
        },
      };
    case 'padCrop':
      return {
        spec,
        transform: (s, r, ctx) => {
          const ph = Math.max(s.height, spec.height);
          const pw = Math.max(s.width, spec.width);
          const y0 = r.int(ph - spec.height + 1);
          const x0 = r.int(pw - spec.width + 1);
          if (y0 === 0 && x0 === 0 && ph === s.height && pw === s.width && s.height === spec.height && s.width === spec.width) return s;
          return G.padCrop(s, spec.height, spec.width, y0, x0, fillOf(spec.fill, ctx), maskFillOf(spec.maskFill, ctx));
        },
      };
    case 'resize':
      return { spec, transform: (s) => (s.height === spec.height && s.width === spec.width ? s : G.resize(s, spec.height, spec.width)) };
  }
}
