// The one image path of training, evaluation, predict and the web app: resizing, normalisation and the
// model input size. Imports nothing from Node or libtorch (the web app bundles it for the browser).
//
// Both resizers are our own TypeScript, written to match PyTorch's CPU `F.interpolate` (size given, no
// scale_factor), as the reference recipe uses them:
//  - labels: mode 'nearest': src = min(floor(dst * (in/out)), in-1), with the scale and the product in
//    float32 as PyTorch computes them. Class ids are copied, never blended.
//  - images: mode 'bilinear', align_corners=False, no antialias (so downscaling by more than 2x aliases,
//    exactly like the reference): src = max((dst + 0.5) * (in/out) - 0.5, 0), i0 = floor(src),
//    i1 = min(i0 + 1, in - 1), lambda = src - i0. Indices and weights are computed in float32 like PyTorch's
//    opmath; the weighted sum is in float64, so values agree with PyTorch to ~1e-6 relative, not bit for bit.
// sharp's resize is not used: its kernels (and its implicit antialiasing when shrinking) differ from PyTorch.
import type { DecodedSample } from './types.js';

export interface Normalization {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** ImageNet statistics, RGB order, for images scaled to [0, 1]. */
export const IMAGENET: Normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

const f32 = Math.fround;

function checkSize(what: string, w: number, h: number): void {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) throw new RangeError(`${what}: bad size ${w}x${h}`);
}

/** PyTorch 'nearest' source index table for one axis. */
export function nearestIndices(inSize: number, outSize: number): Int32Array {
  const idx = new Int32Array(outSize);
  if (inSize === outSize) {
    for (let i = 0; i < outSize; i++) idx[i] = i;
    return idx;
  }
  if (outSize === 2 * inSize) {
    for (let i = 0; i < outSize; i++) idx[i] = i >> 1;
    return idx;
  }
  const scale = f32(inSize / outSize);
  for (let i = 0; i < outSize; i++) idx[i] = Math.min(Math.floor(f32(i * scale)), inSize - 1);
  return idx;
}

/** Nearest-neighbour resize of an HWC uint8 buffer (channels = 1 for labels). */
export function resizeNearest(src: Uint8Array, width: number, height: number, outW: number, outH: number, channels = 1): Uint8Array {
  checkSize('resizeNearest input', width, height);
  checkSize('resizeNearest output', outW, outH);
  if (src.length !== width * height * channels) throw new RangeError(`resizeNearest: buffer has ${src.length} values, expected ${width}x${height}x${channels}`);
  const xs = nearestIndices(width, outW);
  const ys = nearestIndices(height, outH);
  const out = new Uint8Array(outW * outH * channels);
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const row = ys[y]! * width;
    if (channels === 1) {
      for (let x = 0; x < outW; x++) out[o++] = src[row + xs[x]!]!;
    } else {
      for (let x = 0; x < outW; x++) {
        const s = (row + xs[x]!) * channels;
        for (let c = 0; c < channels; c++) out[o++] = src[s + c]!;
      }
    }
  }
  return out;
}

/** PyTorch bilinear (align_corners=False) index/weight tables for one axis. */
export function bilinearTaps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; l1: Float64Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const l1 = new Float64Array(outSize);
  const scale = f32(inSize / outSize);
  for (let d = 0; d < outSize; d++) {
    let a = 0;
    let src = 0;
    if (inSize !== outSize) {
      src = f32(f32(scale * f32(d + 0.5)) - 0.5);
      if (src < 0) src = 0;
      a = Math.min(Math.floor(src), inSize - 1);
    } else a = d;
    i0[d] = a;
    i1[d] = a < inSize - 1 ? a + 1 : a;
    l1[d] = inSize === outSize ? 0 : Math.min(Math.max(f32(src - a), 0), 1);
  }
  return { i0, i1, l1 };
}

/**
 * Bilinear resize of an HWC buffer into `out` (the one bilinear kernel: the loader's and the augmentations'
 * resize, evaluation's and predict's model input). A Uint8Array `out` gets each value rounded half up
 * (a convex blend of 0..255 stays in 0..255, so the store's truncation of v + 0.5 is floor(v + 0.5));
 * a Float32Array gets it unrounded.
 */
export function resizeBilinearHWC<T extends Uint8Array | Float32Array>(
  src: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  outW: number,
  outH: number,
  out: T,
): T {
  checkSize('resizeBilinear input', width, height);
  checkSize('resizeBilinear output', outW, outH);
  if (src.length !== width * height * channels) throw new RangeError(`resizeBilinear: buffer has ${src.length} values, expected ${width}x${height}x${channels}`);
  if (out.length !== outW * outH * channels) throw new RangeError(`resizeBilinear: output has ${out.length} values, expected ${outW}x${outH}x${channels}`);
  const bias = out instanceof Uint8Array ? 0.5 : 0;
  const X = bilinearTaps(width, outW);
  const Y = bilinearTaps(height, outH);
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const r0 = Y.i0[y]! * width;
    const r1 = Y.i1[y]! * width;
    const h1 = Y.l1[y]!;
    const h0 = 1 - h1;
    for (let x = 0; x < outW; x++) {
      const w1 = X.l1[x]!;
      const w0 = 1 - w1;
      const a = (r0 + X.i0[x]!) * channels;
      const b = (r0 + X.i1[x]!) * channels;
      const c = (r1 + X.i0[x]!) * channels;
      const d = (r1 + X.i1[x]!) * channels;
      for (let k = 0; k < channels; k++) {
        out[o++] = h0 * (w0 * src[a + k]! + w1 * src[b + k]!) + h1 * (w0 * src[c + k]! + w1 * src[d + k]!) + bias;
      }
    }
  }
  return out;
}

