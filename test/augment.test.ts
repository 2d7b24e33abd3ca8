import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  affine,
  buildPreset,
  compose,
  fromPipelineSpec,
  gridDistortion,
  hflip,
  kernels as K,
  oneOf,
  padCrop,
  pipeline,
  PRESET_NAMES,
  randomScale,
  recipeJitter,
  rotate90,
  shiftScaleRotate,
  vflip,
  type Sample,
} from '../src/data/augment/index.js';
import { hashSeed, rng } from '../src/util/random.js';

const IGNORE = 255;

function makeSample(w: number, h: number, img: (x: number, y: number) => [number, number, number], lab: (x: number, y: number) => number): Sample {
  const image = new Uint8Array(w * h * 3);
  const label = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const [r, g, b] = img(x, y);
      image[i * 3] = r;
      image[i * 3 + 1] = g;
      image[i * 3 + 2] = b;
      label[i] = lab(x, y);
    }
  }
  return { image, label, width: w, height: h };
}

/** Every pixel distinct: r = x, g = y, b = (7x + 13y) mod 256; label = (x + 3y) mod 11. */
function coordSample(w: number, h: number): Sample {
  return makeSample(w, h, (x, y) => [x, y, (7 * x + 13 * y) % 256], (x, y) => (x + 3 * y) % 11);
}

function px(s: Sample, x: number, y: number): [number, number, number] {
  const i = (y * s.width + x) * 3;
  return [s.image[i]!, s.image[i + 1]!, s.image[i + 2]!];
}
function lb(s: Sample, x: number, y: number): number {
  return s.label[y * s.width + x]!;
}

/** Random-looking texture and a block label map with classes 0..5. */
function sceneSample(w: number, h: number, seed = 1): Sample {
  const r = rng(seed);
  return makeSample(
    w,
    h,
    (x, y) => [(x * 5 + r.int(40)) % 256, (y * 3 + r.int(40)) % 256, ((x + y) * 2 + r.int(40)) % 256],
    (x, y) => (Math.floor(x / (w / 3)) + 3 * Math.floor(y / (h / 2))) % 6,
  );
}

function labelSet(s: Sample): Set<number> {
  return new Set(s.label);
}

const CTX = { ignoreIndex: IGNORE, fill: 0 };

function run1(spec: ReturnType<typeof hflip>, s: Sample, seed = 0): Sample {
  return pipeline(spec, CTX).apply(s, seed, 0, 0);
}

