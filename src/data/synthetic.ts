// Seeded synthetic driving scenes, written in the CamSeq01 layout (<frame>.png, <frame>_L.png colour labels
// in the CamVid 32-class palette, label_colors.txt, label_colors11.txt), so every loader and command can be
// exercised without the real data and a model can be smoke-trained on something learnable.
//
// A scene is painted back to front: sky (gradient), buildings with windows, road (perspective trapezoid,
// dashed lane marks), sidewalks, fences, trees, poles with signs, cars, pedestrians and cyclists, sized by
// their distance to the horizon; sometimes a void patch. The label gets the object's CamVid class colour
// (lane marks, walls, SUVs, children... use their own 32-class colours, so the 11-class grouping is
// exercised); the image gets a plausible appearance colour with per-object jitter, texture, a 3x3 blur
// (soft edges, as a camera gives) and Gaussian pixel noise. Everything derives from rng(hashSeed(seed, i)),
// so frame i is the same whatever the count, and a run is byte-for-byte reproducible (same sharp/libpng).
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../util/fs.js';
import { hashSeed, rng, type Rng } from '../util/random.js';
import { CAMVID11_GROUPING, CAMVID32, colorizeLabel, IGNORE_INDEX } from './palette.js';

const CLS = (name: string): number => {
  const i = CAMVID32.findIndex((e) => e.name === name);
  if (i < 0) throw new Error(`synthetic: no CamVid class ${name}`);
  return i;
};
const C = {
  sky: CLS('Sky'), building: CLS('Building'), wall: CLS('Wall'), road: CLS('Road'), lane: CLS('LaneMkgsDriv'),
  sidewalk: CLS('Sidewalk'), tree: CLS('Tree'), veg: CLS('VegetationMisc'), car: CLS('Car'), suv: CLS('SUVPickupTruck'),
  pole: CLS('Column_Pole'), sign: CLS('SignSymbol'), fence: CLS('Fence'), ped: CLS('Pedestrian'), child: CLS('Child'),
  bike: CLS('Bicyclist'), void: CLS('Void'), light: CLS('TrafficLight'),
};

type Col = [number, number, number];
type Shade = (x: number, y: number) => Col;

/** A rendered scene: RGB HWC image and per-pixel index into CAMVID32. */
export interface SyntheticScene {
  width: number;
  height: number;
  image: Uint8Array;
  /** CAMVID32 index per pixel. */
  classes: Uint8Array;
}

class Canvas {
  readonly rgb: Float32Array;
  readonly cls: Uint8Array;
  constructor(
    readonly w: number,
    readonly h: number,
  ) {
    this.rgb = new Float32Array(w * h * 3);
    this.cls = new Uint8Array(w * h);
  }
  private put(x: number, y: number, c: number, shade: Shade): void {
    const p = y * this.w + x;
    this.cls[p] = c;
    const s = shade(x, y);
    this.rgb[p * 3] = s[0];
    this.rgb[p * 3 + 1] = s[1];
    this.rgb[p * 3 + 2] = s[2];
  }
  rect(x0: number, y0: number, x1: number, y1: number, c: number, shade: Shade): void {
    const xa = Math.max(0, Math.round(x0)), xb = Math.min(this.w, Math.round(x1));
    const ya = Math.max(0, Math.round(y0)), yb = Math.min(this.h, Math.round(y1));
    for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) this.put(x, y, c, shade);
  }
  /** Scanline fill (even-odd), pixel centres. */
  poly(pts: [number, number][], c: number, shade: Shade): void {
    const ys = pts.map((p) => p[1]);
    const ya = Math.max(0, Math.floor(Math.min(...ys))), yb = Math.min(this.h - 1, Math.ceil(Math.max(...ys)));
    for (let y = ya; y <= yb; y++) {
      const yc = y + 0.5;
      const xs: number[] = [];
      for (let i = 0; i < pts.length; i++) {
        const [ax, ay] = pts[i]!;
        const [bx, by] = pts[(i + 1) % pts.length]!;
        if (ay <= yc !== by <= yc) xs.push(ax + ((yc - ay) / (by - ay)) * (bx - ax));
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const xa = Math.max(0, Math.ceil(xs[k]! - 0.5)), xb = Math.min(this.w - 1, Math.floor(xs[k + 1]! - 0.5));
        for (let x = xa; x <= xb; x++) this.put(x, y, c, shade);
      }
    }
  }
  ellipse(cx: number, cy: number, rx: number, ry: number, c: number, shade: Shade): void {
    const ya = Math.max(0, Math.floor(cy - ry)), yb = Math.min(this.h - 1, Math.ceil(cy + ry));
    for (let y = ya; y <= yb; y++) {
      const dy = (y + 0.5 - cy) / ry;
      if (dy * dy > 1) continue;
      const half = rx * Math.sqrt(1 - dy * dy);
      const xa = Math.max(0, Math.ceil(cx - half - 0.5)), xb = Math.min(this.w - 1, Math.floor(cx + half - 0.5));
      for (let x = xa; x <= xb; x++) this.put(x, y, c, shade);
    }
  }
}

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);
const flat = (c: Col): Shade => () => c;
function jitter(r: Rng, c: Col, amount: number): Col {
  const k = r.uniform(1 - amount, 1 + amount);
  return [clamp(c[0] * k + r.normal() * 8), clamp(c[1] * k + r.normal() * 8), clamp(c[2] * k + r.normal() * 8)];
}

