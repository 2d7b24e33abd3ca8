// The page's pixel work, as `streetseg predict` does it: RGBA canvas pixels → the model's input (resized
// as the loader resizes, ImageNet-normalised: preprocessImage itself), and logits → class ids by bilinear
// upsampling (torch's align_corners=False taps, bilinearTaps) to the image's size and argmax; then the
// overlay, round((1 − alpha)·image + alpha·colour) as predict's blendOverlay. Pure TypeScript, no DOM:
// the tests run it in Node against the libtorch path.
import { bilinearTaps, scaledSize } from '../../data/preprocess.js';
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

/** Argmax over classes of each pixel of logits [classes, h, w] (the first maximum wins, as torch.argmax). */
function argmaxMap(logits: Float32Array, classes: number, plane: number): Uint8Array {
  const out = new Uint8Array(plane);
  for (let i = 0; i < plane; i++) {
    let best = 0;
    let max = logits[i]!;
    for (let c = 1; c < classes; c++) {
      const v = logits[c * plane + i]!;
      if (v > max) {
        max = v;
        best = c;
      }
    }
    out[i] = best;
  }
  return out;
}

/**
 * Class ids (height × width, row-major) of logits [classes, h, w]: bilinear upsampling with torch's
 * align_corners=False taps, then argmax (the first maximum wins, as torch.argmax). An output pixel whose
 * four source pixels share their argmax c takes c without blending: its values are a convex combination
 * of the four, in each of which c is the largest, so c is the largest in the blend too. Elsewhere
 * (class boundaries) it is blended separably: each output row first mixes its two source rows for every
 * class and column, then each pixel mixes two columns per class, the same weighted sum of the four taps.
 */
export function upsampleArgmax(logits: Float32Array, classes: number, h: number, w: number, height: number, width: number): Uint8Array {
  if (logits.length !== classes * h * w) throw new RangeError(`upsampleArgmax: ${logits.length} logits, expected ${classes}x${h}x${w}`);
  if (classes < 1 || classes > 256) throw new RangeError(`upsampleArgmax: ${classes} classes; class ids are 8-bit (1 to 256 classes)`);
  const X = bilinearTaps(w, width);
  const Y = bilinearTaps(h, height);
  const plane = h * w;
  const low = argmaxMap(logits, classes, plane);
  const row = new Float64Array(classes * w);
  const out = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    const r0 = Y.i0[y]! * w;
    const r1 = Y.i1[y]! * w;
    const b = Y.l1[y]!;
    const a = 1 - b;
    let mixed = false; // this row's blend of the two source rows, computed on its first boundary pixel
    const o = y * width;
    for (let x = 0; x < width; x++) {
      const x0 = X.i0[x]!;
      const x1 = X.i1[x]!;
      const k = low[r0 + x0]!;
      if (k === low[r0 + x1] && k === low[r1 + x0] && k === low[r1 + x1]) {
        out[o + x] = k;
        continue;
      }
      if (!mixed) {
        for (let c = 0; c < classes; c++) {
          const base = c * plane;
          for (let j = 0; j < w; j++) row[c * w + j] = a * logits[base + r0 + j]! + b * logits[base + r1 + j]!;
        }
        mixed = true;
      }
      const q = X.l1[x]!;
      const p = 1 - q;
      let best = 0;
      let max = p * row[x0]! + q * row[x1]!;
      for (let c = 1; c < classes; c++) {
        const v = p * row[c * w + x0]! + q * row[c * w + x1]!;
        if (v > max) {
          max = v;
          best = c;
        }
      }
      out[o + x] = best;
    }
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