describe('geometry', () => {
  it('hflip moves (x, y) to (W-1-x, y) for image and label', () => {
    const s = coordSample(7, 4);
    const f = run1(hflip({ p: 1 }), s);
    assert.equal(f.width, 7);
    assert.equal(f.height, 4);
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 7; x++) {
        assert.deepEqual(px(f, 6 - x, y), px(s, x, y));
        assert.equal(lb(f, 6 - x, y), lb(s, x, y));
      }
    // p = 0 never flips
    assert.deepEqual(run1(hflip({ p: 0 }), s).image, s.image);
  });

  it('vflip moves (x, y) to (x, H-1-y)', () => {
    const s = coordSample(5, 3);
    const f = K.vflip(s);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 5; x++) assert.deepEqual(px(f, x, 2 - y), px(s, x, y));
  });

  it('rot90 k=1 turns a W×H frame counter-clockwise into H×W (np.rot90 semantics)', () => {
    const s = coordSample(5, 3);
    const r = K.rot90(s, 1);
    assert.equal(r.width, 3);
    assert.equal(r.height, 5);
    // corners: top-right → top-left, top-left → bottom-left, bottom-left → bottom-right, bottom-right → top-right
    assert.deepEqual(px(r, 0, 0), px(s, 4, 0));
    assert.deepEqual(px(r, 0, 4), px(s, 0, 0));
    assert.deepEqual(px(r, 2, 4), px(s, 0, 2));
    assert.deepEqual(px(r, 2, 0), px(s, 4, 2));
    assert.equal(lb(r, 0, 0), lb(s, 4, 0));
    // every pixel: (x, y) → (y, W-1-x)
    for (let y = 0; y < 3; y++) for (let x = 0; x < 5; x++) assert.deepEqual(px(r, y, 4 - x), px(s, x, y));
    // k=2 is a point reflection, k=3 the inverse of k=1, k=4 the identity
    const r2 = K.rot90(s, 2);
    assert.deepEqual(px(r2, 0, 0), px(s, 4, 2));
    assert.deepEqual(K.rot90(r, 3).image, s.image);
    assert.deepEqual(K.rot90(r, 3).label, s.label);
    assert.deepEqual(K.rot90(s, 4).image, s.image);
    assert.deepEqual(K.rot90(K.rot90(s, 1), 1).image, r2.image);
  });

  it('rotate90 op draws k from its factors and changes the shape for odd k', () => {
    const s = coordSample(6, 4);
    const shapes = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const out = pipeline(rotate90({ p: 1 }), CTX).apply(s, 3, 0, i);
      shapes.add(`${out.width}x${out.height}`);
    }
    assert.deepEqual([...shapes].sort(), ['4x6', '6x4']);
    const only1 = pipeline(rotate90({ p: 1, factors: [1] }), CTX).apply(s, 0, 0, 0);
    assert.deepEqual(only1.image, K.rot90(s, 1).image);
  });

  it('affine with a pure translation by (3, 5) moves every pixel exactly and fills the rest', () => {
    const s = coordSample(10, 9);
    const t = run1(affine({ p: 1, translatePx: { x: 3, y: 5 } }), s);
    for (let y = 0; y < 9; y++)
      for (let x = 0; x < 10; x++) {
        if (x >= 3 && y >= 5) {
          assert.deepEqual(px(t, x, y), px(s, x - 3, y - 5));
          assert.equal(lb(t, x, y), lb(s, x - 3, y - 5));
        } else {
          assert.equal(lb(t, x, y), IGNORE, `label at ${x},${y}`);
          if (x < 2 || y < 4) assert.deepEqual(px(t, x, y), [0, 0, 0]);
        }
      }
    // a single marked pixel lands 3 right, 5 down
    const m = makeSample(12, 12, (x, y) => (x === 2 && y === 1 ? [200, 100, 50] : [0, 0, 0]), (x, y) => (x === 2 && y === 1 ? 7 : 1));
    const mt = run1(affine({ p: 1, translatePx: { x: 3, y: 5 } }), m);
    assert.deepEqual(px(mt, 5, 6), [200, 100, 50]);
    assert.equal(lb(mt, 5, 6), 7);
    let lit = 0;
    for (let i = 0; i < mt.image.length; i++) if (mt.image[i]) lit++;
    assert.equal(lit, 3);
  });

  it('affine scale 2 about the centre maps (c + d) to (c + 2d)', () => {
    const s = coordSample(9, 9); // centre (4, 4)
    const z = run1(affine({ p: 1, scale: 2 }), s);
    assert.deepEqual(px(z, 4, 4), px(s, 4, 4));
    assert.deepEqual(px(z, 6, 6), px(s, 5, 5));
    assert.deepEqual(px(z, 2, 2), px(s, 3, 3));
    assert.deepEqual(px(z, 8, 2), px(s, 6, 3));
    assert.equal(lb(z, 6, 6), lb(s, 5, 5));
    // (5, 4) samples (4.5, 4): the mean of two neighbours; the label is the rounded-half-up neighbour (5, 4)
    const a = px(s, 4, 4);
    const b = px(s, 5, 4);
    assert.deepEqual(px(z, 5, 4), [0, 1, 2].map((c) => Math.round((a[c]! + b[c]!) / 2)));
    assert.equal(lb(z, 5, 4), lb(s, 5, 4));
    // scaling up never needs a source outside the frame: no fill
    assert.ok(!z.label.includes(IGNORE));
  });

  it('affine rotate 90 and shift-scale-rotate 90 on a square equal rot90 k=1', () => {
    const s = coordSample(8, 8);
    const expected = K.rot90(s, 1);
    const ssr = run1(shiftScaleRotate({ p: 1, rotateLimit: [90, 90], scaleLimit: [0, 0], shiftLimit: [0, 0] }), s);
    assert.deepEqual(ssr.image, expected.image);
    assert.deepEqual(ssr.label, expected.label);
    const aff = run1(affine({ p: 1, rotate: 90 }), s);
    assert.deepEqual(aff.image, expected.image);
    assert.deepEqual(aff.label, expected.label);
    const odd = coordSample(7, 7);
    assert.deepEqual(run1(affine({ p: 1, rotate: 90 }), odd).image, K.rot90(odd, 1).image);
  });

  it('affine shear x 45° about the centre moves (x, y) to (x + (y − cy), y); shear y moves columns', () => {
    const s = coordSample(9, 5); // centre (4, 2)
    const t = run1(affine({ p: 1, shear: { x: 45, y: 0 } }), s);
    for (let y = 0; y < 5; y++)
      for (let x = 0; x < 9; x++) {
        const dx = x + (y - 2);
        if (dx < 0 || dx >= 9) continue;
        assert.deepEqual(px(t, dx, y), px(s, x, y), `(${x}, ${y}) → (${dx}, ${y})`);
        assert.equal(lb(t, dx, y), lb(s, x, y));
      }
    // row 0 shifted left by 2: its last two columns have no source
    assert.equal(lb(t, 8, 0), IGNORE);
    assert.equal(lb(t, 7, 0), IGNORE);
    assert.equal(lb(t, 0, 4), IGNORE);
    const v = run1(affine({ p: 1, shear: { x: 0, y: 45 } }), coordSample(5, 9)); // centre (2, 4): (x, y) → (x, y + (x − 2))
    const s2 = coordSample(5, 9);
    for (let y = 0; y < 9; y++)
      for (let x = 0; x < 5; x++) {
        const dy = y + (x - 2);
        if (dy >= 0 && dy < 9) assert.deepEqual(px(v, x, dy), px(s2, x, y), `(${x}, ${y}) → (${x}, ${dy})`);
      }
  });

  it('affine rotate +90 on a non-square frame turns counter-clockwise about ((W−1)/2, (H−1)/2)', () => {
    const s = coordSample(9, 5); // centre (4, 2)
    const t = run1(affine({ p: 1, rotate: 90 }), s);
    // (c + (d, 0)) → (c + (0, −d)): right of the centre goes up; (c + (0, d)) → (c + (d, 0)): below goes right
    assert.deepEqual(px(t, 4, 0), px(s, 6, 2));
    assert.deepEqual(px(t, 4, 4), px(s, 2, 2));
    assert.deepEqual(px(t, 6, 2), px(s, 4, 4));
    assert.deepEqual(px(t, 2, 2), px(s, 4, 0));
    assert.equal(lb(t, 4, 0), lb(s, 6, 2));
    // columns more than 2 from the centre come from rows outside the frame
    assert.equal(lb(t, 0, 2), IGNORE);
    assert.equal(lb(t, 8, 2), IGNORE);
  });

  it('grid distortion moves pixels by the drawn cell sizes (known source columns)', () => {
    // 12 columns, 4 cells of 3: cell 0 is drawn from a source span 3× as wide (columns 0..8, sampled at 1, 4, 7),
    // the others from spans of 3 starting at 9. Unnormalised, the map runs past the frame: those get fill/ignore.
    const s = makeSample(12, 2, (x, y) => [x * 10, y, 0], (x) => x % 5);
    assert.deepEqual([...K.gridMap(12, [3, 1, 1, 1], false)], [1, 4, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
    const g = K.gridDistort(s, [3, 1, 1, 1], [1], false, { maskFill: IGNORE, fill: 5 });
    const src = [1, 4, 7, 9, 10, 11];
    for (let x = 0; x < 12; x++) {
      for (let y = 0; y < 2; y++) {
        if (x < 6) {
          assert.deepEqual(px(g, x, y), px(s, src[x]!, y), `column ${x}`);
          assert.equal(lb(g, x, y), lb(s, src[x]!, y));
        } else {
          assert.deepEqual(px(g, x, y), [5, 5, 5], `column ${x}`);
          assert.equal(lb(g, x, y), IGNORE);
        }
      }
    }
    // normalised steps [3, .5, .5, .5, .5] on 15 columns already span the frame: cells 1..4 shrink by 2
    const m = K.gridMap(15, [3, 0.5, 0.5, 0.5, 0.5], true);
    // (the last output pixel's source, continuous 14.75, is inside the frame: clamped to the last centre 14)
    assert.deepEqual([...m], [1, 4, 7, 8.75, 9.25, 9.75, 10.25, 10.75, 11.25, 11.75, 12.25, 12.75, 13.25, 13.75, 14]);
    const s15 = makeSample(15, 1, (x) => [x * 10, 0, 0], (x) => x);
    const g15 = K.gridDistort(s15, [3, 0.5, 0.5, 0.5, 0.5], [1], true, { maskFill: IGNORE });
    // image bilinear (8.75 → 87.5 → 88), mask nearest (round half up: 8.75 → 9); nothing filled or blended with
    // the fill: the last column is exactly the last input column (it was 105 = 0.75·140 + 0.25·fill before)
    assert.deepEqual([...g15.image.filter((_, i) => i % 3 === 0)], [10, 40, 70, 88, 93, 98, 103, 108, 113, 118, 123, 128, 133, 138, 140]);
    assert.deepEqual([...g15.label], [1, 4, 7, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14]);
    // a compressed first cell: pixel 0's source (continuous 0.25) is clamped to 0 rather than blended with fill
    const first = K.gridDistort(makeSample(10, 1, () => [200, 200, 200], () => 1), [0.5, 1.5], [1], true, { maskFill: IGNORE, fill: 0 });
    assert.deepEqual([...first.image], new Array(30).fill(200));
    assert.ok(!first.label.includes(IGNORE));
  });

  it('shift-scale-rotate shift moves by dx·W, dy·H', () => {
    const s = coordSample(20, 10);
    const t = run1(shiftScaleRotate({ p: 1, rotateLimit: 0, scaleLimit: 0, shiftLimit: [0.1, 0.1] }), s);
    assert.deepEqual(px(t, 2 + 5, 1 + 3), px(s, 5, 3)); // dx = 2 px, dy = 1 px
    assert.equal(lb(t, 0, 0), IGNORE);
  });

  it('reflect101 border mirrors instead of filling', () => {
    const s = coordSample(10, 9);
    const t = K.warpAffine(s, [1, 0, 3, 0, 1, 0], { maskFill: IGNORE, border: 'reflect101' });
    // output x=0 samples x=-3 → reflect101 → 3
    assert.deepEqual(px(t, 0, 2), px(s, 3, 2));
    assert.equal(lb(t, 0, 2), lb(s, 3, 2));
    assert.ok(!t.label.includes(IGNORE));
  });

  it('grid distortion with zero distortion is the identity', () => {
    for (const [w, h] of [
      [480, 360],
      [13, 7],
    ] as const) {
      const s = coordSample(w % 256, h);
      const g = run1(gridDistortion({ p: 1, distortLimit: [0, 0] }), s);
      assert.deepEqual(g.image, s.image);
      assert.deepEqual(g.label, s.label);
      const g2 = K.gridDistort(s, [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], false, { maskFill: IGNORE });
      assert.deepEqual(g2.image, s.image);
    }
  });

  it('grid distortion keeps the label set and never blends label values', () => {
    const s = sceneSample(96, 64);
    const before = labelSet(s);
    let changed = 0;
    for (let i = 0; i < 10; i++) {
      const g = pipeline(gridDistortion({ p: 1 }), CTX).apply(s, 11, 0, i);
      assert.equal(g.width, 96);
      assert.deepEqual(labelSet(g), before, `index ${i}`);
      if (!Buffer.from(g.image).equals(Buffer.from(s.image))) changed++;
    }
    assert.equal(changed, 10);
    // unnormalised steps that overshoot the frame sample outside it: those pixels get the ignore index only
    const big = K.gridDistort(s, [1.3, 1.3, 1.3, 1.3, 1.3], [1, 1, 1, 1, 1], false, { maskFill: IGNORE });
    const set = labelSet(big);
    assert.ok(set.has(IGNORE));
    for (const v of set) assert.ok(v === IGNORE || before.has(v));
    // source column of the last output column is beyond the frame: 95.5·1.3 > 96
    assert.equal(lb(big, 95, 0), IGNORE);
  });

  it('resize follows PyTorch bilinear (align_corners=False) and nearest', () => {
    const s = makeSample(2, 1, (x) => (x === 0 ? [0, 0, 0] : [100, 200, 40]), (x) => (x === 0 ? 3 : 9));
    const r = K.resize(s, 1, 4);
    // dst x → src max((x+0.5)/2 − 0.5, 0) = 0, 0.25, 0.75, 1.25 (clamped to the last pixel)
    assert.deepEqual([...r.image], [0, 0, 0, 25, 50, 10, 75, 150, 30, 100, 200, 40]);
    assert.deepEqual([...r.label], [3, 3, 9, 9]);
    const d = K.resize(coordSample(6, 3), 3, 2); // nearest: floor(x·3) → 0, 3
    assert.deepEqual([...d.label], [0, 3, 3, 6, 6, 9]);
  });

  it('pad + crop fills the padding with the ignore index and the image fill', () => {
    const s = coordSample(4, 3);
    const p = K.padCrop(s, 5, 6, 0, 0, 9, IGNORE);
    assert.equal(p.width, 6);
    assert.equal(p.height, 5);
    for (let y = 0; y < 5; y++)
      for (let x = 0; x < 6; x++) {
        if (x < 4 && y < 3) {
          assert.deepEqual(px(p, x, y), px(s, x, y));
          assert.equal(lb(p, x, y), lb(s, x, y));
        } else {
          assert.deepEqual(px(p, x, y), [9, 9, 9]);
          assert.equal(lb(p, x, y), IGNORE);
        }
      }
    // crop of a larger frame at an offset
    const big = coordSample(10, 8);
    const c = K.padCrop(big, 3, 4, 2, 5, 0, IGNORE);
    assert.deepEqual(px(c, 0, 0), px(big, 5, 2));
    assert.deepEqual(px(c, 3, 2), px(big, 8, 4));
    assert.throws(() => K.padCrop(big, 3, 4, 6, 0, 0, IGNORE));
  });

  it('random scale + pad/crop always yields the crop size; downscaling pads with ignore', () => {
    const s = sceneSample(48, 36);
    const pipe = pipeline(compose([randomScale({ scale: [0.5, 0.6] }), padCrop({ height: 36, width: 48 })]), CTX);
    const out = pipe.apply(s, 0, 0, 0);
    assert.equal(out.width, 48);
    assert.equal(out.height, 36);
    assert.ok(out.label.includes(IGNORE));
    // rows/cols beyond the rescaled frame (at most 0.6·36 ≈ 22 rows) are padding
    assert.equal(lb(out, 47, 35), IGNORE);
    assert.deepEqual(px(out, 47, 35), [0, 0, 0]);
    const up = pipeline(compose([randomScale({ scale: [1.4, 1.5] }), padCrop({ height: 36, width: 48 })]), CTX).apply(s, 0, 0, 0);
    assert.ok(!up.label.includes(IGNORE));
  });
});

