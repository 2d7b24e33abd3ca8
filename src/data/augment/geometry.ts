// Deterministic geometric kernels on Samples. Images and masks always move together: images are sampled
// bilinearly, masks with nearest neighbour (a mask pixel is always a copy of some input mask pixel or the
// fill value, never a blend). Coordinates are pixel indices with pixel centres at integers (OpenCV's
// convention); the centre of a W×H frame is ((W-1)/2, (H-1)/2).
import { resizeImageRgb, resizeNearest } from '../preprocess.js';
import type { BorderMode, Sample } from './types.js';

/** Forward 2×3 affine matrix [a, b, c, d, e, f]: x' = a·x + b·y + c, y' = d·x + e·y + f. */
export type Affine2x3 = [number, number, number, number, number, number];

export interface WarpOptions {
  /** image value for pixels without a source (constant border). Default 0 */
  fill?: number;
  /** mask value for pixels without a source (constant border). Required: normally the ignore index */
  maskFill: number;
  border?: BorderMode;
  /** output size; default the input size */
  outWidth?: number;
  outHeight?: number;
}

function checkSample(s: Sample): void {
  const n = s.width * s.height;
  if (s.image.length !== n * 3 || s.label.length !== n) {
    throw new Error(`augment: sample buffers do not match ${s.width}x${s.height} (image ${s.image.length}, label ${s.label.length})`);
  }
}

/** Mirror (x, y) → (W-1-x, y). */
export function hflip(s: Sample): Sample {
  checkSample(s);
  const { width: w, height: h } = s;
  const image = new Uint8Array(s.image.length);
  const label = new Uint8Array(s.label.length);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const si = row + x;
      const di = row + (w - 1 - x);
      label[di] = s.label[si]!;
      image[di * 3] = s.image[si * 3]!;
      image[di * 3 + 1] = s.image[si * 3 + 1]!;
      image[di * 3 + 2] = s.image[si * 3 + 2]!;
    }
  }
  return { image, label, width: w, height: h };
}

/** Mirror (x, y) → (x, H-1-y). */
export function vflip(s: Sample): Sample {
  checkSample(s);
  const { width: w, height: h } = s;
  const image = new Uint8Array(s.image.length);
  const label = new Uint8Array(s.label.length);
  for (let y = 0; y < h; y++) {
    const d = h - 1 - y;
    image.set(s.image.subarray(y * w * 3, (y + 1) * w * 3), d * w * 3);
    label.set(s.label.subarray(y * w, (y + 1) * w), d * w);
  }
  return { image, label, width: w, height: h };
}

/**
 * Rotation by k·90° counter-clockwise as seen on screen, exactly numpy's np.rot90(img, k) (which is what
 * albumentations RandomRotate90 applies). For k odd the output is H×W → W×H: a W×H frame becomes H wide and W
 * tall. k=1 maps source (x, y) to (y, W-1-x), so the top-right corner becomes the top-left one.
 */
export function rot90(s: Sample, k: number): Sample {
  checkSample(s);
  k = ((Math.trunc(k) % 4) + 4) % 4;
  if (k === 0) return { image: s.image.slice(), label: s.label.slice(), width: s.width, height: s.height };
  const { width: w, height: h } = s;
  const ow = k === 2 ? w : h;
  const oh = k === 2 ? h : w;
  const image = new Uint8Array(s.image.length);
  const label = new Uint8Array(s.label.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let dx: number, dy: number;
      if (k === 1) {
        dx = y;
        dy = w - 1 - x;
      } else if (k === 2) {
        dx = w - 1 - x;
        dy = h - 1 - y;
      } else {
        dx = h - 1 - y;
        dy = x;
      }
      const si = y * w + x;
      const di = dy * ow + dx;
      label[di] = s.label[si]!;
      image[di * 3] = s.image[si * 3]!;
      image[di * 3 + 1] = s.image[si * 3 + 1]!;
      image[di * 3 + 2] = s.image[si * 3 + 2]!;
    }
  }
  return { image, label, width: ow, height: oh };
}

/** Inverse of an invertible 2×3 affine matrix. */
export function invertAffine(m: Affine2x3): Affine2x3 {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) throw new Error(`augment: affine matrix is singular (det ${det})`);
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