/** Bilinear resize of an RGB HWC uint8 image, rounded half up (resizeBilinearHWC into uint8). */
export function resizeImageRgb(image: Uint8Array, width: number, height: number, outW: number, outH: number): Uint8Array {
  return resizeBilinearHWC(image, width, height, 3, outW, outH, new Uint8Array(outW * outH * 3));
}

/**
 * Resizes a decoded sample to width x height: image bilinear (resizeImageRgb, rounded half up to uint8),
 * label nearest. Returns the sample unchanged (same object) if it already has that size.
 */
export function resizeSample(s: DecodedSample, width: number, height: number): DecodedSample {
  if (s.width === width && s.height === height) return s;
  const image = resizeImageRgb(s.image, s.width, s.height, width, height);
  const label = resizeNearest(s.label, s.width, s.height, width, height, 1);
  const out: DecodedSample = { id: s.id, width, height, image, label };
  if (s.unknownPixels !== undefined) out.unknownPixels = s.unknownPixels;
  return out;
}

/** Per-channel tables: value v → (fround(v/255) − mean[c]) / std[c], ToTensor + Normalize's order of operations. */
function normalizationTables(norm: Normalization | null): Float32Array[] {
  return [0, 1, 2].map((c) => {
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) {
      const x = f32(v / 255);
      t[v] = norm ? (x - norm.mean[c]) / norm.std[c] : x;
    }
    return t;
  });
}

const tablesOf = new WeakMap<Normalization, Float32Array[]>();
const unitTables = normalizationTables(null);

/**
 * The one normalisation: an RGB HWC image with values in 0..255 → CHW float32, x/255 (rounded to float32),
 * then (x − mean)/std per channel (RGB order) unless norm is null, written into `out` at `offset` (a batch's
 * slot) or into a new array. uint8 images go through per-value tables of the same formula.
 */
export function normalizeImage(image: Uint8Array | Float32Array, norm: Normalization | null = IMAGENET, out?: Float32Array, offset = 0): Float32Array {
  if (image.length % 3 !== 0) throw new RangeError(`normalizeImage: ${image.length} values is not a multiple of 3 (expected RGB HWC)`);
  const plane = image.length / 3;
  const dst = out ?? new Float32Array(image.length);
  if (offset < 0 || offset + image.length > dst.length) throw new RangeError(`normalizeImage: ${image.length} values at offset ${offset} do not fit an output of ${dst.length}`);
  if (image instanceof Float32Array) {
    for (let c = 0; c < 3; c++) {
      const m = norm ? norm.mean[c] : 0;
      const sd = norm ? norm.std[c] : 1;
      const o = offset + c * plane;
      for (let p = 0; p < plane; p++) dst[o + p] = (f32(image[p * 3 + c]! / 255) - m) / sd;
    }
    return dst;
  }
  let tables = norm ? tablesOf.get(norm) : unitTables;
  if (!tables) tablesOf.set(norm!, (tables = normalizationTables(norm)));
  const [t0, t1, t2] = tables as [Float32Array, Float32Array, Float32Array];
  for (let p = 0, q = 0; p < plane; p++, q += 3) {
    dst[offset + p] = t0[image[q]!]!;
    dst[offset + plane + p] = t1[image[q + 1]!]!;
    dst[offset + 2 * plane + p] = t2[image[q + 2]!]!;
  }
  return dst;
}

/**
 * A frame size times an input scale, rounded, and at least `min` on each side: the model input size of
 * evaluation, predict and the app (min 8, the smallest input every model family accepts), and the
 * augmentations' random rescale (min 1).
 */
export function scaledSize(height: number, width: number, scale: number, min = 8): { height: number; width: number } {
  if (scale === 1) return { height, width };
  return { height: Math.max(min, Math.round(height * scale)), width: Math.max(min, Math.round(width * scale)) };
}

/**
 * A model's input from one RGB HWC uint8 image, as evaluation, predict and the web app make it: resized to
 * `size` if given (resizeBilinearHWC, the loader's kernel, kept in float: no rounding to uint8, so a view
 * equals the normalised frame resized), then normalizeImage with ImageNet statistics; CHW float32, into
 * `out` at `offset` if given.
 */
export function preprocessImage(rgb: Uint8Array, width: number, height: number, size?: { height: number; width: number }, out?: Float32Array, offset = 0): Float32Array {
  const resized = size && (size.width !== width || size.height !== height) ? resizeBilinearHWC(rgb, width, height, 3, size.width, size.height, new Float32Array(size.width * size.height * 3)) : rgb;
  return normalizeImage(resized, IMAGENET, out, offset);
}
