// Photometric augmentations (exact formulas), composition, presets and determinism.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  affine,
  buildPreset,
  fromPipelineSpec,
  gridDistortion,
  hflip,
  kernels as K,
  oneOf,
  pipeline,
  PRESET_NAMES,
  recipeJitter,
  shiftScaleRotate,
  vflip,
} from '../src/data/augment/index.js';
import { hashSeed, rng } from '../src/util/random.js';
import { IGNORE, CTX, makeSample, coordSample, sceneSample, labelSet, run1 } from './helpers/augment-samples.js';

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
