// Class-id maps from class scores (class-major, C × h × w): the argmax, and bilinear upsampling to an
// image's size then the argmax, as libtorch's F.interpolate (align_corners=False) + argmax computes it.
// Pure TypeScript without Node imports: the web app bundles it for the browser, and predict's temporal
// stream runs it in Node.
import { bilinearTaps } from './preprocess.js';

/** Class ids (argmax over classes, the first of equal maxima) of class-major scores C × hw. */
export function argmaxClasses(scores: Float32Array, numClasses: number, hw: number, out: Uint8Array = new Uint8Array(hw)): Uint8Array {
  if (scores.length !== numClasses * hw) throw new RangeError(`argmaxClasses: ${scores.length} scores, expected ${numClasses} × ${hw}`);
  const best = new Float32Array(hw).fill(-Infinity);
  out.fill(0);
  for (let c = 0; c < numClasses; c++) {
    const base = c * hw;
    for (let p = 0; p < hw; p++) {
      const v = scores[base + p]!;
      if (v > best[p]!) {
        best[p] = v;
        out[p] = c;
      }
    }
  }
  return out;
}

/**
 * Class ids (height × width, row-major) of logits [classes, h, w] (sizes given width first: w × h in,
 * width × height out): bilinear upsampling with torch's align_corners=False taps, then argmax (the first maximum wins, as torch.argmax). An output pixel whose
 * four source pixels share their argmax c takes c without blending: its values are a convex combination
 * of the four, in each of which c is the largest, so c is the largest in the blend too. Elsewhere
 * (class boundaries) it is blended separably: each output row first mixes its two source rows for every
 * class and column, then each pixel mixes two columns per class, the same weighted sum of the four taps.
 */
export function upsampleArgmax(logits: Float32Array, classes: number, w: number, h: number, width: number, height: number): Uint8Array {
  if (logits.length !== classes * h * w) throw new RangeError(`upsampleArgmax: ${logits.length} logits, expected ${classes}x${h}x${w}`);
  if (classes < 1 || classes > 256) throw new RangeError(`upsampleArgmax: ${classes} classes; class ids are 8-bit (1 to 256 classes)`);
  const X = bilinearTaps(w, width);
  const Y = bilinearTaps(h, height);
  const plane = h * w;
  const low = argmaxClasses(logits, classes, plane);
  if (w === width && h === height) return low;
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