describe('photometric', () => {
  const img = new Uint8Array([0, 64, 128, 255, 10, 100]);

  it('gamma: 255·(v/255)^g', () => {
    assert.deepEqual([...K.gamma(img, 2)], [0, 16, 64, 255, 0, 39]); // 64²/255 = 16.06, 128²/255 = 64.25, 100²/255 = 39.2
    assert.deepEqual([...K.gamma(img, 0.5)], [0, 128, 181, 255, 50, 160]); // √(64·255) = 127.75, √(128·255) = 180.7, √2550 = 50.498, √25500 = 159.7
  });

  it('brightness/contrast: v·alpha + beta·255, clamped', () => {
    assert.deepEqual([...K.brightnessContrast(img, 1.2, 0.2)], [51, 128, 205, 255, 63, 171]);
    assert.deepEqual([...K.brightnessContrast(img, 0.5, -0.1)], [0, 7, 39, 102, 0, 25]);
    // by mean: beta·mean(all values) = 0.5·(557/6)
    assert.deepEqual([...K.brightnessContrast(img, 1, 0.5, false)], [46, 110, 174, 255, 56, 146]);
  });

  it('torchvision-style brightness, contrast, saturation', () => {
    const two = new Uint8Array([100, 150, 200, 50, 60, 70]);
    assert.deepEqual([...K.adjustBrightness(two, 1.5)], [150, 225, 255, 75, 90, 105]);
    // mean gray = (140.75 + 58.15)/2 = 99.45 → 0.5·v + 49.725
    assert.deepEqual([...K.adjustContrast(two, 0.5)], [100, 125, 150, 75, 80, 85]);
    // gray of pixel 1 = 140.75: (100 − 140.75)·2 + 140.75 = 59.25 …
    assert.deepEqual([...K.adjustSaturation(two, 2)], [59, 159, 255, 42, 62, 82]);
    assert.deepEqual([...K.adjustSaturation(two, 0)], [141, 141, 141, 58, 58, 58]);
  });

  it('hue shift: a half turn maps red to cyan; gray is unchanged', () => {
    const c = new Uint8Array([255, 0, 0, 0, 255, 0, 90, 90, 90]);
    assert.deepEqual([...K.adjustHue(c, 0.5)], [0, 255, 255, 255, 0, 255, 90, 90, 90]);
    assert.deepEqual([...K.adjustHue(c, 1 / 3)], [0, 255, 0, 0, 0, 255, 90, 90, 90]);
  });

  it('RECIPE jitter formulas (brightness, gray-mean contrast, per-pixel-gray saturation)', () => {
    const two = new Uint8Array([100, 150, 200, 50, 60, 70]);
    // b = 1.1: x = [0.4314, 0.6471, 0.8627], [0.2157, 0.2588, 0.3020]
    // m = mean gray = 0.429;  c = 0.9: x ← (x − m)·0.9 + m
    // t = 1.2: x ← (x − g)·1.2 + g  → ×255 = [101.87, 161.27, 220.67], [58.83, 70.71, 82.59]
    assert.deepEqual([...K.recipeJitter(two, 1.1, 0.9, 1.2)], [102, 161, 221, 59, 71, 83]);
    // clamps after each step: brightness 2 saturates the first pixel's blue before contrast
    const sat = K.recipeJitter(new Uint8Array([200, 200, 200, 0, 0, 0]), 2, 1, 1);
    assert.deepEqual([...sat], [255, 255, 255, 0, 0, 0]);
    // the op with zero amounts is the identity
    const s = sceneSample(20, 10);
    assert.deepEqual(run1(recipeJitter({ brightness: 0, contrast: 0, saturation: 0 }), s).image, s.image);
  });

  it('CLAHE plane: a constant plane maps through the clipped, redistributed histogram', () => {
    // 64×64, 8×8 tiles of 64 px: limit max(int(4·64/256), 1) = 1; 63 clipped counts go to bins 0, 4, …, 248;
    // cdf(100) = 26 (bins 0..100 step 4) + 1 = 27 → round(27·255/64) = 108
    const plane = new Uint8Array(64 * 64).fill(100);
    const out = K.clahePlane(plane, 64, 64, 4, 8, 8);
    assert.ok(out.every((v) => v === 108));
  });

  it('CLAHE leaves a constant image constant and raises local contrast of a flat one', () => {
    const flat = makeSample(64, 48, () => [90, 110, 100], () => 0);
    const c = K.clahe(flat.image, 64, 48, 4);
    for (let i = 3; i < c.length; i += 3) assert.deepEqual([c[i], c[i + 1], c[i + 2]], [c[0], c[1], c[2]]);
    const low = makeSample(64, 48, (x, y) => {
      const v = 100 + ((x * 3 + y * 5) % 17);
      return [v, v, v];
    }, () => 0);
    const out = K.clahe(low.image, 64, 48, 4);
    const lum = (a: Uint8Array) => {
      const l: number[] = [];
      for (let i = 0; i < a.length; i += 3) l.push(0.299 * a[i]! + 0.587 * a[i + 1]! + 0.114 * a[i + 2]!);
      return l;
    };
    const std = (v: number[]) => {
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
    };
    const s0 = std(lum(low.image));
    const s1 = std(lum(out));
    assert.ok(s1 > 2 * s0, `std ${s0} → ${s1}`);
    // gray stays gray (a* = b* = 0 survives the round trip)
    for (let i = 0; i < out.length; i += 3) assert.ok(Math.abs(out[i]! - out[i + 1]!) <= 1 && Math.abs(out[i]! - out[i + 2]!) <= 1);
  });
});

