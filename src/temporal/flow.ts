// Motion-compensated smoothing (the `flow` method): the running state of class probabilities is carried along
// the camera's and the scene's motion before it is averaged with the new frame, so that an object keeps its
// class as it moves instead of being smeared where it was. Everything runs on a grid finer than a coarse
// model's output (probabilities upsampled bilinearly to it): smoothing at a 16-pixel grid blurs thin classes,
// at a 4-pixel one it does not.
//
// Per frame, at the grid (gray = mean of RGB, area-averaged from the frame):
//   1. motion: block matching of the new frame against the previous one (blocks of BLOCK×BLOCK cells, every
//      displacement within ±RANGE cells, mean absolute difference plus a small penalty on the displacement so
//      flat regions keep zero motion; sub-cell parabola fit unless the block is still; 3×3 median of the
//      block field; bilinear between block centres). Cheap beside dense optical flow, and enough for a dashcam's smooth motion fields.
//   2. warp: state, previous classes and previous gray sampled at where each cell came from.
//   3. gate: the residual |gray − warped previous gray| over a 3×3 box says where the motion does not explain
//      the frame (occlusion, a moving object the blocks missed): there the new frame wins, g = min(1, (r/τ)²);
//      cells whose source lies outside the previous frame take g = 1. A frame whose mean residual exceeds
//      `cut` is one the motion does not explain at all (a scene cut, or frames too far apart): restart.
//   4. s ← w + (α + (1 − α)·g)·(p − w), scores = s + margin·(1 − g) on each cell's warped previous class.
// Plain typed arrays only, like the rest of src/temporal.
import { bilinearTaps } from '../data/preprocess.js';
import { argmaxClasses } from '../data/class-map.js';

/** block side and search range, in grid cells; at a 120-column grid for 480-pixel frames: 16 and ±24 pixels */
const BLOCK = 4;
const RANGE = 6;
/** cost per cell of displacement (in gray levels): between equal matches, the smaller motion */
const MOTION_PENALTY = 0.02;

export interface FlowParams {
  alpha: number;
  tau: number;
  margin: number;
  cut: number;
  /** grid columns (rows follow the frame's aspect ratio) */
  grid: number;
}

/** The grid for a frame of width × height: `columns` across (never more than the frame), rows by aspect ratio. */
export function gridSize(columns: number, width: number, height: number): { width: number; height: number } {
  const w = Math.max(1, Math.min(width, Math.round(columns)));
  return { width: w, height: Math.max(1, Math.min(height, Math.round((height * w) / width))) };
}

/** Class-major planes C × h × w resized to C × H × W: bilinear (PyTorch's align_corners=False taps). */
export function resizePlanes(src: Float32Array, planes: number, w: number, h: number, W: number, H: number, out: Float32Array = new Float32Array(planes * W * H)): Float32Array {
  if (src.length !== planes * w * h) throw new RangeError(`resizePlanes: ${src.length} values, expected ${planes} × ${w}x${h}`);
  if (w === W && h === H) {
    out.set(src);
    return out;
  }
  const X = bilinearTaps(w, W);
  const Y = bilinearTaps(h, H);
  const hw = w * h;
  const HW = W * H;
  for (let c = 0; c < planes; c++) {
    const b = c * hw;
    const o = c * HW;
    for (let y = 0; y < H; y++) {
      const r0 = b + Y.i0[y]! * w;
      const r1 = b + Y.i1[y]! * w;
      const fy = Y.l1[y]!;
      for (let x = 0; x < W; x++) {
        const x0 = X.i0[x]!;
        const x1 = X.i1[x]!;
        const fx = X.l1[x]!;
        const top = src[r0 + x0]! + fx * (src[r0 + x1]! - src[r0 + x0]!);
        const bot = src[r1 + x0]! + fx * (src[r1 + x1]! - src[r1 + x0]!);
        out[o + y * W + x] = top + fy * (bot - top);
      }
    }
  }
  return out;
}

/** Mean of the three channels of RGB HWC pixels. */
function grayOf(rgb: Uint8Array, out: Float32Array): void {
  for (let p = 0, i = 0; p < out.length; p++, i += 3) out[p] = (rgb[i]! + rgb[i + 1]! + rgb[i + 2]!) / 3;
}

/**
 * Where each cell of `cur` came from in `prev` (both W × H gray): the displacement (fx, fy) per cell, so that
 * cur(x, y) ≈ prev(x + fx, y + fy). Block matching; see the file comment.
 */