/** m1 ∘ m2: apply m2 first, then m1. */
export function composeAffine(m1: Affine2x3, m2: Affine2x3): Affine2x3 {
  const [a1, b1, c1, d1, e1, f1] = m1;
  const [a2, b2, c2, d2, e2, f2] = m2;
  return [a1 * a2 + b1 * d2, a1 * b2 + b1 * e2, a1 * c2 + b1 * f2 + c1, d1 * a2 + e1 * d2, d1 * b2 + e1 * e2, d1 * c2 + e1 * f2 + f1];
}

/** cos/sin of an angle in degrees, exact (0, ±1) at multiples of 90°. */
export function cosSinDeg(deg: number): [number, number] {
  const r = (deg * Math.PI) / 180;
  let c = Math.cos(r);
  let s = Math.sin(r);
  if (Math.abs(c) < 1e-12) c = 0;
  if (Math.abs(s) < 1e-12) s = 0;
  if (Math.abs(Math.abs(c) - 1) < 1e-12) c = Math.sign(c);
  if (Math.abs(Math.abs(s) - 1) < 1e-12) s = Math.sign(s);
  return [c, s];
}

export interface AffineParams {
  /** degrees, counter-clockwise on screen (OpenCV getRotationMatrix2D / albumentations convention) */
  rotate?: number;
  scaleX?: number;
  scaleY?: number;
  /** shear angles in degrees: x' += tan(shearX)·y, y' += tan(shearY)·x (about the centre) */
  shearX?: number;
  shearY?: number;
  /** translation in pixels, applied last */
  tx?: number;
  ty?: number;
}

/**
 * Forward matrix of an affine transform about the frame centre c = ((W-1)/2, (H-1)/2):
 * p' = c + t + R(rotate) · Shear · Scale · (p − c). This is albumentations' Affine composition (scale, shear and
 * rotation about the centre, then translation), with the shear written as tan(angle).
 */
export function affineMatrix(width: number, height: number, p: AffineParams): Affine2x3 {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const [c, s] = cosSinDeg(p.rotate ?? 0);
  const sx = p.scaleX ?? 1;
  const sy = p.scaleY ?? 1;
  const kx = Math.tan((((p.shearX ?? 0) * Math.PI) / 180));
  const ky = Math.tan((((p.shearY ?? 0) * Math.PI) / 180));
  // screen-CCW rotation in y-down coordinates: x' = c·x + s·y, y' = −s·x + c·y
  const R: Affine2x3 = [c, s, 0, -s, c, 0];
  const Sh: Affine2x3 = [1, kx, 0, ky, 1, 0];
  const S: Affine2x3 = [sx, 0, 0, 0, sy, 0];
  const M = composeAffine(R, composeAffine(Sh, S));
  const toOrigin: Affine2x3 = [1, 0, -cx, 0, 1, -cy];
  const back: Affine2x3 = [1, 0, cx + (p.tx ?? 0), 0, 1, cy + (p.ty ?? 0)];
  return composeAffine(back, composeAffine(M, toOrigin));
}

/**
 * OpenCV getRotationMatrix2D(centre, angle, scale) plus a shift, as albumentations ShiftScaleRotate builds it,
 * except that the centre is ((W-1)/2, (H-1)/2) (OpenCV/albumentations 1.3 use (W/2, H/2), half a pixel off), so
 * that a 90° rotation of a square frame is exactly rot90. dx, dy are fractions of the width and height.
 */
export function shiftScaleRotateMatrix(width: number, height: number, angle: number, scale: number, dx: number, dy: number): Affine2x3 {
  return affineMatrix(width, height, { rotate: angle, scaleX: scale, scaleY: scale, tx: dx * width, ty: dy * height });
}

function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  i = Math.abs(i) % period;
  return i >= n ? period - i : i;
}

/**
 * Inverse-mapping warp: each output pixel (x, y) samples the input at forward⁻¹(x, y); image bilinear, mask
 * nearest (round half up, as OpenCV's INTER_NEAREST in warpAffine). With the constant border, image
 * neighbours outside the frame count as `fill` (so edges blend towards it, as in OpenCV) and mask pixels
 * whose nearest source is outside get `maskFill`.
 */
export function warpAffine(s: Sample, forward: Affine2x3, opts: WarpOptions): Sample {
  checkSample(s);
  const inv = invertAffine(forward);
  const ow = opts.outWidth ?? s.width;
  const oh = opts.outHeight ?? s.height;
  return remap(s, ow, oh, { affine: inv }, opts);
}

/** Source coordinates (pixel-index) of output pixel (x, y): an inverse affine map, or separable tables. */
type Coords = { affine: Affine2x3 } | { xs: Float64Array; ys: Float64Array };