/** Renders scene `index` of the run `seed` (deterministic). */
export function renderScene(seed: number, index: number, width = 480, height = 360): SyntheticScene {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16) {
    throw new RangeError(`renderScene: size must be at least 16x16, got ${width}x${height}`);
  }
  const r = rng(hashSeed(seed, index));
  const W = width, H = height;
  const cv = new Canvas(W, H);
  const horizon = H * r.uniform(0.36, 0.5);
  const vx = W * r.uniform(0.4, 0.6); // vanishing point
  const depth = (y: number): number => Math.max(0.02, (y - horizon) / (H - horizon)); // 0 at horizon, 1 at bottom

  // Sky: vertical gradient from deep to pale blue (or overcast grey).
  const overcast = r.next() < 0.35;
  const skyTop: Col = overcast ? [150, 155, 165] : [70, 120, 200];
  const skyBot: Col = overcast ? [205, 210, 215] : [175, 205, 235];
  cv.rect(0, 0, W, H, C.sky, (_x, y) => {
    const t = Math.min(1, y / Math.max(1, horizon));
    return [skyTop[0] + (skyBot[0] - skyTop[0]) * t, skyTop[1] + (skyBot[1] - skyTop[1]) * t, skyTop[2] + (skyBot[2] - skyTop[2]) * t];
  });

  // Buildings on both sides, reaching down a little below the horizon (where the sidewalk starts).
  const base = horizon + H * 0.04;
  for (const side of [0, 1]) {
    let x = side === 0 ? -W * 0.05 : vx + W * r.uniform(0.02, 0.1);
    const end = side === 0 ? vx - W * r.uniform(0.02, 0.1) : W * 1.05;
    while (x < end) {
      const bw = W * r.uniform(0.08, 0.22);
      const top = horizon - H * r.uniform(0.08, 0.42);
      const wall = r.next() < 0.2;
      const col = jitter(r, wall ? [150, 140, 125] : ([[150, 90, 70], [175, 160, 140], [120, 120, 125], [190, 180, 160]][r.int(4)] as Col), 0.15);
      const x1 = Math.min(x + bw, end);
      const wx = r.uniform(8, 16), wy = r.uniform(10, 18), winDark = r.uniform(0.35, 0.6);
      cv.rect(x, wall ? horizon - H * 0.08 : top, x1, base, wall ? C.wall : C.building, (px, py) => {
        const inWin = !wall && (px - x) % wx > wx * 0.45 && (py - top) % wy > wy * 0.5 && py < base - 6;
        const k = inWin ? winDark : 1 + 0.06 * Math.sin(py * 0.9);
        return [col[0] * k, col[1] * k, col[2] * k];
      });
      x = x1;
    }
  }

  // Road trapezoid from the vanishing point, sidewalks on either side.
  const roadL = W * r.uniform(0.02, 0.22), roadR = W * r.uniform(0.78, 0.98);
  const topHalf = W * 0.03;
  const roadCol = jitter(r, [85, 82, 88], 0.15);
  cv.poly([[vx - topHalf, base], [vx + topHalf, base], [roadR, H], [roadL, H]], C.road, (px, py) => {
    const k = 1 + 0.05 * Math.sin(px * 0.31 + py * 0.17) * Math.sin(py * 0.23);
    return [roadCol[0] * k, roadCol[1] * k, roadCol[2] * k];
  });
  const swCol = jitter(r, [160, 150, 140], 0.12);
  const swShade: Shade = (px, py) => {
    const k = ((Math.floor(px / 9) + Math.floor(py / 5)) & 1) === 0 ? 1 : 0.93; // paving slabs
    return [swCol[0] * k, swCol[1] * k, swCol[2] * k];
  };
  cv.poly([[0, base], [vx - topHalf, base], [roadL, H], [0, H]], C.sidewalk, swShade);
  cv.poly([[vx + topHalf, base], [W, base], [W, H], [roadR, H]], C.sidewalk, swShade);
  // The road edge line on the road at x(t) between the vanishing point and the bottom corners.
  const roadX = (t: number, at: number): number => vx + (at - vx) * t; // at = bottom x, t = depth
  // Dashed centre lane marks.
  const laneBottom = (roadL + roadR) / 2 + W * r.uniform(-0.05, 0.05);
  for (let t0 = r.uniform(0.02, 0.12); t0 < 1; t0 += 0.22) {
    const t1 = Math.min(1, t0 + 0.11);
    const y0 = base + (H - base) * t0, y1 = base + (H - base) * t1;
    const w0 = W * 0.004 + W * 0.012 * t0, w1 = W * 0.004 + W * 0.012 * t1;
    const x0 = roadX(t0, laneBottom), x1 = roadX(t1, laneBottom);
    cv.poly([[x0 - w0, y0], [x0 + w0, y0], [x1 + w1, y1], [x1 - w1, y1]], C.lane, flat([228, 226, 215]));
  }

  // Objects, painted far to near. Each gets a foot position (y on the ground) and a scale from it.
  type Obj = { y: number; draw: () => void };
  const objs: Obj[] = [];
  const onSidewalk = (t: number, left: boolean): number => {
    const edge = roadX(t, left ? roadL : roadR);
    return left ? r.uniform(edge * 0.15, edge - W * 0.02 * t) : r.uniform(edge + W * 0.02 * t, edge + (W - edge) * 0.85);
  };
  const groundY = (t: number): number => base + (H - base) * t;
  const nTrees = r.int(4);
  for (let i = 0; i < nTrees; i++) {
    const t = r.uniform(0.05, 0.6), left = r.next() < 0.5, y = groundY(t), s = depth(y) * H;
    const x = onSidewalk(t, left);
    const leaf = jitter(r, [60, 110, 45], 0.2);
    const trunk = jitter(r, [90, 70, 50], 0.1);
    const cls = r.next() < 0.3 ? C.veg : C.tree;
    const ph = r.uniform(0, 6);
    objs.push({ y, draw: () => {
      cv.rect(x - s * 0.03, y - s * 0.7, x + s * 0.03, y, C.tree, flat(trunk));
      cv.ellipse(x, y - s * 0.85, s * r.uniform(0.22, 0.35), s * r.uniform(0.25, 0.4), cls, (px, py) => {
        const k = 0.8 + 0.2 * Math.sin(px * 0.7 + ph) * Math.cos(py * 0.6 - ph);
        return [leaf[0] * k, leaf[1] * k, leaf[2] * k];
      });
    } });
  }
  const nPoles = 1 + r.int(3);
  for (let i = 0; i < nPoles; i++) {
    const t = r.uniform(0.05, 0.7), left = r.next() < 0.5, y = groundY(t), s = depth(y) * H;
    const x = onSidewalk(t, left);
    const hasSign = r.next() < 0.6, light = r.next() < 0.3;
    objs.push({ y, draw: () => {
      cv.rect(x - Math.max(1, s * 0.012), y - s * 1.1, x + Math.max(1, s * 0.012), y, C.pole, flat([110, 110, 105]));
      if (hasSign) {
        const signCol: Col = light ? [30, 30, 30] : r.next() < 0.5 ? [200, 40, 40] : [40, 80, 190];
        cv.rect(x - s * 0.06, y - s * 1.18, x + s * 0.06, y - s * (light ? 0.95 : 1.05), light ? C.light : C.sign, flat(signCol));
      }
    } });
  }
  if (r.next() < 0.5) {
    const left = r.next() < 0.5;
    const t0 = r.uniform(0.05, 0.3), t1 = Math.min(1, t0 + r.uniform(0.2, 0.5));
    const fc = jitter(r, [120, 100, 80], 0.15);
    objs.push({ y: groundY(t0), draw: () => {
      const xa = roadX(t0, left ? roadL : roadR) + (left ? -1 : 1) * W * 0.03, xb = roadX(t1, left ? roadL : roadR) + (left ? -1 : 1) * W * 0.06;
      const ya = groundY(t0), yb = groundY(t1);
      const ha = depth(ya) * H * 0.25, hb = depth(yb) * H * 0.25;
      cv.poly([[xa, ya - ha], [xb, yb - hb], [xb, yb], [xa, ya]], C.fence, (px) => {
        const k = Math.floor(px / 4) % 2 === 0 ? 1 : 0.7; // slats
        return [fc[0] * k, fc[1] * k, fc[2] * k];
      });
    } });
  }
  const nCars = r.int(5);
  for (let i = 0; i < nCars; i++) {
    const t = r.uniform(0.05, 0.9), y = groundY(t), s = depth(y) * H;
    const lane = r.uniform(0.15, 0.85);
    const x = roadX(t, roadL + (roadR - roadL) * lane);
    const big = r.next() < 0.3;
    const cw = s * (big ? 0.75 : 0.6), ch = s * (big ? 0.5 : 0.38);
    const body = jitter(r, ([[180, 30, 30], [30, 60, 150], [200, 200, 205], [30, 30, 35], [160, 160, 60]][r.int(5)] as Col), 0.15);
    objs.push({ y, draw: () => {
      const cls = big ? C.suv : C.car;
      cv.rect(x - cw / 2, y - ch, x + cw / 2, y - ch * 0.15, cls, (_px, py) => {
        const k = 1 - 0.25 * ((py - (y - ch)) / ch);
        return [body[0] * k, body[1] * k, body[2] * k];
      });
      cv.rect(x - cw * 0.38, y - ch * 1.35, x + cw * 0.38, y - ch * 0.95, cls, flat([body[0] * 0.8, body[1] * 0.8, body[2] * 0.8]));
      cv.rect(x - cw * 0.32, y - ch * 1.28, x + cw * 0.32, y - ch * 1.0, cls, flat([60, 75, 95])); // windscreen
      cv.ellipse(x - cw * 0.32, y - ch * 0.15, cw * 0.1, ch * 0.16, cls, flat([20, 20, 20]));
      cv.ellipse(x + cw * 0.32, y - ch * 0.15, cw * 0.1, ch * 0.16, cls, flat([20, 20, 20]));
    } });
  }
  const nPeds = r.int(4);
  for (let i = 0; i < nPeds; i++) {
    const t = r.uniform(0.05, 0.8), left = r.next() < 0.5, y = groundY(t);
    const child = r.next() < 0.2;
    const s = depth(y) * H * 0.7 * (child ? 0.6 : 1);
    const x = onSidewalk(t, left);
    const shirt = jitter(r, [[200, 60, 60], [60, 60, 160], [230, 230, 230], [40, 120, 60]][r.int(4)] as Col, 0.2);
    objs.push({ y, draw: () => {
      const cls = child ? C.child : C.ped;
      cv.rect(x - s * 0.05, y - s * 0.4, x + s * 0.05, y, cls, flat([40, 40, 60])); // legs
      cv.rect(x - s * 0.07, y - s * 0.75, x + s * 0.07, y - s * 0.38, cls, flat(shirt));
      cv.ellipse(x, y - s * 0.83, s * 0.05, s * 0.07, cls, flat([200, 160, 130]));
    } });
  }
  if (r.next() < 0.35) {
    const t = r.uniform(0.1, 0.8), y = groundY(t), s = depth(y) * H * 0.8;
    const x = roadX(t, roadL + (roadR - roadL) * r.uniform(0.05, 0.25));
    const jacket = jitter(r, [230, 180, 30], 0.2);
    objs.push({ y, draw: () => {
      for (const dx of [-0.16, 0.16]) cv.ellipse(x + dx * s, y - s * 0.12, s * 0.12, s * 0.12, C.bike, flat([25, 25, 25]));
      cv.rect(x - s * 0.16, y - s * 0.16, x + s * 0.16, y - s * 0.12, C.bike, flat([150, 150, 160]));
      cv.rect(x - s * 0.05, y - s * 0.62, x + s * 0.05, y - s * 0.16, C.bike, flat(jacket));
      cv.ellipse(x, y - s * 0.7, s * 0.05, s * 0.07, C.bike, flat([200, 160, 130]));
    } });
  }
  objs.sort((a, b) => a.y - b.y);
  for (const o of objs) o.draw();

  // Occasionally an unlabelled (void) patch, as CamVid has.
  if (r.next() < 0.3) {
    const vw = W * r.uniform(0.05, 0.15), vh = H * r.uniform(0.03, 0.08);
    const x0 = r.uniform(0, W - vw), y0 = r.uniform(H * 0.1, H - vh);
    cv.rect(x0, y0, x0 + vw, y0 + vh, C.void, flat(jitter(r, [90, 80, 70], 0.3)));
  }

  // 3x3 box blur of the image (soft edges), global illumination, then pixel noise.
  const img = new Uint8Array(W * H * 3);
  const gain = r.uniform(0.85, 1.15);
  const noise = r.uniform(3, 7);
  const src = cv.rgb;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0, n = 0;
        for (let dy = -1; dy <= 1; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= H) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= W) continue;
            sum += src[(yy * W + xx) * 3 + c]!;
            n++;
          }
        }
        img[(y * W + x) * 3 + c] = Math.round(clamp((sum / n) * gain + r.normal() * noise));
      }
    }
  }
  return { width: W, height: H, image: img, classes: cv.cls };
}

