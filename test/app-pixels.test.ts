// The web app's pixel code (src/app/web/pixels.ts, with class-map's upsampleArgmax) against predict's own
// path in Node: upsampling + argmax
// against libtorch's F.interpolate + argmax (classIdsFromLogits), the overlay against blendOverlay, the
// model input size rule against scaledSize; and the benchmark's reading of onnxruntime-web's profile.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarizeProfile } from '../bench/app-profile.js';
import { modelSize, overlayRgba, rgbaToRgb } from '../src/app/web/pixels.js';
import { upsampleArgmax } from '../src/data/class-map.js';
import { blendOverlay } from '../src/predict/colors.js';
import { colorMask } from '../src/predict/outputs.js';
import { classIdsFromLogits } from '../src/predict/segmenter.js';
import { fromArray } from '../src/torch/index.js';
import { rng } from '../src/util/random.js';

function randomLogits(seed: number, n: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r.normal() * 3);
}

function torchIds(logits: Float32Array, c: number, h: number, w: number, height: number, width: number): Uint8Array {
  const t = fromArray(logits, [1, c, h, w]);
  try {
    return classIdsFromLogits(t, [{ height, width }])[0]!;
  } finally {
    t.dispose();
  }
}

describe('web app pixels', () => {
  it('upsampleArgmax: torch bilinear (align_corners=False) + argmax on a hand-computed case', () => {
    // 2 classes on a 1×2 map → 1×4: class 0 logits [0, 4], class 1 [2, 2]. Output x samples the source at
    // max((x + 0.5)·0.5 − 0.5, 0) = 0, 0.25, 0.75, 1 → class 0 = 0, 1, 3, 4 against class 1 = 2.
    const ids = upsampleArgmax(Float32Array.from([0, 4, 2, 2]), 2, 2, 1, 4, 1);
    assert.deepEqual([...ids], [1, 1, 0, 0]);
    // equal logits: the first class wins, as torch.argmax
    assert.deepEqual([...upsampleArgmax(Float32Array.from([1, 1]), 2, 1, 1, 2, 2)], [0, 0, 0, 0]);
  });

  it('upsampleArgmax agrees with libtorch at the zoo models\' logit sizes and odd ones', () => {
    const cases: [number, number, number, number, number][] = [
      [11, 23, 30, 360, 480], // camvid-best (output stride 8) on a 360×480 frame
      [11, 90, 120, 360, 480], // SegFormer-B0 (stride 4)
      [12, 7, 10, 75, 101],
      [3, 5, 5, 5, 5], // same size: argmax only
      [4, 16, 20, 9, 11], // downsampling
    ];
    cases.forEach(([c, h, w, height, width], i) => {
      const logits = randomLogits(i + 1, c * h * w);
      const ours = upsampleArgmax(logits, c, w, h, width, height);
      const ref = torchIds(logits, c, h, w, height, width);
      let same = 0;
      for (let k = 0; k < ref.length; k++) if (ours[k] === ref[k]) same++;
      // only near-ties may differ (float64 here, float32 in torch)
      assert.ok(same / ref.length >= 0.9999, `case ${i}: ${same}/${ref.length} pixels agree`);
      if (h === height && w === width) assert.deepEqual(ours, ref);
    });
  });

  it('overlayRgba is predict\'s blendOverlay of the colour mask, with opaque alpha', () => {
    const r = rng(7);
    const w = 13, h = 9, n = w * h;
    const colors: [number, number, number][] = [[128, 64, 128], [0, 0, 192], [250, 250, 0]];
    const rgb = Uint8Array.from({ length: 3 * n }, () => Math.floor(r.uniform(0, 256)));
    const ids = Uint8Array.from({ length: n }, () => Math.floor(r.uniform(0, 3)));
    const rgba = new Uint8Array(4 * n);
    for (let i = 0; i < n; i++) rgba.set([rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!, 17], 4 * i);
    assert.deepEqual(rgbaToRgb(rgba, w, h), rgb);
    for (const alpha of [0, 0.35, 0.5, 1]) {
      const out = new Uint8Array(4 * n);
      overlayRgba(rgba, ids, colors, alpha, out);
      const want = blendOverlay(rgb, colorMask(ids, colors, 'test'), alpha);
      assert.deepEqual(rgbaToRgb(out, w, h), want, `alpha ${alpha}`);
      for (let i = 0; i < n; i++) assert.equal(out[4 * i + 3], 255);
    }
    assert.throws(() => overlayRgba(rgba, Uint8Array.from({ length: n }, () => 3), colors, 0.5, new Uint8Array(4 * n)), /class id 3 at pixel 0, but there are 3 colours/);
  });

  it('modelSize: the scale rule of predict, or the fixed size', () => {
    assert.deepEqual(modelSize({ scale: 0.5 }, 480, 360), { height: 180, width: 240 });
    assert.deepEqual(modelSize({ scale: 1 }, 481, 359), { height: 359, width: 481 });
    assert.deepEqual(modelSize({ scale: 0.5 }, 61, 45), { height: 23, width: 31 });
    assert.deepEqual(modelSize({ height: 360, width: 480 }, 1280, 720), { height: 360, width: 480 });
  });
});

describe("onnxruntime-web's profile", () => {
  it('takes each node\'s fastest run and sums per operator and provider', () => {
    const ev = (name: string, op: string, dur: number, provider = 'CPUExecutionProvider') =>
      JSON.stringify({ cat: 'Node', pid: 1, tid: 1, dur, ts: 0, ph: 'X', name: `${name}_kernel_time`, args: { op_name: op, provider, output_type_shape: [{ float: [1, 8] }] } }) + ',';
    const lines = [
      'unrelated log line',
      '[',
      JSON.stringify({ cat: 'Session', dur: 999999, name: 'session_initialization', args: {} }) + ',',
      ev('conv_1', 'Conv', 3000), ev('gemm_1', 'Gemm', 1500), ev('conv_2', 'Conv', 1000), ev('sm', 'Softmax', 500, 'JsExecutionProvider'),
      ev('conv_1', 'Conv', 2000), ev('gemm_1', 'Gemm', 2500), ev('conv_2', 'Conv', 1200), ev('sm', 'Softmax', 400, 'JsExecutionProvider'),
      JSON.stringify({ cat: 'Node', dur: 5, name: 'conv_1_fence_before', args: { op_name: 'Conv' } }) + ',',
      ']',
    ];
    const p = summarizeProfile(lines, 2);
    assert.equal(p.runs, 2);
    assert.equal(p.kernelMs, 4.9); // 2 + 1.5 + 1 + 0.4
    assert.deepEqual(p.ops.map((o) => [o.op, o.ms, o.nodes]), [['Conv', 3, 2], ['Gemm', 1.5, 1], ['Softmax', 0.4, 1]]);
    assert.equal(p.ops[0]!.share, +(3 / 4.9).toFixed(3));
    assert.deepEqual(p.providers, { CPUExecutionProvider: 3, JsExecutionProvider: 1 });
    assert.deepEqual(p.slowest.map((s) => [s.node, s.ms]), [['conv_1', 2], ['gemm_1', 1.5]]);
  });
});
