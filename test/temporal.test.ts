// The temporal module on hand-made frames: flicker and consistency to the exact fraction, the smoothers'
// behaviour (convergence on a static noisy scene, no drag across a scene cut, moving pixels not smeared),
// the spec syntax, and the JS upsample + argmax against libtorch's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  areaResizeRgb,
  blockMotion,
  configSmooth,
  DEFAULT_SMOOTH,
  formatSmoothSpec,
  labelFlicker,
  pairConsistency,
  pairFlicker,
  parseSmoothSpec,
  sequenceKey,
  TemporalMeter,
  TemporalSmoother,
  TemporalStream,
  upsampleArgmax,
} from '../src/temporal/index.js';
import { F, fromArray, inferenceMode, manualSeed, randn, tidy } from '../src/torch/index.js';
import { rng } from '../src/util/random.js';

const u8 = (xs: number[]) => Uint8Array.from(xs);

describe('flicker and consistency', () => {
  // 2×3 frames; pixel 3 of A's label is ignored, pixel 5's label changes from A to B
  const predA = u8([0, 0, 1, 1, 2, 2]);
  const predB = u8([0, 1, 1, 1, 2, 0]);
  const labelA = u8([0, 0, 1, 255, 2, 2]);
  const labelB = u8([0, 0, 1, 1, 2, 1]);

  it('per pair: changed pixels / all pixels; stable predictions / stable labelled pixels', () => {
    assert.equal(pairFlicker(predA, predB), 2 / 6);
    assert.equal(pairFlicker(predB, predB), 0);
    // stable and labelled: pixels 0, 1, 2, 4; prediction stable at 0, 2, 4
    assert.equal(pairConsistency(predA, predB, labelA, labelB, 255), 3 / 4);
    assert.ok(Number.isNaN(pairConsistency(predA, predB, u8([255, 255, 255, 255, 255, 255]), labelB, 255)));
    // the labels' own flicker: labelled in both at 0, 1, 2, 4, 5; changed at 5
    assert.equal(labelFlicker(labelA, labelB, 255), 1 / 5);
    assert.equal(labelFlicker(labelB, labelB, 255), 0);
    assert.ok(Number.isNaN(labelFlicker(u8([255, 255, 255, 255, 255, 255]), labelB, 255)));
    assert.throws(() => labelFlicker(labelA, u8([0]), 255), /6 and 1 pixels/);
    assert.throws(() => pairFlicker(predA, u8([0])), /6 and 1 pixels/);
  });

  it('over a sequence: means over pairs, a new sequence at a new name prefix or size, none across it', () => {
    const m = new TemporalMeter(255);
    m.add({ id: 'x_001', sequence: sequenceKey('x_001'), width: 3, height: 2, pred: predA, label: labelA });
    m.add({ id: 'x_002', sequence: sequenceKey('x_002'), width: 3, height: 2, pred: predB, label: labelB });
    m.add({ id: 'x_003', sequence: sequenceKey('x_003'), width: 3, height: 2, pred: predB, label: labelB });
    m.add({ id: 'y_001', sequence: sequenceKey('y_001'), width: 3, height: 2, pred: predA, label: labelA }); // another drive
    m.add({ id: 'y_002', sequence: sequenceKey('y_002'), width: 2, height: 3, pred: predB, label: labelB }); // another size
    const r = m.result();
    assert.equal(r.pairs, 2);
    assert.equal(r.sequences, 3);
    assert.equal(r.flicker, (2 / 6 + 0) / 2);
    assert.equal(r.consistency, (3 / 4 + 1) / 2);
    assert.equal(r.labelFlicker, (1 / 5 + 0) / 2);
    assert.deepEqual(r.perPair.map((p) => [p.from, p.to]), [['x_001', 'x_002'], ['x_002', 'x_003']]);
  });

  it('sequence keys: the name without its frame number', () => {
    assert.equal(sequenceKey('0016E5_07959'), '0016E5_');
    assert.equal(sequenceKey('0006R0_f00930'), '0006R0_f');
    assert.equal(sequenceKey('frame'), 'frame');
  });
});

