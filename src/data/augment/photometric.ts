// Deterministic photometric kernels on RGB HWC uint8 images. They never touch the mask. Each returns a new
// array; results are rounded to the nearest integer and clamped to [0, 255] once per kernel (albumentations
// truncates in some of its uint8 lookup tables; rounding is the more accurate choice and is what the tests
// check).

/** ITU-R BT.601 luma, the grayscale of PIL / torchvision / OpenCV RGB2GRAY and of the RECIPE. */
export const GRAY_R = 0.299;
export const GRAY_G = 0.587;
export const GRAY_B = 0.114;

function clamp255(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

function applyLut(image: Uint8Array, lut: Uint8Array): Uint8Array {
  const out = new Uint8Array(image.length);
  for (let i = 0; i < image.length; i++) out[i] = lut[image[i]!]!;
  return out;
}

/** Builds a 256-entry table from f (rounded, clamped). */
export function makeLut(f: (v: number) => number): Uint8Array {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = clamp255(f(v));
  return lut;
}

/** Mean grayscale (0..255 scale) over all pixels. */
export function meanGray(image: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < image.length; i += 3) s += GRAY_R * image[i]! + GRAY_G * image[i + 1]! + GRAY_B * image[i + 2]!;
  return image.length ? s / (image.length / 3) : 0;
}

/**
 * albumentations RandomBrightnessContrast kernel: out = v·alpha + beta·255 (brightness_by_max) or
 * v·alpha + beta·mean(image) (byMax false). alpha = 1 + contrast draw, beta = brightness draw.
 */
export function brightnessContrast(image: Uint8Array, alpha: number, beta: number, byMax = true): Uint8Array {
  let mean = 0;
  if (!byMax && beta !== 0) {
    let s = 0;
    for (let i = 0; i < image.length; i++) s += image[i]!;
    mean = image.length ? s / image.length : 0;
  }
  const add = byMax ? beta * 255 : beta * mean;
  return applyLut(image, makeLut((v) => v * alpha + add));
}

/** albumentations RandomGamma kernel: out = 255·(v/255)^gamma. */
export function gamma(image: Uint8Array, g: number): Uint8Array {
  if (!(g > 0)) throw new Error(`gamma: must be > 0, got ${g}`);
  return applyLut(image, makeLut((v) => 255 * Math.pow(v / 255, g)));
}

/** torchvision adjust_brightness: out = v·f. */
export function adjustBrightness(image: Uint8Array, f: number): Uint8Array {
  return applyLut(image, makeLut((v) => v * f));
}

/** torchvision adjust_contrast: out = (v − m)·f + m with m the mean grayscale of the image. */
export function adjustContrast(image: Uint8Array, f: number): Uint8Array {
  const m = meanGray(image);
  return applyLut(image, makeLut((v) => (v - m) * f + m));
}

/** torchvision adjust_saturation: out = (v − g)·f + g with g the pixel's grayscale. */
export function adjustSaturation(image: Uint8Array, f: number): Uint8Array {
  const out = new Uint8Array(image.length);
  for (let i = 0; i < image.length; i += 3) {
    const r = image[i]!;
    const g = image[i + 1]!;
    const b = image[i + 2]!;
    const gr = GRAY_R * r + GRAY_G * g + GRAY_B * b;
    out[i] = clamp255((r - gr) * f + gr);
    out[i + 1] = clamp255((g - gr) * f + gr);
    out[i + 2] = clamp255((b - gr) * f + gr);
  }
  return out;
}

/**
 * torchvision adjust_hue: rotates the HSV hue by `shift` turns (shift ∈ [−0.5, 0.5]; 0.5 is 180°), keeping
 * saturation and value. Computed in floating point per pixel (OpenCV's uint8 HSV quantises hue to 2°).
 */
