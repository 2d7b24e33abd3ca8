// Temporal smoothing of per-frame class probabilities, so that a video's segmentation does not flicker. One
// smoother follows one video: it keeps a running state of class probabilities and the previous frame, and
// turns each new frame's probabilities into class ids. Plain typed arrays only (no Node, no libtorch), so the
// same code runs in evaluation, in predict and in a browser.
//
// Methods (docs/temporal.md has the measurements they were chosen by):
//   ema         s ← s + alpha·(p − s): an exponential moving average of the probabilities
//   motion      the same with a per-pixel weight raised towards 1 where the frame changed (a moving object
//               takes its new class at once): a = alpha + (1 − alpha)·min(1, d/tau), d the local mean
//               absolute RGB difference from the previous frame (3×3 box at the probabilities' size)
//   hysteresis  a pixel keeps its previous class until another beats it by `margin`: the previous class's
//               score gets the margin added (ema and motion take a margin too; under motion it fades with
//               the same gate)
//   flow        an average carried along the motion: the state is warped by block-matching motion before
//               it is averaged, on a grid finer than a coarse model's output, gated where the motion does
//               not explain the frame (flow.ts)
// A frame whose mean absolute difference from the previous one exceeds `cut` (0–255) is a scene cut: the
// smoother starts again there, so the old scene is not dragged into the new one. The first frame of a video
// (and of a new scene) is never smoothed: its ids are the argmax of its own probabilities.
import { argmaxClasses } from '../data/class-map.js';
import { closest } from '../util/suggest.js';
import { FlowState, gridSize } from './flow.js';

export type SmoothMethod = 'none' | 'ema' | 'motion' | 'hysteresis' | 'flow';

export interface SmoothSpec {
  method: SmoothMethod;
  /** weight of the new frame in the moving average, (0, 1] (1 = no averaging) */
  alpha: number;
  /**
   * motion: the local frame difference (0–255) at which a pixel takes the new frame fully; 0 = no gate.
   * flow: the residual after motion compensation at which it does (the gate rises as (r/tau)²)
   */
  tau: number;
  /** hysteresis: probability margin a new class needs over the previous one, [0, 1) */
  margin: number;
  /**
   * scene cut: mean absolute frame difference (0–255) above which the smoother restarts; 0 = never. flow:
   * the mean difference left after motion compensation (a frame the motion does not explain)
   */
  cut: number;
  /** flow: columns of the smoothing grid (rows by the frame's aspect ratio); 0 = the probabilities' own size */
  grid: number;
}

type Param = 'alpha' | 'tau' | 'margin' | 'cut' | 'grid';

const PARAM_RANGE: Record<Param, { ok: (v: number) => boolean; text: string }> = {
  alpha: { ok: (v) => v > 0 && v <= 1, text: 'a number in (0, 1]' },
  tau: { ok: (v) => v > 0 && v <= 255, text: 'a number in (0, 255]' },
  margin: { ok: (v) => v >= 0 && v < 1, text: 'a number in [0, 1)' },
  cut: { ok: (v) => v >= 0 && v <= 255, text: 'a number in [0, 255] (0 = no cut detection)' },
  grid: { ok: (v) => Number.isInteger(v) && v >= 8 && v <= 1024, text: 'an integer from 8 to 1024 (grid columns)' },
};

/**
 * Each method's parameters and their defaults (what `METHOD` alone means): per method, the setting that
 * `bench smooth` chose on CamVid train drives (docs/temporal.md). A cut at 40 lies above every frame
 * difference within CamVid's 15 fps val drive (at most 22) and below the jumps between drives.
 */
export const SMOOTH_METHODS: Record<SmoothMethod, Partial<Record<Param, number>>> = {
  none: {},
  ema: { alpha: 0.7, margin: 0, cut: 40 },
  motion: { alpha: 0.3, tau: 64, margin: 0, cut: 40 },
  hysteresis: { margin: 0.3, cut: 40 },
  flow: { alpha: 0.1, tau: 25, margin: 0, cut: 8, grid: 120 },
};

/** What a bare `--smooth` means for a checkpoint that records no smoother of its own (docs/temporal.md). */
export const DEFAULT_SMOOTH = 'hysteresis';