/** Inverse-mapping remap: image bilinear, mask nearest (see warpAffine for the border rules). */
function remap(s: Sample, ow: number, oh: number, coords: Coords, opts: WarpOptions): Sample {
  const { width: w, height: h } = s;
  const src = s.image;
  const lab = s.label;
  const fill = opts.fill ?? 0;
  const maskFill = opts.maskFill;
  const reflect = opts.border === 'reflect101';
  const image = new Uint8Array(ow * oh * 3);
  const label = new Uint8Array(ow * oh);
  const aff = 'affine' in coords ? coords.affine : null;
  const xs = 'xs' in coords ? coords.xs : null;
  const ys = 'ys' in coords ? coords.ys : null;
  const [ia, ib, ic, id, ie, iff] = aff ?? [0, 0, 0, 0, 0, 0];
  for (let y = 0; y < oh; y++) {
    const rowX = ib * y + ic;
    const rowY = ie * y + iff;
    const sepY = ys ? ys[y]! : 0;
    for (let x = 0; x < ow; x++) {
      const sx = xs ? xs[x]! : ia * x + rowX;
      const sy = ys ? sepY : id * x + rowY;
      const o = y * ow + x;
      // mask: nearest
      const nx = Math.floor(sx + 0.5);
      const ny = Math.floor(sy + 0.5);
      if (nx >= 0 && nx < w && ny >= 0 && ny < h) label[o] = lab[ny * w + nx]!;
      else if (reflect) label[o] = lab[reflect101(ny, h) * w + reflect101(nx, w)]!;
      else label[o] = maskFill;
      // image: bilinear
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const o3 = o * 3;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {
        const i00 = (y0 * w + x0) * 3;
        const i01 = i00 + 3;
        const i10 = i00 + w * 3;
        const i11 = i10 + 3;
        const w00 = (1 - fx) * (1 - fy);
        const w01 = fx * (1 - fy);
        const w10 = (1 - fx) * fy;
        const w11 = fx * fy;
        for (let c = 0; c < 3; c++) {
          const v = src[i00 + c]! * w00 + src[i01 + c]! * w01 + src[i10 + c]! * w10 + src[i11 + c]! * w11;
          image[o3 + c] = v + 0.5; // Uint8Array assignment truncates; v ∈ [0, 255]
        }
      } else if (!reflect && (x0 < -1 || y0 < -1 || x0 >= w || y0 >= h)) {
        image[o3] = fill;
        image[o3 + 1] = fill;
        image[o3 + 2] = fill;
      } else {
        for (let c = 0; c < 3; c++) {
          let v = 0;
          for (let j = 0; j < 2; j++) {
            const yy = y0 + j;
            const wy = j === 0 ? 1 - fy : fy;
            if (wy === 0) continue;
            for (let i = 0; i < 2; i++) {
              const xx = x0 + i;
              const wx = i === 0 ? 1 - fx : fx;
              if (wx === 0) continue;
              let pv: number;
              if (xx >= 0 && xx < w && yy >= 0 && yy < h) pv = src[(yy * w + xx) * 3 + c]!;
              else if (reflect) pv = src[(reflect101(yy, h) * w + reflect101(xx, w)) * 3 + c]!;
              else pv = fill;
              v += pv * wx * wy;
            }
          }
          image[o3 + c] = Math.min(255, Math.max(0, v + 0.5));
        }
      }
    }
  }
  return { image, label, width: ow, height: oh };
}

/**
 * Separable remap: output column x samples input x-coordinate srcX[x] and output row y samples input
 * y-coordinate srcY[y] (pixel-index coordinates). Used by grid distortion, whose maps are separable.
 */
export function remapSeparable(s: Sample, srcX: Float64Array, srcY: Float64Array, opts: WarpOptions): Sample {
  checkSample(s);
  return remap(s, srcX.length, srcY.length, { xs: srcX, ys: srcY }, opts);
}

/**
 * Grid distortion (albumentations GridDistortion): the frame is cut into numSteps equal cells per axis and
 * cell i of the output is filled from a source cell whose width is xSteps[i] times the nominal one (likewise
 * ySteps for rows), piecewise linearly. With `normalized` the source cells are rescaled to span exactly the
 * frame (albumentations ≥1.4 `normalized=True`), so no pixel comes from outside; otherwise the cumulative
 * source span may overshoot the frame and the overshoot is filled/reflected. All steps equal to 1 is exactly
 * the identity (albumentations' np.linspace-with-endpoint construction drifts by up to a pixel there).
 */