export function adjustHue(image: Uint8Array, shift: number): Uint8Array {
  const out = new Uint8Array(image.length);
  for (let i = 0; i < image.length; i += 3) {
    const r = image[i]! / 255;
    const g = image[i + 1]! / 255;
    const b = image[i + 2]! / 255;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const d = max - min;
    if (d === 0) {
      out[i] = image[i]!;
      out[i + 1] = image[i + 1]!;
      out[i + 2] = image[i + 2]!;
      continue;
    }
    let h: number; // in sixths of a turn
    if (max === r) h = (g - b) / d;
    else if (max === g) h = (b - r) / d + 2;
    else h = (r - g) / d + 4;
    h = h / 6 + shift;
    h -= Math.floor(h);
    const s = d / max;
    const v = max;
    const h6 = h * 6;
    const k = Math.floor(h6) % 6;
    const f = h6 - Math.floor(h6);
    const p = v * (1 - s);
    const q = v * (1 - s * f);
    const t = v * (1 - s * (1 - f));
    let R: number, G: number, B: number;
    switch (k) {
      case 0: R = v; G = t; B = p; break;
      case 1: R = q; G = v; B = p; break;
      case 2: R = p; G = v; B = t; break;
      case 3: R = p; G = q; B = v; break;
      case 4: R = t; G = p; B = v; break;
      default: R = v; G = p; B = q; break;
    }
    out[i] = clamp255(R * 255);
    out[i + 1] = clamp255(G * 255);
    out[i + 2] = clamp255(B * 255);
  }
  return out;
}

/**
 * The RECIPE's photometric jitter (shared/reference/RECIPE.md, training-sample pipeline step 4), on x = v/255,
 * in this order, each followed by clamp to [0, 1]:
 *   brightness x ← x·b;  contrast x ← (x − m)·c + m with m = mean of gray(x) over the image;
 *   saturation x ← (x − g)·t + g with g = gray(x) per pixel;  gray = 0.299 R + 0.587 G + 0.114 B.
 * Computed in floating point throughout and rounded to uint8 once at the end.
 */
export function recipeJitter(image: Uint8Array, b: number, c: number, t: number): Uint8Array {
  const n = image.length;
  // Brightness and contrast map each byte value independently, so both become 256-entry tables (float32,
  // as the per-pixel Float32Array this replaces stored them: results are bit-identical). Two passes over the
  // pixels instead of three, and no n-sized float buffer: this runs on every training sample.
  const bright = new Float32Array(256);
  const k = b / 255;
  for (let v = 0; v < 256; v++) {
    const x = v * k;
    bright[v] = x > 1 ? 1 : x;
  }
  let sum = 0;
  for (let i = 0; i < n; i += 3) sum += GRAY_R * bright[image[i]!]! + GRAY_G * bright[image[i + 1]!]! + GRAY_B * bright[image[i + 2]!]!;
  const m = n ? sum / (n / 3) : 0;
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) {
    const x = (bright[v]! - m) * c + m;
    lut[v] = x < 0 ? 0 : x > 1 ? 1 : x;
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 3) {
    const r = lut[image[i]!]!;
    const gg = lut[image[i + 1]!]!;
    const bb = lut[image[i + 2]!]!;
    const g = GRAY_R * r + GRAY_G * gg + GRAY_B * bb;
    let v = (r - g) * t + g;
    out[i] = Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * 255);
    v = (gg - g) * t + g;
    out[i + 1] = Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * 255);
    v = (bb - g) * t + g;
    out[i + 2] = Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * 255);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// CLAHE on the L channel of CIE L*a*b* (what albumentations CLAHE does for RGB input: RGB→LAB, OpenCV CLAHE on
// the 8-bit L plane, LAB→RGB). L is quantised to 8 bits as OpenCV does (L·255/100); a* and b* stay in floating
// point (OpenCV would round them to bytes). Pixels whose 8-bit L the equalisation leaves unchanged keep their
// exact RGB.

const SRGB_TO_LINEAR = (() => {
  const t = new Float64Array(256);
  for (let v = 0; v < 256; v++) {
    const x = v / 255;
    t[v] = x <= 0.04045 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
  }
  return t;
})();

// linear [0, 1] → sRGB byte, by direct lookup on a 2^16 grid (the sRGB curve's slope is at most 12.92, so a
// grid step moves the output by < 0.06 of a level: only values within that of a rounding boundary can differ
// by one from the exact result)
const LIN_N = 65535;
const LINEAR_TO_SRGB8 = (() => {
  const t = new Uint8Array(LIN_N + 1);
  for (let i = 0; i <= LIN_N; i++) {
    const x = i / LIN_N;
    t[i] = clamp255(255 * (x <= 0.0031308 ? 12.92 * x : 1.055 * Math.pow(x, 1 / 2.4) - 0.055));
  }
  return t;
})();

function linearToSrgb8(x: number): number {
  return x <= 0 ? 0 : x >= 1 ? 255 : LINEAR_TO_SRGB8[(x * LIN_N + 0.5) | 0]!;
}

const XN = 0.950456;
const ZN = 1.088754;
const LAB_EPS = 0.008856;
const LAB_K = 7.787;

