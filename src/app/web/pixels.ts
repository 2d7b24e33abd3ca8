// The page's pixel work around what it shares with `streetseg predict` (preprocessImage for the model's
// input, class-map's upsampleArgmax for the class ids): the model input size, RGBA canvas pixels → RGB,
// and the overlay, round((1 − alpha)·image + alpha·colour) as predict's blendOverlay. Pure TypeScript, no
// DOM: the tests run it in Node against the libtorch path.
import { scaledSize } from '../../data/preprocess.js';
import type { InputSize } from './site.js';

/** The model input size for an image of width × height. */
export function modelSize(size: InputSize, width: number, height: number): { height: number; width: number } {
  return 'scale' in size ? scaledSize(height, width, size.scale) : { height: size.height, width: size.width };
}

/** RGB HWC of RGBA HWC pixels (the alpha channel is dropped, as predict's decoder removes it). */
export function rgbaToRgb(rgba: ArrayLike<number>, width: number, height: number): Uint8Array {
  const n = width * height;
  if (rgba.length !== 4 * n) throw new RangeError(`rgbaToRgb: ${rgba.length} values, expected ${width}x${height}x4`);
  const out = new Uint8Array(3 * n);
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    out[3 * i] = rgba[j]!;
    out[3 * i + 1] = rgba[j + 1]!;
    out[3 * i + 2] = rgba[j + 2]!;
  }
  return out;
}

/**
 * The overlay into `out` (RGBA, alpha 255): round((1 − alpha)·image + alpha·colour) per channel, the
 * formula of predict's blendOverlay; `frame` is RGBA, `colors` one [r, g, b] per class id.
 */
export function overlayRgba(frame: ArrayLike<number>, ids: Uint8Array, colors: readonly (readonly number[])[], alpha: number, out: Uint8ClampedArray | Uint8Array): void {
  const n = ids.length;
  if (frame.length !== 4 * n || out.length !== 4 * n) throw new RangeError(`overlayRgba: ${n} class ids but ${frame.length} frame and ${out.length} output values (expected 4 per pixel)`);
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`overlayRgba: alpha ${alpha} is not in [0, 1]`);
  const keep = 1 - alpha;
  // alpha·colour per class and channel, as blendOverlay computes it (a·mask, then the sum, then round)
  const lut = new Float64Array(colors.length * 3);
  colors.forEach((c, i) => {
    for (let k = 0; k < 3; k++) lut[3 * i + k] = alpha * c[k]!;
  });
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    const id = ids[i]!;
    if (id >= colors.length) throw new RangeError(`overlayRgba: class id ${id} at pixel ${i}, but there are ${colors.length} colours`);
    const l = 3 * id;
    out[j] = Math.round(keep * frame[j]! + lut[l]!);
    out[j + 1] = Math.round(keep * frame[j + 1]! + lut[l + 1]!);
    out[j + 2] = Math.round(keep * frame[j + 2]! + lut[l + 2]!);
    out[j + 3] = 255;
  }
}
