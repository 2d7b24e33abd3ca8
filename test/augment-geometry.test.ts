// Geometric augmentations on hand-made samples: exact pixel and label positions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  affine,
  compose,
  gridDistortion,
  hflip,
  kernels as K,
  padCrop,
  pipeline,
  randomScale,
  rotate90,
  shiftScaleRotate,
} from '../src/data/augment/index.js';
import { IGNORE, CTX, makeSample, coordSample, px, lb, sceneSample, labelSet, run1 } from './helpers/augment-samples.js';

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