// Per-channel contributions to X/Xn, Y, Z/Zn of an sRGB byte (D65, the matrix OpenCV uses).
const XYZ_TABLES = (() => {
  const m = [
    [0.412453 / XN, 0.35758 / XN, 0.180423 / XN],
    [0.212671, 0.71516, 0.072169],
    [0.019334 / ZN, 0.119193 / ZN, 0.950227 / ZN],
  ];
  return m.map((row) =>
    row.map((k) => {
      const t = new Float64Array(256);
      for (let v = 0; v < 256; v++) t[v] = k * SRGB_TO_LINEAR[v]!;
      return t;
    }),
  );
})();

// f(t) of CIE L*a*b* on [0, F_MAX] with linear interpolation (below LAB_EPS f is linear; above, the cube
// root's curvature gives an interpolation error < 1e-5, i.e. < 0.005 in a*/b*)
const F_N = 8192;
const F_MAX = 1.0001;
const F_LUT = (() => {
  const t = new Float64Array(F_N + 2);
  for (let i = 0; i <= F_N + 1; i++) t[i] = labF((i / F_N) * F_MAX);
  return t;
})();

function labF(t: number): number {
  return t > LAB_EPS ? Math.cbrt(t) : LAB_K * t + 16 / 116;
}

function labFFast(t: number): number {
  if (t <= LAB_EPS) return LAB_K * t + 16 / 116;
  if (t >= F_MAX) return Math.cbrt(t);
  const p = (t / F_MAX) * F_N;
  const i = p | 0;
  const f = p - i;
  return F_LUT[i]! + (F_LUT[i + 1]! - F_LUT[i]!) * f;
}

function labFInv(f: number): number {
  return f > 0.206893 ? f * f * f : (f - 16 / 116) / LAB_K;
}

/** RGB uint8 → 8-bit L (0..255 for L* 0..100) plus float a*, b*. */
export function rgbToLab8(image: Uint8Array): { L: Uint8Array; a: Float32Array; b: Float32Array } {
  const n = image.length / 3;
  const L = new Uint8Array(n);
  const A = new Float32Array(n);
  const B = new Float32Array(n);
  const [xr, xg, xb] = XYZ_TABLES[0]!;
  const [yr, yg, yb] = XYZ_TABLES[1]!;
  const [zr, zg, zb] = XYZ_TABLES[2]!;
  for (let p = 0, q = 0; p < n; p++, q += 3) {
    const r = image[q]!;
    const g = image[q + 1]!;
    const bl = image[q + 2]!;
    const X = xr![r]! + xg![g]! + xb![bl]!;
    const Y = yr![r]! + yg![g]! + yb![bl]!;
    const Z = zr![r]! + zg![g]! + zb![bl]!;
    const fy = labFFast(Y);
    const l = Y > LAB_EPS ? 116 * fy - 16 : 903.3 * Y;
    L[p] = clamp255((l * 255) / 100);
    A[p] = 500 * (labFFast(X) - fy);
    B[p] = 200 * (fy - labFFast(Z));
  }
  return { L, a: A, b: B };
}

/** One pixel L*a*b* (L* in 0..100) → RGB uint8, written at out[o..o+2]. */
function labToRgbPixel(l: number, a: number, b: number, out: Uint8Array, o: number): void {
  let fy: number, Y: number;
  if (l <= 8) {
    Y = l / 903.3;
    fy = LAB_K * Y + 16 / 116;
  } else {
    fy = (l + 16) / 116;
    Y = fy * fy * fy;
  }
  const X = labFInv(fy + a / 500) * XN;
  const Z = labFInv(fy - b / 200) * ZN;
  out[o] = linearToSrgb8(3.240479 * X - 1.53715 * Y - 0.498535 * Z);
  out[o + 1] = linearToSrgb8(-0.969256 * X + 1.875991 * Y + 0.041556 * Z);
  out[o + 2] = linearToSrgb8(0.055648 * X - 0.204043 * Y + 1.057311 * Z);
}

/**
 * OpenCV's CLAHE (cv::createCLAHE(clipLimit, tileGrid).apply) on one 8-bit plane: per-tile histograms clipped
 * at max(int(clipLimit·tilePixels/256), 1) with the excess redistributed evenly (remainder spread with OpenCV's
 * stride), cumulative LUTs scaled by 255/tilePixels, and bilinear interpolation between the four nearest tile
 * LUTs. A plane whose size is not divisible by the grid is extended with BORDER_REFLECT_101 as OpenCV does.
 */
