// Random augmentation ops: factories that build plain-data specs (with albumentations' defaults and argument
// conventions) and `fromSpec`, which turns a spec into a runnable Op. Each op first draws its probability
// (one rng.next(), applied when < p), then its parameters, in the order documented per op, then calls the
// deterministic kernels of geometry.ts / photometric.ts.
import type { Rng } from '../../util/random.js';
import * as G from './geometry.js';
import * as P from './photometric.js';
import type { AugmentContext, BorderMode, Op, OpSpec, Range, Sample } from './types.js';

// ------------------------------------------------------------------------------------------ helpers

function checkP(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new Error(`augment: probability must be in [0, 1], got ${p}`);
  return p;
}

function checkRange(r: Range, what: string): Range {
  if (!Array.isArray(r) || r.length !== 2 || !Number.isFinite(r[0]) || !Number.isFinite(r[1]) || r[0] > r[1]) {
    throw new Error(`augment: ${what} must be a [low, high] range with low <= high, got ${JSON.stringify(r)}`);
  }
  return [r[0], r[1]];
}

/** A scalar v means [−v, v] (albumentations to_tuple(v)); a pair is taken as is. */
function symmetric(v: number | Range, what: string): Range {
  return typeof v === 'number' ? checkRange([-Math.abs(v), Math.abs(v)], what) : checkRange(v, what);
}

/** A scalar v means [v, v] (albumentations to_tuple(v, v)); a pair is taken as is. */
function fixedOr(v: number | Range, what: string): Range {
  return typeof v === 'number' ? checkRange([v, v], what) : checkRange(v, what);
}

function draw(r: Rng, range: Range): number {
  return range[0] === range[1] ? range[0] : r.uniform(range[0], range[1]);
}

function checkFill(v: number | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < 0 || v > 255) throw new Error(`augment: ${what} must be an integer in [0, 255], got ${v}`);
  return v;
}

/** Runs an op with its probability: one r.next() decides (skipped when force is set, as inside oneOf). */
export function runOp(op: Op, s: Sample, r: Rng, ctx: AugmentContext, force = false): Sample {
  if (!force) {
    const u = r.next();
    if (!(u < op.spec.p)) return s;
  }
  return op.transform(s, r, ctx);
}

// ------------------------------------------------------------------------------------------ factories

export interface POpt {
  p?: number;
}

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

/**
 * albumentations CLAHE on the L* channel of L*a*b* (see photometric.clahe). clipLimit scalar v means the range
 * [1, v] (albumentations default 4 → U[1, 4]); tileGrid default 8×8. Draws: clip limit.
 */
export function clahe(o: POpt & { clipLimit?: number | Range; tileGrid?: [number, number] } = {}): OpSpec {
  const cl = o.clipLimit ?? 4;
  const clipLimit = typeof cl === 'number' ? checkRange([Math.min(1, cl), Math.max(1, cl)], 'clahe.clipLimit') : checkRange(cl, 'clahe.clipLimit');
  const tileGrid = o.tileGrid ?? [8, 8];
  if (!tileGrid.every((t) => Number.isInteger(t) && t >= 1)) throw new Error('clahe: tileGrid must be positive integers');
  return { op: 'clahe', p: checkP(o.p ?? 0.5), clipLimit, tileGrid: [tileGrid[0], tileGrid[1]] };
}

function factorRange(v: number | Range, what: string): Range {
  return typeof v === 'number' ? checkRange([Math.max(0, 1 - v), 1 + v], what) : checkRange(v, what);
}

/**
 * albumentations/torchvision ColorJitter (defaults 0.2 each, p 0.5): brightness, contrast, saturation factors
 * (scalar v = [max(0, 1−v), 1+v]) and a hue shift in turns (scalar v = [−v, v], |v| ≤ 0.5), applied in a random
 * order. Draws: the order (Fisher–Yates over 4), then brightness, contrast, saturation, hue.
 */
export function colorJitter(
  o: POpt & { brightness?: number | Range; contrast?: number | Range; saturation?: number | Range; hue?: number | Range } = {},
): OpSpec {
  const hue = symmetric(o.hue ?? 0.2, 'colorJitter.hue');
  if (hue[0] < -0.5 || hue[1] > 0.5) throw new Error('colorJitter: hue must be within [-0.5, 0.5]');
  return {
    op: 'colorJitter',
    p: checkP(o.p ?? 0.5),
    brightness: factorRange(o.brightness ?? 0.2, 'colorJitter.brightness'),
    contrast: factorRange(o.contrast ?? 0.2, 'colorJitter.contrast'),
    saturation: factorRange(o.saturation ?? 0.2, 'colorJitter.saturation'),
    hue,
  };
}
export const colourJitter = colorJitter;