export function blockMotion(cur: Float32Array, prev: Float32Array, W: number, H: number, fx: Float32Array, fy: Float32Array): void {
  const bw = Math.ceil(W / BLOCK);
  const bh = Math.ceil(H / BLOCK);
  const side = 2 * RANGE + 1;
  const cost = new Float32Array(side * side);
  const vx = new Float32Array(bw * bh);
  const vy = new Float32Array(bw * bh);
  for (let by = 0; by < bh; by++) {
    for (let bx = 0; bx < bw; bx++) {
      const x0 = bx * BLOCK;
      const y0 = by * BLOCK;
      const x1 = Math.min(W, x0 + BLOCK);
      const y1 = Math.min(H, y0 + BLOCK);
      const cells = (x1 - x0) * (y1 - y0);
      let best = Infinity;
      let bdx = 0;
      let bdy = 0;
      for (let dy = -RANGE; dy <= RANGE; dy++) {
        const ya = Math.max(y0, -dy);
        const yb = Math.min(y1, H - dy);
        for (let dx = -RANGE; dx <= RANGE; dx++) {
          const xa = Math.max(x0, -dx);
          const xb = Math.min(x1, W - dx);
          let c = Infinity;
          // at least half the block must land inside the previous frame
          if (2 * (yb - ya) * (xb - xa) > cells) {
            let s = 0;
            for (let y = ya; y < yb; y++) {
              const r = y * W;
              const q = (y + dy) * W + dx;
              for (let x = xa; x < xb; x++) s += Math.abs(cur[r + x]! - prev[q + x]!);
            }
            c = s / ((yb - ya) * (xb - xa)) + MOTION_PENALTY * (Math.abs(dx) + Math.abs(dy));
          }
          cost[(dy + RANGE) * side + dx + RANGE] = c;
          if (c < best) {
            best = c;
            bdx = dx;
            bdy = dy;
          }
        }
      }
      const at = (dx: number, dy: number) => (Math.abs(dx) <= RANGE && Math.abs(dy) <= RANGE ? cost[(dy + RANGE) * side + dx + RANGE]! : Infinity);
      // a block that matches best unmoved stays unmoved: a sub-cell fit there (biased by the texture's
      // asymmetry) would make a still scene's state drift a little further every frame
      const still = bdx === 0 && bdy === 0;
      vx[by * bw + bx] = still ? 0 : bdx + subCell(at(bdx - 1, bdy), best, at(bdx + 1, bdy));
      vy[by * bw + bx] = still ? 0 : bdy + subCell(at(bdx, bdy - 1), best, at(bdx, bdy + 1));
    }
  }
  const mx = median3x3(vx, bw, bh);
  const my = median3x3(vy, bw, bh);
  // bilinear between block centres, clamped at the outer centres
  for (let y = 0; y < H; y++) {
    const gy = Math.max(0, Math.min(bh - 1, (y + 0.5) / BLOCK - 0.5));
    const j0 = Math.floor(gy);
    const j1 = Math.min(bh - 1, j0 + 1);
    const ty = gy - j0;
    for (let x = 0; x < W; x++) {
      const gx = Math.max(0, Math.min(bw - 1, (x + 0.5) / BLOCK - 0.5));
      const i0 = Math.floor(gx);
      const i1 = Math.min(bw - 1, i0 + 1);
      const tx = gx - i0;
      const a = (1 - ty) * (1 - tx);
      const b = (1 - ty) * tx;
      const c = ty * (1 - tx);
      const d = ty * tx;
      const p00 = j0 * bw + i0;
      const p01 = j0 * bw + i1;
      const p10 = j1 * bw + i0;
      const p11 = j1 * bw + i1;
      fx[y * W + x] = a * mx[p00]! + b * mx[p01]! + c * mx[p10]! + d * mx[p11]!;
      fy[y * W + x] = a * my[p00]! + b * my[p01]! + c * my[p10]! + d * my[p11]!;
    }
  }
}

/** Offset of a parabola's minimum through (−1, l), (0, m), (1, r), within ±½ (0 when not a proper minimum). */
function subCell(l: number, m: number, r: number): number {
  const d = l - 2 * m + r;
  if (!Number.isFinite(l) || !Number.isFinite(r) || !(d > 0)) return 0;
  return Math.max(-0.5, Math.min(0.5, (l - r) / (2 * d)));
}

function median3x3(v: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(v.length);
  const win: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      win.length = 0;
      for (let j = Math.max(0, y - 1); j <= Math.min(h - 1, y + 1); j++) for (let i = Math.max(0, x - 1); i <= Math.min(w - 1, x + 1); i++) win.push(v[j * w + i]!);
      win.sort((a, b) => a - b);
      out[y * w + x] = win.length % 2 ? win[win.length >> 1]! : (win[(win.length >> 1) - 1]! + win[win.length >> 1]!) / 2;
    }
  }
  return out;
}

/** One video's motion-compensated state at the grid; TemporalSmoother drives it. */
export class FlowState {
  readonly width: number;
  readonly height: number;
  private readonly hw: number;
  private readonly probs: Float32Array;
  private readonly state: Float32Array;
  private readonly warped: Float32Array;
  readonly scores: Float32Array;
  private cur: Float32Array;
  private prev: Float32Array;
  private readonly fx: Float32Array;
  private readonly fy: Float32Array;
  private readonly gate: Float32Array;
  private readonly tmp: Float32Array;
  private prevIds: Uint8Array;
  private warpedIds: Uint8Array;
  private started = false;