/**
 * The config.json key where `bench smooth --record` keeps the smoother measured best for that checkpoint
 * (a canonical spec); a bare `--smooth` (AUTO_SMOOTH) uses it.
 */
export const SMOOTH_KEY = 'streetseg_smooth';

/** The spec text that means "the checkpoint's own smoother": what a bare `--smooth` passes. */
export const AUTO_SMOOTH = 'auto';

/**
 * The smoother a checkpoint's config records (SMOOTH_KEY), or DEFAULT_SMOOTH when it records none; a
 * malformed record is a SmoothSpecError naming `where`.
 */
export function configSmooth(config: Record<string, unknown>, where = 'config.json'): SmoothSpec {
  const v = config[SMOOTH_KEY];
  if (v === undefined) return parseSmoothSpec(DEFAULT_SMOOTH);
  if (typeof v !== 'string' || v.trim() === AUTO_SMOOTH) throw new SmoothSpecError(`${where}: ${SMOOTH_KEY} ${JSON.stringify(v)}: expected a smoothing spec such as "${DEFAULT_SMOOTH}"`);
  try {
    return parseSmoothSpec(v);
  } catch (e) {
    if (e instanceof SmoothSpecError) throw new SmoothSpecError(`${where}: ${SMOOTH_KEY}: ${e.message}`);
    throw e;
  }
}

export class SmoothSpecError extends Error {
  override name = 'SmoothSpecError';
}

/** "METHOD[:PARAM=V,…]" (e.g. "motion:alpha=0.3,tau=16"); unknown methods, parameters and bad values are errors. */
export function parseSmoothSpec(text: string): SmoothSpec {
  const s = text.trim();
  const colon = s.indexOf(':');
  const name = (colon < 0 ? s : s.slice(0, colon)).trim();
  const methods = Object.keys(SMOOTH_METHODS) as SmoothMethod[];
  if (!methods.includes(name as SmoothMethod)) {
    const near = closest(name, methods);
    throw new SmoothSpecError(`smoothing "${text}": unknown method "${name}"${near ? ` (did you mean ${near}?)` : ''}; expected ${methods.join(', ')}, optionally with :PARAM=V,… (e.g. ${DEFAULT_SMOOTH})`);
  }
  const method = name as SmoothMethod;
  const allowed = SMOOTH_METHODS[method];
  const spec: SmoothSpec = { method, alpha: 1, tau: 0, margin: 0, cut: 0, grid: 0, ...allowed };
  if (colon < 0) return spec;
  const body = s.slice(colon + 1).trim();
  if (body === '') return spec;
  const names = Object.keys(allowed) as Param[];
  for (const part of body.split(',')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    if (!names.includes(key as Param)) {
      const list = names.length ? names.join(', ') : 'none';
      throw new SmoothSpecError(`smoothing "${text}": ${method} has no parameter "${key}" (its parameters: ${list})`);
    }
    const raw = eq < 0 ? '' : part.slice(eq + 1).trim();
    const v = Number(raw);
    const range = PARAM_RANGE[key as Param];
    if (raw === '' || !Number.isFinite(v) || !range.ok(v)) throw new SmoothSpecError(`smoothing "${text}": ${key}=${raw}: expected ${range.text}`);
    spec[key as Param] = v;
  }
  return spec;
}

/** The canonical text of a spec, every parameter of its method written out: "motion:alpha=0.3,tau=16,margin=0,cut=40". */
export function formatSmoothSpec(spec: SmoothSpec): string {
  const names = Object.keys(SMOOTH_METHODS[spec.method]) as Param[];
  return names.length ? `${spec.method}:${names.map((k) => `${k}=${spec[k]}`).join(',')}` : spec.method;
}

/** Mean absolute difference of two RGB frames over every pixel and channel (0–255). */
export function meanFrameDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new RangeError(`meanFrameDifference: frames of ${a.length} and ${b.length} bytes`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return a.length ? sum / a.length : 0;
}

const GATE_RADIUS = 1;