/**
 * albumentations RandomBrightnessContrast (defaults 0.2 / 0.2, p 0.5): out = v·(1+c) + b·255 with
 * c ~ U(contrastLimit), b ~ U(brightnessLimit) (b·mean instead of b·255 when byMax is false).
 * Draws: contrast, brightness.
 */
export function brightnessContrast(o: POpt & { brightnessLimit?: number | Range; contrastLimit?: number | Range; byMax?: boolean } = {}): OpSpec {
  return {
    op: 'brightnessContrast',
    p: checkP(o.p ?? 0.5),
    brightness: symmetric(o.brightnessLimit ?? 0.2, 'brightnessContrast.brightnessLimit'),
    contrast: symmetric(o.contrastLimit ?? 0.2, 'brightnessContrast.contrastLimit'),
    byMax: o.byMax ?? true,
  };
}

/** albumentations RandomGamma: gamma = U(gammaLimit)/100 (default [80, 120]), out = 255·(v/255)^gamma. Draws: gamma. */
export function gamma(o: POpt & { gammaLimit?: number | Range } = {}): OpSpec {
  const gl = o.gammaLimit ?? [80, 120];
  const r = typeof gl === 'number' ? checkRange([Math.min(gl, 100), Math.max(gl, 100)], 'gamma.gammaLimit') : checkRange(gl, 'gamma.gammaLimit');
  if (r[0] <= 0) throw new Error('gamma: gammaLimit must be > 0');
  return { op: 'gamma', p: checkP(o.p ?? 0.5), gamma: r };
}

/**
 * The RECIPE jitter (photometric.recipeJitter): b, c, t ~ U[1−v, 1+v] for brightness, contrast, saturation
 * (default 0.2 each, p 1). Draws: b, c, t.
 */
export function recipeJitter(o: POpt & { brightness?: number; contrast?: number; saturation?: number } = {}): OpSpec {
  const b = o.brightness ?? 0.2;
  const c = o.contrast ?? 0.2;
  const t = o.saturation ?? 0.2;
  for (const v of [b, c, t]) if (!(v >= 0 && v <= 1)) throw new Error('recipeJitter: amounts must be in [0, 1]');
  return { op: 'recipeJitter', p: checkP(o.p ?? 1), brightness: b, contrast: c, saturation: t };
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

// ------------------------------------------------------------------------------------------ fromSpec

function fillOf(v: number | undefined, ctx: AugmentContext): number {
  return v ?? ctx.fill;
}
function maskFillOf(v: number | undefined, ctx: AugmentContext): number {
  return v ?? ctx.ignoreIndex;
}

function photometric(s: Sample, image: Uint8Array): Sample {
  return { image, label: s.label, width: s.width, height: s.height };
}

/** Turns a spec (e.g. received by a worker thread) into a runnable op. Validates as the factories do. */
export function fromSpec(spec: OpSpec): Op {
  checkP(spec.p);
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
          const [h, w] = G.scaledSize(s.height, s.width, f);
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
    case 'clahe':
      return {
        spec,
        transform: (s, r) => {
          const clip = draw(r, spec.clipLimit);
          return photometric(s, P.clahe(s.image, s.width, s.height, clip, spec.tileGrid[0], spec.tileGrid[1]));
        },
      };
    case 'colorJitter':
      return {
        spec,
        transform: (s, r) => {
          const order = [0, 1, 2, 3];
          for (let i = 3; i > 0; i--) {
            const j = r.int(i + 1);
            const t = order[i]!;
            order[i] = order[j]!;
            order[j] = t;
          }
          const b = draw(r, spec.brightness);
          const c = draw(r, spec.contrast);
          const sat = draw(r, spec.saturation);
          const h = draw(r, spec.hue);
          let img = s.image;
          for (const k of order) {
            if (k === 0 && b !== 1) img = P.adjustBrightness(img, b);
            else if (k === 1 && c !== 1) img = P.adjustContrast(img, c);
            else if (k === 2 && sat !== 1) img = P.adjustSaturation(img, sat);
            else if (k === 3 && h !== 0) img = P.adjustHue(img, h);
          }
          return img === s.image ? s : photometric(s, img);
        },
      };
    case 'brightnessContrast':
      return {
        spec,
        transform: (s, r) => {
          const alpha = 1 + draw(r, spec.contrast);
          const beta = draw(r, spec.brightness);
          return photometric(s, P.brightnessContrast(s.image, alpha, beta, spec.byMax));
        },
      };
    case 'gamma':
      return { spec, transform: (s, r) => photometric(s, P.gamma(s.image, draw(r, spec.gamma) / 100)) };
    case 'recipeJitter':
      return {
        spec,
        transform: (s, r) => {
          const b = r.uniform(1 - spec.brightness, 1 + spec.brightness);
          const c = r.uniform(1 - spec.contrast, 1 + spec.contrast);
          const t = r.uniform(1 - spec.saturation, 1 + spec.saturation);
          return photometric(s, P.recipeJitter(s.image, b, c, t));
        },
      };
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