export function clahePlane(src: Uint8Array, width: number, height: number, clipLimit: number, tilesX = 8, tilesY = 8): Uint8Array {
  if (src.length !== width * height) throw new Error('clahePlane: size mismatch');
  let ext = src;
  let ew = width;
  let eh = height;
  if (width % tilesX !== 0 || height % tilesY !== 0) {
    // OpenCV pads bottom by tilesY − h%tilesY and right by tilesX − w%tilesX (a full tile when divisible).
    ew = width + (tilesX - (width % tilesX));
    eh = height + (tilesY - (height % tilesY));
    ext = new Uint8Array(ew * eh);
    const refl = (i: number, n: number) => {
      if (n === 1) return 0;
      const period = 2 * n - 2;
      i = Math.abs(i) % period;
      return i >= n ? period - i : i;
    };
    for (let y = 0; y < eh; y++) {
      const sy = refl(y, height);
      for (let x = 0; x < ew; x++) ext[y * ew + x] = src[sy * width + refl(x, width)]!;
    }
  }
  const tw = ew / tilesX;
  const th = eh / tilesY;
  const tileTotal = tw * th;
  const limit = clipLimit > 0 ? Math.max(Math.trunc((clipLimit * tileTotal) / 256), 1) : 0;
  const lutScale = 255 / tileTotal;
  const luts = new Uint8Array(tilesX * tilesY * 256);
  const hist = new Int32Array(256);
  for (let ty = 0; ty < tilesY; ty++) {
    for (let tx = 0; tx < tilesX; tx++) {
      hist.fill(0);
      for (let y = ty * th; y < (ty + 1) * th; y++) {
        const row = y * ew;
        for (let x = tx * tw; x < (tx + 1) * tw; x++) hist[ext[row + x]!]!++;
      }
      if (limit > 0) {
        let clipped = 0;
        for (let i = 0; i < 256; i++) {
          if (hist[i]! > limit) {
            clipped += hist[i]! - limit;
            hist[i] = limit;
          }
        }
        const batch = Math.trunc(clipped / 256);
        let residual = clipped - batch * 256;
        for (let i = 0; i < 256; i++) hist[i]! += batch;
        if (residual !== 0) {
          const step = Math.max(Math.trunc(256 / residual), 1);
          for (let i = 0; i < 256 && residual > 0; i += step, residual--) hist[i]!++;
        }
      }
      const base = (ty * tilesX + tx) * 256;
      let sum = 0;
      for (let i = 0; i < 256; i++) {
        sum += hist[i]!;
        luts[base + i] = clamp255(sum * lutScale);
      }
    }
  }
  const out = new Uint8Array(width * height);
  // per-column tile indices and weights
  const tx1 = new Int32Array(width);
  const tx2 = new Int32Array(width);
  const xa = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const txf = x / tw - 0.5;
    const t1 = Math.floor(txf);
    xa[x] = txf - t1;
    tx1[x] = Math.max(t1, 0) * 256;
    tx2[x] = Math.min(t1 + 1, tilesX - 1) * 256;
  }
  for (let y = 0; y < height; y++) {
    const tyf = y / th - 0.5;
    const t1 = Math.floor(tyf);
    const ya = tyf - t1;
    const r1 = Math.max(t1, 0) * tilesX * 256;
    const r2 = Math.min(t1 + 1, tilesY - 1) * tilesX * 256;
    for (let x = 0; x < width; x++) {
      const v = src[y * width + x]!;
      const a = xa[x]!;
      const top = luts[r1 + tx1[x]! + v]! * (1 - a) + luts[r1 + tx2[x]! + v]! * a;
      const bot = luts[r2 + tx1[x]! + v]! * (1 - a) + luts[r2 + tx2[x]! + v]! * a;
      out[y * width + x] = clamp255(top * (1 - ya) + bot * ya);
    }
  }
  return out;
}

/** CLAHE of an RGB image on its L* channel (see above). */
export function clahe(image: Uint8Array, width: number, height: number, clipLimit: number, tilesX = 8, tilesY = 8): Uint8Array {
  const { L, a, b } = rgbToLab8(image);
  const L2 = clahePlane(L, width, height, clipLimit, tilesX, tilesY);
  const out = new Uint8Array(image.length);
  for (let p = 0; p < L.length; p++) {
    if (L2[p] === L[p]) {
      out[p * 3] = image[p * 3]!;
      out[p * 3 + 1] = image[p * 3 + 1]!;
      out[p * 3 + 2] = image[p * 3 + 2]!;
    } else {
      labToRgbPixel((L2[p]! * 100) / 255, a[p]!, b[p]!, out, p * 3);
    }
  }
  return out;
}