/** Per-pixel mean absolute RGB difference, averaged over a (2r+1)² box clipped at the borders. */
function localDifference(a: Uint8Array, b: Uint8Array, width: number, height: number, out: Float32Array, tmp: Float32Array): void {
  const hw = width * height;
  for (let p = 0, i = 0; p < hw; p++, i += 3) out[p] = (Math.abs(a[i]! - b[i]!) + Math.abs(a[i + 1]! - b[i + 1]!) + Math.abs(a[i + 2]! - b[i + 2]!)) / 3;
  const r = GATE_RADIUS;
  // separable box: rows into tmp, then columns back into out
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let sum = 0;
    for (let x = 0; x < Math.min(r, width); x++) sum += out[row + x]!;
    for (let x = 0; x < width; x++) {
      if (x + r < width) sum += out[row + x + r]!;
      if (x - r - 1 >= 0) sum -= out[row + x - r - 1]!;
      tmp[row + x] = sum / (Math.min(width - 1, x + r) - Math.max(0, x - r) + 1);
    }
  }
  for (let x = 0; x < width; x++) {
    let sum = 0;
    for (let y = 0; y < Math.min(r, height); y++) sum += tmp[y * width + x]!;
    for (let y = 0; y < height; y++) {
      if (y + r < height) sum += tmp[(y + r) * width + x]!;
      if (y - r - 1 >= 0) sum -= tmp[(y - r - 1) * width + x]!;
      out[y * width + x] = sum / (Math.min(height - 1, y + r) - Math.max(0, y - r) + 1);
    }
  }
}

/** What one step gives: the scores whose argmax is the frame's classes, and whether the smoother (re)started on it. */
export interface SmoothStep {
  /**
   * Class-major scores (numClasses × height × width) at the probabilities' size: the smoothed probabilities
   * plus the hysteresis margin on each pixel's previous class. Upsample them bilinearly and take the argmax
   * for full-size ids. Owned by the smoother: valid until the next step.
   */
  scores: Float32Array;
  /** the scores' size: the probabilities' own, or flow's grid */
  width: number;
  height: number;
  /** the first frame, a frame of another size, or a scene cut: the scores are the frame's own probabilities */
  restarted: boolean;
}

/**
 * The smoother of one video. Probabilities may be at the model's output size (cheap: smoothing costs a
 * fraction of the model) while the frame is given at its own size; it is reduced to the probabilities' size
 * by area averaging for the cut test and the motion gate.
 */
export class TemporalSmoother {
  private state: Float32Array | null = null;
  private scores: Float32Array | null = null;
  private small: Uint8Array | null = null;
  private prevSmall: Uint8Array | null = null;
  private prevIds: Uint8Array | null = null;
  private gate: Float32Array | null = null;
  private tmp: Float32Array | null = null;
  private width = 0;
  private height = 0;
  private flow: FlowState | null = null;
  /** frames seen, and scene cuts detected (restarts other than first frames and size changes) */
  frames = 0;
  cuts = 0;