export function gridDistort(s: Sample, xSteps: number[], ySteps: number[], normalized: boolean, opts: WarpOptions): Sample {
  checkSample(s);
  const srcX = gridMap(s.width, xSteps, normalized);
  const srcY = gridMap(s.height, ySteps, normalized);
  return remapSeparable(s, srcX, srcY, opts);
}

/** Source coordinate (pixel-index) for every output pixel along one axis of length n. */
export function gridMap(n: number, steps: number[], normalized: boolean): Float64Array {
  const k = steps.length;
  if (k < 1) throw new Error('gridDistort: need at least one step');
  const cell = n / k;
  // source boundaries in continuous coordinates (0 = left edge of pixel 0, n = right edge of the last)
  const bounds = new Float64Array(k + 1);
  for (let i = 0; i < k; i++) bounds[i + 1] = bounds[i]! + steps[i]! * cell;
  if (normalized) {
    const total = bounds[k]!;
    for (let i = 1; i <= k; i++) bounds[i] = (bounds[i]! * n) / total;
  }
  const out = new Float64Array(n);
  for (let x = 0; x < n; x++) {
    const u = x + 0.5; // continuous position of the output pixel centre
    const i = Math.min(k - 1, Math.floor((u * k) / n));
    const start = (i * n) / k;
    const t = ((u - start) * k) / n; // 0..1 inside the cell
    const src = bounds[i]! + t * (bounds[i + 1]! - bounds[i]!);
    // Back to pixel-index coordinates. A source point inside the frame (continuous 0..n) but within half a
    // pixel of its edge is clamped to the edge pixel centre, as an edge-aligned map (albumentations' linspace
    // to W−1) samples it; unclamped, the bilinear image tap would blend in the border fill and darken the
    // first/last row or column whenever an edge cell is compressed. Only points past the frame (an
    // unnormalised overshoot) stay outside and get the fill.
    out[x] = src > n ? src - 0.5 : Math.min(n - 1, Math.max(0, src - 0.5));
  }
  return out;
}

/**
 * Resize to outH×outW like PyTorch F.interpolate with size=…: image 'bilinear' with align_corners=False and
 * no antialias, rounded half up (preprocess.resizeImageRgb, the loader's resize), mask 'nearest'
 * (preprocess.resizeNearest).
 */
export function resize(s: Sample, outH: number, outW: number): Sample {
  checkSample(s);
  if (!(outH >= 1 && outW >= 1) || !Number.isInteger(outH) || !Number.isInteger(outW)) throw new Error(`augment.resize: bad size ${outH}x${outW}`);
  const { width: w, height: h } = s;
  if (outH === h && outW === w) return { image: s.image.slice(), label: s.label.slice(), width: w, height: h };
  return { image: resizeImageRgb(s.image, w, h, outW, outH), label: resizeNearest(s.label, w, h, outW, outH), width: outW, height: outH };
}

/**
 * Pads bottom/right up to at least outH×outW (image with `fill`, mask with `maskFill`), then takes the
 * outH×outW window whose top-left corner is (x0, y0) in the padded frame. Offsets must be in
 * [0, max(H, outH) − outH] × [0, max(W, outW) − outW].
 */
export function padCrop(s: Sample, outH: number, outW: number, y0: number, x0: number, fill: number, maskFill: number): Sample {
  checkSample(s);
  const { width: w, height: h } = s;
  const ph = Math.max(h, outH);
  const pw = Math.max(w, outW);
  if (y0 < 0 || x0 < 0 || y0 > ph - outH || x0 > pw - outW || !Number.isInteger(y0) || !Number.isInteger(x0)) {
    throw new Error(`augment.padCrop: offset (${x0}, ${y0}) outside the valid range for ${w}x${h} → ${outW}x${outH}`);
  }
  const image = new Uint8Array(outW * outH * 3).fill(fill);
  const label = new Uint8Array(outW * outH).fill(maskFill);
  const copyW = Math.max(0, Math.min(outW, w - x0));
  for (let y = 0; y < outH; y++) {
    const sy = y + y0;
    if (sy >= h || copyW === 0) continue;
    const so = sy * w + x0;
    image.set(s.image.subarray(so * 3, (so + copyW) * 3), y * outW * 3);
    label.set(s.label.subarray(so, so + copyW), y * outW);
  }
  return { image, label, width: outW, height: outH };
}