  constructor(
    readonly p: FlowParams,
    readonly numClasses: number,
    width: number,
    height: number,
  ) {
    this.width = width;
    this.height = height;
    const hw = (this.hw = width * height);
    const n = numClasses * hw;
    this.probs = new Float32Array(n);
    this.state = new Float32Array(n);
    this.warped = new Float32Array(n);
    this.scores = new Float32Array(n);
    this.cur = new Float32Array(hw);
    this.prev = new Float32Array(hw);
    this.fx = new Float32Array(hw);
    this.fy = new Float32Array(hw);
    this.gate = new Float32Array(hw);
    this.tmp = new Float32Array(hw);
    this.prevIds = new Uint8Array(hw);
    this.warpedIds = new Uint8Array(hw);
  }

  /**
   * One frame: probabilities C × pw × ph (any size) and the frame's RGB at the grid size. Returns whether the
   * state (re)started (the first frame, or a frame the motion does not explain, mean residual > cut).
   */
  step(probs: Float32Array, pw: number, ph: number, rgb: Uint8Array): { restarted: boolean; residual: number } {
    const { width: W, height: H, hw, numClasses: k } = this;
    resizePlanes(probs, k, pw, ph, W, H, this.probs);
    grayOf(rgb, this.cur);
    let residual = NaN;
    let restart = !this.started;
    if (!restart) {
      blockMotion(this.cur, this.prev, W, H, this.fx, this.fy);
      residual = this.warp();
      restart = this.p.cut > 0 && residual > this.p.cut;
    }
    if (restart) {
      this.state.set(this.probs);
      this.scores.set(this.probs);
      this.started = true;
    } else this.blend();
    argmaxClasses(this.scores, k, hw, this.prevIds);
    [this.cur, this.prev] = [this.prev, this.cur];
    return { restarted: restart, residual };
  }

  /** Warps state and previous ids along the motion, fills the gate's residual; returns the mean residual. */
  private warp(): number {
    const { width: W, height: H, hw, numClasses: k, state, warped, fx, fy, gate, prev, cur } = this;
    let sum = 0;
    let inside = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const p = y * W + x;
        let sx = x + fx[p]!;
        let sy = y + fy[p]!;
        const inFrame = sx >= -0.5 && sx <= W - 0.5 && sy >= -0.5 && sy <= H - 0.5;
        sx = Math.max(0, Math.min(W - 1, sx));
        sy = Math.max(0, Math.min(H - 1, sy));
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const x1 = Math.min(W - 1, x0 + 1);
        const y1 = Math.min(H - 1, y0 + 1);
        const tx = sx - x0;
        const ty = sy - y0;
        const a = (1 - tx) * (1 - ty);
        const b = tx * (1 - ty);
        const c = (1 - tx) * ty;
        const d = tx * ty;
        const q00 = y0 * W + x0;
        const q01 = y0 * W + x1;
        const q10 = y1 * W + x0;
        const q11 = y1 * W + x1;
        for (let ch = 0, base = 0; ch < k; ch++, base += hw) warped[base + p] = a * state[base + q00]! + b * state[base + q01]! + c * state[base + q10]! + d * state[base + q11]!;
        this.warpedIds[p] = this.prevIds[Math.round(sy) * W + Math.round(sx)]!;
        if (inFrame) {
          const r = Math.abs(cur[p]! - (a * prev[q00]! + b * prev[q01]! + c * prev[q10]! + d * prev[q11]!));
          gate[p] = r;
          sum += r;
          inside++;
        } else gate[p] = -1; // no source: the new frame wins
      }
    }
    boxInside(gate, W, H, this.tmp);
    return inside ? sum / inside : Infinity;
  }

  private blend(): void {
    const { hw, numClasses: k, gate, warped, state, probs, scores } = this;
    const { alpha, tau, margin } = this.p;
    for (let p = 0; p < hw; p++) {
      const r = gate[p]!;
      gate[p] = r < 0 ? 1 : Math.min(1, (r / tau) ** 2);
    }
    for (let c = 0, base = 0; c < k; c++, base += hw) {
      for (let p = 0; p < hw; p++) {
        const w = warped[base + p]!;
        state[base + p] = w + (alpha + (1 - alpha) * gate[p]!) * (probs[base + p]! - w);
      }
    }
    scores.set(state);
    if (margin > 0) for (let p = 0; p < hw; p++) scores[this.warpedIds[p]! * hw + p]! += margin * (1 - gate[p]!);
  }
}

/** 3×3 box mean of the non-negative cells (negative: no value, kept negative), clipped at the borders. */
function boxInside(v: Float32Array, W: number, H: number, tmp: Float32Array): void {
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      if (v[p]! < 0) {
        tmp[p] = -1;
        continue;
      }
      let s = 0;
      let n = 0;
      for (let j = Math.max(0, y - 1); j <= Math.min(H - 1, y + 1); j++) {
        for (let i = Math.max(0, x - 1); i <= Math.min(W - 1, x + 1); i++) {
          const u = v[j * W + i]!;
          if (u >= 0) {
            s += u;
            n++;
          }
        }
      }
      tmp[p] = s / n;
    }
  }
  v.set(tmp);
}