  constructor(
    readonly spec: SmoothSpec,
    readonly numClasses: number,
  ) {
    if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 256) throw new RangeError(`TemporalSmoother: ${numClasses} classes; expected 1 to 256 (8-bit class ids)`);
  }

  /** Forgets the video: the next frame is a first frame. */
  reset(): void {
    this.state = null;
    this.flow = null;
  }

  /**
   * One frame: its class probabilities (class-major, numClasses × height × width) and the frame itself as
   * RGB (imageHeight × imageWidth × 3, any size; default the probabilities' size).
   */
  step(probs: Float32Array, width: number, height: number, image: Uint8Array, imageWidth = width, imageHeight = height): SmoothStep {
    const hw = width * height;
    const k = this.numClasses;
    if (probs.length !== k * hw) throw new RangeError(`TemporalSmoother: ${probs.length} probabilities, expected ${k} classes × ${width}x${height}`);
    if (image.length !== imageWidth * imageHeight * 3) throw new RangeError(`TemporalSmoother: the frame has ${image.length} bytes, expected ${imageWidth}x${imageHeight}x3 (RGB)`);
    this.frames++;
    if (this.spec.method === 'flow') return this.flowStep(probs, width, height, image, imageWidth, imageHeight);
    let restart = this.state === null || width !== this.width || height !== this.height;
    if (restart) this.allocate(width, height);
    const small = areaResizeRgb(image, imageWidth, imageHeight, width, height, this.small!);
    if (!restart && this.spec.cut > 0 && meanFrameDifference(small, this.prevSmall!) > this.spec.cut) {
      restart = true;
      this.cuts++;
    }
    const s = this.state!;
    const { alpha, tau, margin } = this.spec;
    const gated = tau > 0 && !restart;
    const gate = this.gate!;
    if (gated) {
      localDifference(small, this.prevSmall!, width, height, gate, this.tmp!);
      for (let p = 0; p < hw; p++) gate[p] = Math.min(1, gate[p]! / tau);
    }
    if (restart || alpha >= 1 || this.spec.method === 'none') s.set(probs);
    else if (gated) {
      for (let c = 0; c < k; c++) {
        const base = c * hw;
        for (let p = 0; p < hw; p++) s[base + p]! += (alpha + (1 - alpha) * gate[p]!) * (probs[base + p]! - s[base + p]!);
      }
    } else {
      for (let i = 0; i < s.length; i++) s[i]! += alpha * (probs[i]! - s[i]!);
    }
    const scores = this.scores!;
    scores.set(s);
    if (margin > 0 && !restart) {
      const prev = this.prevIds!;
      for (let p = 0; p < hw; p++) scores[prev[p]! * hw + p]! += gated ? margin * (1 - gate[p]!) : margin;
    }
    argmaxClasses(scores, k, hw, this.prevIds!);
    this.prevSmall!.set(small);
    return { scores, width, height, restarted: restart };
  }

  private flowStep(probs: Float32Array, width: number, height: number, image: Uint8Array, imageWidth: number, imageHeight: number): SmoothStep {
    const g = this.spec.grid > 0 ? gridSize(this.spec.grid, imageWidth, imageHeight) : { width, height };
    const first = !this.flow || this.flow.width !== g.width || this.flow.height !== g.height;
    if (first) {
      this.flow = new FlowState(this.spec, this.numClasses, g.width, g.height);
      this.small = new Uint8Array(g.width * g.height * 3);
    }
    const flow = this.flow!;
    const r = flow.step(probs, width, height, areaResizeRgb(image, imageWidth, imageHeight, g.width, g.height, this.small!));
    if (r.restarted && !first) this.cuts++;
    return { scores: flow.scores, width: g.width, height: g.height, restarted: r.restarted };
  }

  private allocate(width: number, height: number): void {
    const hw = width * height;
    this.width = width;
    this.height = height;
    this.state = new Float32Array(this.numClasses * hw);
    this.scores = new Float32Array(this.numClasses * hw);
    this.small = new Uint8Array(hw * 3);
    this.prevSmall = new Uint8Array(hw * 3);
    this.prevIds = new Uint8Array(hw);
    this.gate = new Float32Array(hw);
    this.tmp = new Float32Array(hw);
  }
}

/**
 * An RGB image reduced (or enlarged) to outW × outH by averaging, for each output pixel, the input pixels
 * whose centres fall in its box (at least the nearest one). The same size returns the input.
 */
export function areaResizeRgb(image: Uint8Array, width: number, height: number, outW: number, outH: number, out: Uint8Array = new Uint8Array(outW * outH * 3)): Uint8Array {
  if (width === outW && height === outH) return image;
  const span = (i: number, n: number, m: number): [number, number] => {
    const a = Math.min(n - 1, Math.floor((i * n) / m));
    return [a, Math.max(a + 1, Math.min(n, Math.floor(((i + 1) * n) / m)))];
  };
  for (let y = 0; y < outH; y++) {
    const [y0, y1] = span(y, height, outH);
    for (let x = 0; x < outW; x++) {
      const [x0, x1] = span(x, width, outW);
      let r = 0;
      let g = 0;
      let b = 0;
      for (let yy = y0; yy < y1; yy++) {
        for (let xx = x0, i = (yy * width + x0) * 3; xx < x1; xx++, i += 3) {
          r += image[i]!;
          g += image[i + 1]!;
          b += image[i + 2]!;
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (y * outW + x) * 3;
      out[o] = Math.round(r / n);
      out[o + 1] = Math.round(g / n);
      out[o + 2] = Math.round(b / n);
    }
  }
  return out;
}
