// Resizing and tensor layout for decoded frames.
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

/** Bilinear resize of an HWC buffer of any numeric type; returns float32 HWC (not rounded). */
export function resizeBilinearHWC(
  src: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  outW: number,
  outH: number,
): Float32Array {
  checkSize('resizeBilinear input', width, height);
  checkSize('resizeBilinear output', outW, outH);
  if (src.length !== width * height * channels) throw new RangeError(`resizeBilinear: buffer has ${src.length} values, expected ${width}x${height}x${channels}`);
  const X = bilinearTaps(width, outW);
  const Y = bilinearTaps(height, outH);
  const out = new Float32Array(outW * outH * channels);
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
        out[o++] = h0 * (w0 * src[a + k]! + w1 * src[b + k]!) + h1 * (w0 * src[c + k]! + w1 * src[d + k]!);
      }
    }
  }
  return out;
}

/** Bilinear resize of a CHW float buffer (e.g. the [0,1] image tensor of the augmentation pipeline). */
export function resizeBilinearCHW(
  src: Float32Array,
  channels: number,
  height: number,
  width: number,
  outH: number,
  outW: number,
): Float32Array {
  checkSize('resizeBilinear input', width, height);
  checkSize('resizeBilinear output', outW, outH);
  if (src.length !== width * height * channels) throw new RangeError(`resizeBilinearCHW: buffer has ${src.length} values, expected ${channels}x${height}x${width}`);
  const X = bilinearTaps(width, outW);
  const Y = bilinearTaps(height, outH);
  const out = new Float32Array(outW * outH * channels);
  const plane = width * height;
  let o = 0;
  for (let k = 0; k < channels; k++) {
    const base = k * plane;
    for (let y = 0; y < outH; y++) {
      const r0 = base + Y.i0[y]! * width;
      const r1 = base + Y.i1[y]! * width;
      const h1 = Y.l1[y]!;
      const h0 = 1 - h1;
      for (let x = 0; x < outW; x++) {
        const w1 = X.l1[x]!;
        const w0 = 1 - w1;
        const x0 = X.i0[x]!;
        const x1 = X.i1[x]!;
        out[o++] = h0 * (w0 * src[r0 + x0]! + w1 * src[r0 + x1]!) + h1 * (w0 * src[r1 + x0]! + w1 * src[r1 + x1]!);
      }
    }
  }
  return out;
}

/** Bilinear resize of an RGB HWC uint8 image, rounded half up to uint8 and clamped (the loader's image resize). */
export function resizeImageRgb(image: Uint8Array, width: number, height: number, outW: number, outH: number): Uint8Array {
  const f = resizeBilinearHWC(image, width, height, 3, outW, outH);
  const out = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const v = Math.floor(f[i]! + 0.5);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/**
 * Resizes a decoded sample to width x height: image bilinear (rounded half up to uint8, clamped),
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

/**
 * HWC RGB image with values in 0..255 (uint8 or float) -> CHW float32: x/255, then (x - mean)/std per
 * channel (RGB order) unless norm is null. Default norm: ImageNet.
 */
export function toCHWFloat(image: ArrayLike<number>, norm: Normalization | null = IMAGENET): Float32Array {
  if (image.length % 3 !== 0) throw new RangeError(`toCHWFloat: ${image.length} values is not a multiple of 3 (expected RGB HWC)`);
  const n = image.length / 3;
  const out = new Float32Array(image.length);
  for (let c = 0; c < 3; c++) {
    const o = c * n;
    if (norm) {
      const m = norm.mean[c];
      const s = norm.std[c];
      // Same order of operations as ToTensor + Normalize: (x/255 rounded to float32 - mean) / std.
      for (let i = 0; i < n; i++) out[o + i] = (f32(image[i * 3 + c]! / 255) - m) / s;
    } else for (let i = 0; i < n; i++) out[o + i] = image[i * 3 + c]! / 255;
  }
  return out;
}

/** In-place (x - mean)/std on a CHW float image already scaled to [0, 1]. Returns the same array. */
export function normalizeCHW(chw: Float32Array, norm: Normalization = IMAGENET): Float32Array {
  const n = chw.length / 3;
  if (!Number.isInteger(n)) throw new RangeError(`normalizeCHW: ${chw.length} values is not a multiple of 3`);
  for (let c = 0; c < 3; c++) {
    const m = norm.mean[c];
    const s = norm.std[c];
    const o = c * n;
    for (let i = 0; i < n; i++) chw[o + i] = (chw[o + i]! - m) / s;
  }
  return chw;
}

/**
 * A frame size times an input scale, rounded, and at least `min` on each side (8 by default: the
 * smallest input every model family accepts; evaluation's internal views use 1).
 */
export function scaledSize(height: number, width: number, scale: number, min = 8): { height: number; width: number } {
  if (scale === 1) return { height, width };
  return { height: Math.max(min, Math.round(height * scale)), width: Math.max(min, Math.round(width * scale)) };
}

/**
 * Evaluation's preprocessing of one RGB HWC uint8 image: resized to (height, width) if given (the
 * loader's bilinear resize to uint8), then x/255 normalised with ImageNet statistics, CHW float32.
 */
export function preprocessImage(rgb: Uint8Array, width: number, height: number, size?: { height: number; width: number }): Float32Array {
  const resized = size && (size.width !== width || size.height !== height) ? resizeImageRgb(rgb, width, height, size.width, size.height) : rgb;
  return toCHWFloat(resized, IMAGENET);
}
