// The photometric augmentation ops: factories that build plain-data specs (albumentations' defaults and
// argument conventions) and the runnable op of each spec, calling the kernels of photometric.ts. They
// change the image only; the label map passes through.
import * as P from './photometric.js';
import { checkP, checkRange, draw, symmetric, type POpt } from './op-args.js';
import type { Op, OpSpec, Range, Sample } from './types.js';

export type PhotometricOpName = 'clahe' | 'colorJitter' | 'brightnessContrast' | 'gamma' | 'recipeJitter';

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

function photometric(s: Sample, image: Uint8Array): Sample {
  return { image, label: s.label, width: s.width, height: s.height };
}

/** The runnable op of a photometric spec (ops.fromSpec dispatches here). */
export function photometricOp(spec: Extract<OpSpec, { op: PhotometricOpName }>): Op {
  switch (spec.op) {
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
  }
}