/** Probabilities of `k` classes on `hw` pixels, class-major, from per-pixel rows. */
function planes(rows: number[][], hw: number): Float32Array {
  const k = rows[0]!.length;
  const out = new Float32Array(k * hw);
  for (let p = 0; p < hw; p++) for (let c = 0; c < k; c++) out[c * hw + p] = rows[p % rows.length]![c]!;
  return out;
}

const grey = (hw: number, v: number) => new Uint8Array(hw * 3).fill(v);

describe('smoothers', () => {
  it('spec text: defaults per method, canonical form, clear errors', () => {
    assert.equal(formatSmoothSpec(parseSmoothSpec('ema')), 'ema:alpha=0.7,margin=0,cut=40');
    assert.equal(formatSmoothSpec(parseSmoothSpec(DEFAULT_SMOOTH)), 'hysteresis:margin=0.3,cut=40');
    assert.equal(formatSmoothSpec(parseSmoothSpec('motion:alpha=0.25, tau=64')), 'motion:alpha=0.25,tau=64,margin=0,cut=40');
    assert.equal(formatSmoothSpec(parseSmoothSpec('none')), 'none');
    assert.throws(() => parseSmoothSpec('emaa'), /unknown method "emaa" \(did you mean ema\?\); expected none, ema, motion, hysteresis/);
    assert.throws(() => parseSmoothSpec('ema:tau=3'), /ema has no parameter "tau" \(its parameters: alpha, margin, cut\)/);
    assert.throws(() => parseSmoothSpec('ema:alpha=0'), /alpha=0: expected a number in \(0, 1\]/);
    assert.throws(() => parseSmoothSpec('hysteresis:margin=x'), /margin=x: expected a number in \[0, 1\)/);
  });

  it('on a static scene with noise, the moving average converges to the true classes and stops flickering', () => {
    const w = 8;
    const h = 6;
    const hw = w * h;
    // left half class 0, right half class 1, class 2 never best; noise of ±0.25 flips many raw pixels
    const truth = Array.from({ length: hw }, (_, p) => (p % w < w / 2 ? [0.5, 0.3, 0.2] : [0.3, 0.5, 0.2]));
    const r = rng(7);
    const noisy = () => {
      const out = new Float32Array(3 * hw);
      for (let p = 0; p < hw; p++) for (let c = 0; c < 3; c++) out[c * hw + p] = truth[p]![c]! + r.uniform(-0.25, 0.25);
      return out;
    };
    const truthIds = Uint8Array.from(truth, (t) => (t[0]! > t[1]! ? 0 : 1));
    const sm = new TemporalSmoother(parseSmoothSpec('ema:alpha=0.05'), 3);
    const raw = new TemporalMeter();
    const smoothed = new TemporalMeter();
    const image = grey(hw, 90);
    for (let t = 0; t < 100; t++) {
      const probs = noisy();
      const s = sm.step(probs, w, h, image);
      assert.equal(s.restarted, t === 0);
      const ids = upsampleArgmax(s.scores, 3, w, h, w, h);
      raw.add({ id: String(t), sequence: 's', width: w, height: h, pred: upsampleArgmax(probs, 3, w, h, w, h) });
      if (t >= 50) {
        smoothed.add({ id: String(t), sequence: 's', width: w, height: h, pred: ids });
        assert.deepEqual(ids, truthIds, `frame ${t}: the smoothed classes are the true ones`);
        for (let i = 0; i < s.scores.length; i++) assert.ok(Math.abs(s.scores[i]! - truth[i % hw]![Math.floor(i / hw)]!) < 0.12, `frame ${t}: state near the truth`);
      }
    }
    assert.ok(raw.result().flicker > 0.2, `raw flicker ${raw.result().flicker}`);
    assert.equal(smoothed.result().flicker, 0);
  });

  it('a scene cut restarts the smoother: the new scene is its own at once, not dragged from the old one', () => {
    const w = 6;
    const h = 4;
    const hw = w * h;
    const sceneA = planes([[0.9, 0.05, 0.05]], hw);
    const sceneB = planes([[0.3, 0.3, 0.4]], hw); // weakly class 2: a slow average would keep class 0 for frames
    for (const [spec, cuts] of [['ema:alpha=0.1', 1], ['ema:alpha=0.1,cut=0', 0]] as const) {
      const sm = new TemporalSmoother(parseSmoothSpec(spec), 3);
      for (let t = 0; t < 20; t++) sm.step(sceneA, w, h, grey(hw, 30));
      const first = sm.step(sceneB, w, h, grey(hw, 200));
      const ids = upsampleArgmax(first.scores, 3, w, h, w, h);
      assert.equal(sm.cuts, cuts, spec);
      if (cuts) {
        assert.equal(first.restarted, true);
        assert.deepEqual([...first.scores], [...sceneB], 'the first frame after the cut is its own probabilities');
        assert.ok(ids.every((c) => c === 2));
      } else {
        assert.equal(first.restarted, false);
        assert.ok(ids.every((c) => c === 0), 'without cut detection the old scene drags on');
      }
    }
  });

  it('motion: pixels whose frame changed take their new class at once; the plain average smears them', () => {
    const w = 12;
    const h = 12;
    const hw = w * h;
    const inside = (p: number) => p % w >= 4 && p % w < 8 && Math.floor(p / w) >= 4 && Math.floor(p / w) < 8;
    const bg = planes([[0.8, 0.2]], hw);
    const moved = new Float32Array(bg);
    const img0 = grey(hw, 50);
    const img1 = grey(hw, 50);
    for (let p = 0; p < hw; p++) {
      if (!inside(p)) continue;
      moved[p] = 0.2;
      moved[hw + p] = 0.8;
      img1.fill(250, p * 3, p * 3 + 3);
    }
    for (const spec of ['motion:alpha=0.1,tau=10', 'ema:alpha=0.1']) {
      const sm = new TemporalSmoother(parseSmoothSpec(spec), 2);
      for (let t = 0; t < 10; t++) sm.step(bg, w, h, img0);
      const ids = upsampleArgmax(sm.step(moved, w, h, img1).scores, 2, w, h, w, h);
      // the object's inner 2×2 has a 3×3 neighbourhood entirely inside it
      const core = [5 * w + 5, 5 * w + 6, 6 * w + 5, 6 * w + 6];
      assert.deepEqual(core.map((p) => ids[p]), spec.startsWith('motion') ? [1, 1, 1, 1] : [0, 0, 0, 0], spec);
      assert.ok([0, w - 1, hw - 1].every((p) => ids[p] === 0), `${spec}: the static background keeps its class`);
    }
  });

  it('hysteresis: a pixel keeps its class until another beats it by the margin', () => {
    const sm = new TemporalSmoother(parseSmoothSpec('hysteresis:margin=0.2'), 2);
    const img = grey(1, 0);
    const seq = [[0.7, 0.3], [0.45, 0.55], [0.42, 0.58], [0.3, 0.7], [0.55, 0.45]];
    const ids = seq.map((p) => upsampleArgmax(sm.step(Float32Array.from(p), 1, 1, img).scores, 2, 1, 1, 1, 1)[0]);
    // 0.55 − 0.45 and 0.58 − 0.42 do not beat the margin; 0.7 − 0.3 does; 0.55 − 0.45 does not switch back
    assert.deepEqual(ids, [0, 0, 0, 1, 1]);
  });

  it("a stream keeps each first frame's own ids, restarts at a new sequence, and rejects frames without probabilities", () => {
    const w = 2;
    const h = 1;
    const s = new TemporalStream({ numClasses: 2, smooth: parseSmoothSpec('ema:alpha=0.5') });
    const frame = (id: string, seq: string, ids: number[], p: number[][]) => ({ id, sequence: seq, width: w, height: h, ids: u8(ids), probs: { data: planes(p, 2), width: w, height: h }, image: { data: grey(2, 10), width: w, height: h } });
    // raw ids deliberately unlike the probabilities' argmax: a first frame keeps the raw ones
    assert.deepEqual([...s.frame(frame('a_1', 'a_', [1, 1], [[0.9, 0.1]]))], [1, 1]);
    assert.deepEqual([...s.frame(frame('a_2', 'a_', [1, 1], [[0.2, 0.8]]))], [0, 0], '(0.9+0.2)/2 > (0.1+0.8)/2');
    assert.deepEqual([...s.frame(frame('b_1', 'b_', [1, 0], [[0.2, 0.8]]))], [1, 0], 'a new sequence starts unsmoothed');
    const r = s.result();
    assert.equal(r.pairs, 1);
    assert.equal(r.flicker, 1);
    assert.equal(r.smooth, 'ema:alpha=0.5,margin=0,cut=40');
    assert.throws(() => s.frame({ id: 'c', sequence: 'c', width: w, height: h, ids: u8([0, 0]) }), /c: smoothing needs the frame's probabilities and its image/);
  });
});

describe('the flow smoother', () => {
  const spec = (s: string) => parseSmoothSpec(s);

  it('spec: defaults, grid range, a checkpoint-recorded spec and a malformed one', () => {
    assert.equal(formatSmoothSpec(spec('flow')), 'flow:alpha=0.1,tau=25,margin=0,cut=8,grid=120');
    assert.throws(() => spec('flow:grid=4'), /grid=4: expected an integer from 8 to 1024/);
    assert.equal(formatSmoothSpec(configSmooth({})), formatSmoothSpec(spec(DEFAULT_SMOOTH)));
    assert.equal(formatSmoothSpec(configSmooth({ streetseg_smooth: 'ema:alpha=0.5' })), 'ema:alpha=0.5,margin=0,cut=40');
    assert.throws(() => configSmooth({ streetseg_smooth: 'emaa' }, 'm/config.json'), /m\/config.json: streetseg_smooth: .*unknown method "emaa"/);
    assert.throws(() => configSmooth({ streetseg_smooth: 3 }, 'm/config.json'), /m\/config.json: streetseg_smooth 3: expected a smoothing spec/);
  });

  it('on a static scene with noise, it converges to the true classes and stops flickering', () => {
    const w = 8;
    const h = 6;
    const hw = w * h;
    const truth = Array.from({ length: hw }, (_, p) => (p % w < w / 2 ? [0.5, 0.3, 0.2] : [0.3, 0.5, 0.2]));
    const truthIds = Uint8Array.from(truth, (t) => (t[0]! > t[1]! ? 0 : 1));
    const r = rng(11);
    // a textured still frame: the block matcher must find zero motion, the residual is 0, the gate closed
    const image = Uint8Array.from({ length: hw * 3 }, (_, i) => (i * 37) % 251);
    const sm = new TemporalSmoother(spec('flow:alpha=0.05,grid=8'), 3);
    const raw = new TemporalMeter();
    const smoothed = new TemporalMeter();
    for (let t = 0; t < 100; t++) {
      const probs = new Float32Array(3 * hw);
      for (let p = 0; p < hw; p++) for (let c = 0; c < 3; c++) probs[c * hw + p] = truth[p]![c]! + r.uniform(-0.25, 0.25);
      const s = sm.step(probs, w, h, image);
      assert.equal(s.restarted, t === 0);
      assert.deepEqual([s.width, s.height], [8, 6]);
      raw.add({ id: String(t), sequence: 's', width: w, height: h, pred: upsampleArgmax(probs, 3, w, h, w, h) });
      if (t >= 50) {
        const ids = upsampleArgmax(s.scores, 3, w, h, w, h);
        smoothed.add({ id: String(t), sequence: 's', width: w, height: h, pred: ids });
        assert.deepEqual(ids, truthIds, `frame ${t}: the smoothed classes are the true ones`);
      }
    }
    assert.ok(raw.result().flicker > 0.2, `raw flicker ${raw.result().flicker}`);
    assert.equal(smoothed.result().flicker, 0);
    assert.equal(sm.cuts, 0);
  });

  it('a scene cut restarts it: the first new frame is its own probabilities, not the old scene', () => {
    const w = 8;
    const h = 8;
    const hw = w * h;
    const sceneA = planes([[0.9, 0.05, 0.05]], hw);
    const sceneB = planes([[0.3, 0.3, 0.4]], hw);
    const imgA = Uint8Array.from({ length: hw * 3 }, (_, i) => 20 + ((i * 7) % 40));
    const imgB = Uint8Array.from({ length: hw * 3 }, (_, i) => 180 + ((i * 13) % 60));
    const sm = new TemporalSmoother(spec('flow:alpha=0.1,grid=8'), 3);
    for (let t = 0; t < 20; t++) sm.step(sceneA, w, h, imgA);
    const first = sm.step(sceneB, w, h, imgB);
    assert.equal(first.restarted, true);
    assert.equal(sm.cuts, 1);
    assert.deepEqual([...first.scores], [...sceneB]);
    assert.ok(upsampleArgmax(first.scores, 3, w, h, w, h).every((c) => c === 2));
  });

  it('block matching finds where a shifted frame came from', () => {
    const W = 32;
    const H = 24;
    const tex = (x: number, y: number) => 128 + 60 * Math.sin(0.7 * x + 0.3 * y) + 50 * Math.cos(0.45 * y - 0.2 * x * x * 0.05);
    const prev = Float32Array.from({ length: W * H }, (_, p) => tex(p % W, Math.floor(p / W)));
    // cur(x, y) = prev(x + 2, y − 1): where each cell came from is (+2, −1)
    const cur = Float32Array.from({ length: W * H }, (_, p) => tex((p % W) + 2, Math.floor(p / W) - 1));
    const fx = new Float32Array(W * H);
    const fy = new Float32Array(W * H);
    blockMotion(cur, prev, W, H, fx, fy);
    // cells whose blocks lie inside both frames (the matcher sees 2 columns fewer on the right, 1 row at the top)
    for (let y = 4; y < H - 4; y++) {
      for (let x = 4; x < W - 8; x++) {
        assert.ok(Math.abs(fx[y * W + x]! - 2) < 0.5 && Math.abs(fy[y * W + x]! + 1) < 0.5, `(${x}, ${y}): ${fx[y * W + x]}, ${fy[y * W + x]}`);
      }
    }
  });
});

describe('resizing helpers', () => {
  it('areaResizeRgb averages the pixels of each box', () => {
    // 4×2 → 2×1: each output pixel is the mean of a 2×2 box
    const img = u8([0, 0, 0, 10, 20, 30, 100, 100, 100, 200, 0, 0, 2, 4, 6, 12, 24, 36, 50, 50, 50, 0, 0, 0]);
    assert.deepEqual([...areaResizeRgb(img, 4, 2, 2, 1)], [6, 12, 18, 88, 38, 38]);
    assert.equal(areaResizeRgb(img, 4, 2, 4, 2), img);
  });

  it("upsampleArgmax is libtorch's bilinear (align_corners false) upsampling + argmax, pixel for pixel", () => {
    manualSeed(3);
    for (const [h, w, outH, outW] of [[9, 12, 36, 48], [7, 5, 30, 23], [4, 4, 4, 4]] as const) {
      const k = 5;
      const scores = inferenceMode(() => tidy(() => F.softmax(randn([1, k, h, w]).mul(2), 1).toArray() as Float32Array));
      const want = inferenceMode(() => tidy(() => F.interpolate(fromArray(scores, [1, k, h, w]), { size: [outH, outW], mode: 'bilinear', alignCorners: false }).argmax(1).to('uint8').toArray() as Uint8Array));
      assert.deepEqual(upsampleArgmax(scores, k, w, h, outW, outH), want, `${h}x${w} → ${outH}x${outW}`);
    }
  });
});