describe('composition and determinism', () => {
  it('oneOf applies exactly one child, chosen by the children’s weights', () => {
    const s = coordSample(6, 5);
    const h = K.hflip(s);
    const v = K.vflip(s);
    let nh = 0;
    let nv = 0;
    for (let i = 0; i < 200; i++) {
      const out = pipeline(oneOf([hflip({ p: 1 }), vflip({ p: 1 })], 1), CTX).apply(s, 5, 0, i);
      if (Buffer.from(out.image).equals(Buffer.from(h.image))) nh++;
      else if (Buffer.from(out.image).equals(Buffer.from(v.image))) nv++;
      else assert.fail('neither a single hflip nor a single vflip');
    }
    assert.ok(nh > 70 && nv > 70, `${nh} / ${nv}`);
    // weights 0 / 1: only the second
    for (let i = 0; i < 20; i++) {
      const out = pipeline(oneOf([hflip({ p: 0 }), vflip({ p: 1 })], 1), CTX).apply(s, 5, 0, i);
      assert.deepEqual(out.image, v.image);
    }
  });

  it('presets produce H×W from any input size and are byte-identical for the same (seed, epoch, index)', () => {
    const s = sceneSample(96, 72);
    for (const name of PRESET_NAMES) {
      const p = buildPreset(name, { height: 48, width: 64, ignoreIndex: IGNORE });
      for (let i = 0; i < 12; i++) {
        const a = p.apply(s, 7, 2, i);
        assert.equal(a.width, 64, name);
        assert.equal(a.height, 48, name);
        const b = buildPreset(name, { height: 48, width: 64, ignoreIndex: IGNORE }).apply(s, 7, 2, i);
        assert.deepEqual(a.image, b.image);
        assert.deepEqual(a.label, b.label);
      }
    }
  });

  it('different index or epoch gives a different augmentation', () => {
    const s = sceneSample(64, 48);
    for (const name of ['tutorial', 'camvid-scratch']) {
      const p = buildPreset(name, { height: 48, width: 64, ignoreIndex: IGNORE });
      const outs = new Set<string>();
      for (let i = 0; i < 8; i++) outs.add(Buffer.from(p.apply(s, 0, 0, i).image).toString('base64'));
      assert.ok(outs.size >= 7, `${name}: ${outs.size} distinct of 8`);
      assert.notDeepEqual(p.apply(s, 0, 0, 3).image, p.apply(s, 0, 1, 3).image);
      assert.notDeepEqual(p.apply(s, 0, 0, 3).image, p.apply(s, 1, 0, 3).image);
    }
  });

  it('the explicit-rng and (seed, epoch, index) entry points agree', () => {
    const s = sceneSample(64, 48);
    const p = buildPreset('tutorial', { height: 48, width: 64, ignoreIndex: IGNORE });
    assert.deepEqual(p.run(s, rng(hashSeed(4, 5, 6))).image, p.apply(s, 4, 5, 6).image);
  });

  it('a pipeline rebuilt from its JSON spec (as in a worker) gives identical output', () => {
    const s = sceneSample(64, 48);
    const p = buildPreset('tutorial', { height: 40, width: 40, ignoreIndex: IGNORE });
    const q = fromPipelineSpec(JSON.parse(JSON.stringify(p.spec)));
    for (let i = 0; i < 6; i++) {
      assert.deepEqual(q.apply(s, 1, 2, i).image, p.apply(s, 1, 2, i).image);
      assert.deepEqual(q.apply(s, 1, 2, i).label, p.apply(s, 1, 2, i).label);
    }
  });

  it('masks only ever contain input labels or the ignore index, and the input is never mutated', () => {
    const s = sceneSample(60, 45, 3);
    const copy = { image: s.image.slice(), label: s.label.slice() };
    const allowed = labelSet(s);
    allowed.add(IGNORE);
    for (const name of PRESET_NAMES) {
      const p = buildPreset(name, { height: 45, width: 60, ignoreIndex: IGNORE });
      for (let i = 0; i < 25; i++) {
        const out = p.apply(s, 9, 0, i);
        for (const v of labelSet(out)) assert.ok(allowed.has(v), `${name}[${i}] produced label ${v}`);
      }
    }
    const warps = [
      affine({ p: 1, rotate: [-80, 90], shear: [-5, 5], scale: [0.7, 1.3] }),
      shiftScaleRotate({ p: 1, shiftLimit: 0.2, scaleLimit: 0.2, rotateLimit: 120 }),
      gridDistortion({ p: 1 }),
    ];
    for (const w of warps) {
      for (let i = 0; i < 10; i++) for (const v of labelSet(pipeline(w, CTX).apply(s, 0, 0, i))) assert.ok(allowed.has(v));
    }
    assert.deepEqual(s.image, copy.image);
    assert.deepEqual(s.label, copy.label);
  });

  it('rejects bad arguments', () => {
    assert.throws(() => hflip({ p: 2 }));
    assert.throws(() => buildPreset('nope', { height: 1, width: 1, ignoreIndex: 255 }), /unknown augmentation preset/);
    assert.throws(() => affine({ scale: [0, 1] }));
    assert.throws(() => pipeline(hflip(), { ignoreIndex: 300 }));
  });
});