const CAMVID32_COLORS = CAMVID32.map((e) => e.color);

/** Colour label (CamVid 32-class palette colours) for a scene. */
export function sceneLabelRgb(scene: SyntheticScene): Uint8Array {
  return colorizeLabel(scene.classes, CAMVID32_COLORS, IGNORE_INDEX, [0, 0, 0], 'synthetic scene');
}

export interface SynthOptions {
  count: number;
  seed: number;
  width?: number;
  height?: number;
  /** Frame name prefix, default "synth". Frames are <prefix>_<00000>. */
  prefix?: string;
  onProgress?: (done: number, total: number) => void;
}

export function labelColorsText(): string {
  return CAMVID32.map((e) => `${e.color.join(' ')}\t${e.name}`).join('\n') + '\n';
}

export function labelColors11Text(): string {
  return CAMVID11_GROUPING.map((e) => `${e.color.join(' ')}`.padEnd(12) + e.name).join('\n') + '\n';
}

async function png(data: Uint8Array, w: number, h: number): Promise<Buffer> {
  return sharp(data, { raw: { width: w, height: h, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
}

/** Writes count scenes plus the palette files into dir (CamSeq01 layout). Returns the frame ids. */
export async function writeSyntheticDataset(dir: string, opts: SynthOptions): Promise<string[]> {
  const { count, seed } = opts;
  const width = opts.width ?? 480, height = opts.height ?? 360;
  const prefix = opts.prefix ?? 'synth';
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`synth: count must be a positive integer, got ${count}`);
  if (!Number.isFinite(seed)) throw new RangeError(`synth: seed must be a number, got ${seed}`);
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, 'label_colors.txt'), labelColorsText());
  writeFileAtomic(path.join(dir, 'label_colors11.txt'), labelColors11Text());
  const digits = Math.max(5, String(count - 1).length);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${prefix}_${String(i).padStart(digits, '0')}`;
    const scene = renderScene(seed, i, width, height);
    const [a, b] = await Promise.all([png(scene.image, width, height), png(sceneLabelRgb(scene), width, height)]);
    writeFileAtomic(path.join(dir, `${id}.png`), a);
    writeFileAtomic(path.join(dir, `${id}_L.png`), b);
    ids.push(id);
    opts.onProgress?.(i + 1, count);
  }
  return ids;
}
