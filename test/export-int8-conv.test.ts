// --int8's integer convolutions: QLinearConv in onnxruntime against its arithmetic done by hand (uint8
// activations at calibrated ranges, int8 weights per output channel with the batch norm folded in, int32
// bias), the calibration ranges against the activations themselves, which CPUs get integer convs, and
// whole models exported with them close to libtorch.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { calibrateConvs, calibrationImages, calibrationInput } from '../src/export/calibrate.js';
import { buildOnnx, CHECK_INT8_CONV_REL_RMS, DEFAULT_INT8, exportCheckpoint, selfCheckError } from '../src/export/export.js';
import { GraphBuilder, quantizePerChannel, type ConvRanges } from '../src/export/graph.js';
import { cpuVnniFlags, int8ConvChoice } from '../src/export/int8-convs.js';
import { parseCpuinfo } from '../src/torch/blas-core.js';
import { conv2d, convBn } from '../src/export/layers.js';
import { uint8Params } from '../src/export/qconv.js';
import { decodeModel, encodeModel } from '../src/export/serialize.js';
import { loadPretrained, openCheckpoint } from '../src/models/index.js';
import { BatchNorm2d, Conv2d, manualSeed, noGrad } from '../src/torch/index.js';
import { repoRoot } from '../src/util/paths.js';
import { rng } from '../src/util/random.js';
import { dataset, hfFixture } from './helpers/test-inputs.js';

const ort = await import('onnxruntime-node');
const rne = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};
const clampU8 = (v: number) => Math.max(0, Math.min(255, v));

/**
 * A naive NCHW conv (stride 1, symmetric padding p, one group): Σ tap(x)·wv(weight index) + acc0(out channel)
 * over the taps inside the image (padding contributes nothing: zero, or the zero point in uint8).
 */
function convByHand(x: Float32Array, [cin, h, w]: number[], cout: number, k: number, p: number, tap: (v: number) => number, wv: (i: number) => number, acc0: (o: number) => number): Float64Array {
  const y = new Float64Array(cout * h * w);
  for (let o = 0; o < cout; o++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        let acc = acc0(o);
        for (let c = 0; c < cin; c++) {
          for (let u = 0; u < k; u++) {
            for (let v = 0; v < k; v++) {
              const [ii, jj] = [i + u - p, j + v - p];
              if (ii < 0 || jj < 0 || ii >= h || jj >= w) continue; // padding: zero (the zero point, in uint8)
              acc += tap(x[(c * h + ii) * w + jj]!) * wv(((o * cin + c) * k + u) * k + v);
            }
          }
        }
        y[(o * h + i) * w + j] = acc;
      }
    }
  }
  return y;
}

describe('int8 integer convolutions', () => {
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-int8conv-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('uint8 parameters cover the range and zero, by hand', () => {
    assert.deepEqual(uint8Params({ min: -1, max: 3 }), { scale: Math.fround(4 / 255), zeroPoint: 64 });
    assert.deepEqual(uint8Params({ min: 0.5, max: 2 }), { scale: Math.fround(2 / 255), zeroPoint: 0 });
    assert.deepEqual(uint8Params({ min: -2, max: -1 }), { scale: Math.fround(2 / 255), zeroPoint: 255 });
    assert.deepEqual(uint8Params({ min: 0, max: 0 }), { scale: 1, zeroPoint: 0 });
    assert.throws(() => uint8Params({ min: NaN, max: 1 }), /range \[NaN, 1\] is not a finite interval/);
  });

  it('integer convs where the CPU has VNNI or for the browser, fp32 elsewhere and without calibration, and why', () => {
    assert.deepEqual(cpuVnniFlags(parseCpuinfo('processor : 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n')), ['avx512_vnni']);
    assert.deepEqual(cpuVnniFlags(parseCpuinfo('flags : fpu sse2 avx2 fma\n')), []);
    const pick = (o: Partial<Parameters<typeof int8ConvChoice>[0]>) => int8ConvChoice({ mode: 'auto', target: 'cpu', calibrated: true, vnni: [], ...o });
    assert.deepEqual([pick({ vnni: ['avx_vnni'] }).int8, pick({ vnni: ['avx_vnni'] }).reduceRange], [true, false]);
    assert.match(pick({}).reason, /no VNNI .*saturate/);
    assert.throws(() => uint8Params({ min: 2, max: 1 }), /not a finite interval/);
    assert.equal(pick({}).int8, false);
    assert.deepEqual([pick({ target: 'wasm' }).int8, pick({ target: 'wasm' }).reduceRange], [true, false]);
    assert.deepEqual([pick({ mode: 'int8' }).int8, pick({ mode: 'int8' }).reduceRange], [true, true]);
    assert.equal(pick({ mode: 'fp32', vnni: ['avx512_vnni'] }).int8, false);
    assert.match(pick({ calibrated: false, vnni: ['avx512_vnni'] }).reason, /no calibration images/);
    assert.throws(() => pick({ mode: 'int8', calibrated: false }), /--int8-convs int8 needs calibration images/);
  });

  it('one conv + batch norm: onnxruntime QLinearConv computes the integer arithmetic, the fp32 conv within a step', async () => {
    manualSeed(3);
    const [cin, cout, k, h, w] = [8, 16, 3, 9, 11];
    const conv = new Conv2d(cin, cout, k, { padding: 1, bias: false });
    const bn = new BatchNorm2d(cout);
    const r = rng(4);
    noGrad(() => {
      bn.runningMean.copyFromArray(Float32Array.from({ length: cout }, () => r.uniform(-0.3, 0.3)));
      bn.runningVar.copyFromArray(Float32Array.from({ length: cout }, () => r.uniform(0.5, 2)));
      bn.weight.copyFromArray(Float32Array.from({ length: cout }, () => r.uniform(0.5, 1.5)));
      bn.bias.copyFromArray(Float32Array.from({ length: cout }, () => r.uniform(-0.5, 0.5)));
    });
    const x = Float32Array.from({ length: cin * h * w }, () => r.uniform(-2, 3));
    // the fp32 conv with the batch norm folded, to take the output range from
    const wt = conv.weight.toArray() as Float32Array;
    const bnS = Array.from({ length: cout }, (_, o) => (bn.weight.toArray() as Float32Array)[o]! / Math.sqrt((bn.runningVar.toArray() as Float32Array)[o]! + bn.eps));
    const bnB = Array.from({ length: cout }, (_, o) => (bn.bias.toArray() as Float32Array)[o]! - (bn.runningMean.toArray() as Float32Array)[o]! * bnS[o]!);
    const inner = cin * k * k;
    const folded = Float32Array.from(wt, (v, i) => v * bnS[Math.floor(i / inner)]!);
    const fp = convByHand(x, [cin, h, w], cout, k, 1, (v) => v, (i) => folded[i]!, (o) => bnB[o]!);
    const ranges: ConvRanges = new Map([['block', { input: { min: Math.min(...x), max: Math.max(...x) }, output: { min: Math.min(...fp), max: Math.max(...fp) } }]]);
    // 7-bit weights: the pair sums fit int16 on every x86 kernel, so the check is exact on any CPU
    const g = new GraphBuilder({ int8: { minElements: 1, convs: ranges, reduceRange: true } });
    const xin = g.input('x', [1, cin, h, w]);
    g.output('y', convBn(g, xin, 'block', { convolution: conv, normalization: bn }), [1, cout, h, w]);
    assert.equal(g.qlinearConvs, 1);
    const bytes = encodeModel(g.toModelProto());
    assert.deepEqual((decodeModel(bytes).graph.node as { op_type: string }[]).map((n) => n.op_type), ['QuantizeLinear', 'QLinearConv', 'DequantizeLinear', 'Identity']);
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const out = (await session.run({ x: new ort.Tensor('float32', x, [1, cin, h, w]) })).y!.data as Float32Array;
    await session.release();

    const px = uint8Params(ranges.get('block')!.input);
    const py = uint8Params(ranges.get('block')!.output);
    const qw = quantizePerChannel(folded, [cout, cin, k, k], 0, 63);
    assert.ok(Math.max(...Array.from(qw.q, Math.abs)) === 63);
    const bq = (o: number) => Math.round(bnB[o]! / (px.scale * qw.scale[o]!));
    const acc = convByHand(x, [cin, h, w], cout, k, 1, (v) => clampU8(rne(v / px.scale) + px.zeroPoint) - px.zeroPoint, (i) => qw.q[i]!, bq);
    const hand = Float32Array.from(acc, (a, i) => {
      const o = Math.floor(i / (h * w));
      return (clampU8(rne((a * Math.fround(px.scale * qw.scale[o]!)) / py.scale) + py.zeroPoint) - py.zeroPoint) * py.scale;
    });
    let exact = 0;
    let worst = 0;
    for (let i = 0; i < out.length; i++) {
      const d = Math.abs(out[i]! - hand[i]!);
      if (d < 1e-6) exact++;
      worst = Math.max(worst, d);
    }
    // onnxruntime requantises in float32: a value on a rounding tie may land one step away
    assert.ok(worst <= py.scale * 1.001, `max |ORT − by hand| ${worst} vs step ${py.scale}`);
    assert.ok(exact >= 0.99 * out.length, `${exact} of ${out.length} exact`);
    const errFp = Math.max(...Array.from(out, (v, i) => Math.abs(v - fp[i]!)));
    assert.ok(errFp < 0.05 * (Math.max(...fp) - Math.min(...fp)), `max |int8 − fp32| ${errFp}`);
  });

  it('a conv without bias or batch norm, and convs below minElements or in fp32 builders, stay as they were', () => {
    const conv = new Conv2d(4, 4, 1, { bias: false });
    const g = new GraphBuilder({ int8: { ...DEFAULT_INT8, convs: new Map() } });
    conv2d(g, g.input('x', [1, 4, 2, 2]), 'small', conv);
    assert.equal(g.qlinearConvs, 0);
    const big = new Conv2d(64, 64, 1, { bias: false });
    const g2 = new GraphBuilder({ int8: { ...DEFAULT_INT8, convs: new Map() } });
    assert.throws(() => conv2d(g2, g2.input('x', [1, 64, 2, 2]), 'big', big), /staticConv 'big': no calibrated range/);
    const g3 = new GraphBuilder({ int8: { ...DEFAULT_INT8, convs: new Map([['big', { input: { min: -1, max: 1 }, output: { min: -1, max: 1 } }]]) } });
    conv2d(g3, g3.input('x', [1, 64, 2, 2]), 'big', big);
    const ops = (decodeModel(encodeModel(g3.toModelProto())).graph.node as { op_type: string; input: string[] }[]).filter((n) => n.op_type === 'QLinearConv');
    assert.equal(ops[0]!.input.length, 8, 'no bias input');
  });

  it('calibration frames: a dataset root gives its train split, evenly spaced; a folder its images; errors name the path', () => {
    const root = dataset('camvid');
    const set = calibrationImages(root, 4);
    assert.equal(set.files.length, 4);
    for (const f of set.files) assert.equal(path.basename(path.dirname(f)), 'train');
    assert.deepEqual(calibrationImages(set.files[0]!).files, [set.files[0]]);
    const dir = path.join(tmp, 'frames');
    fs.mkdirSync(dir);
    for (const n of ['b.png', 'a.png']) fs.copyFileSync(set.files[0]!, path.join(dir, n));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an image');
    assert.deepEqual(calibrationImages(dir).files.map((f) => path.basename(f)), ['a.png', 'b.png']);
    assert.throws(() => calibrationImages(path.join(tmp, 'nope')), /nope: calibration images not found/);
    assert.throws(() => calibrationImages(path.join(dir, 'notes.txt')), /notes.txt: not an image file/);
    assert.throws(() => calibrationImages(root, 0), /calibration image count 0/);
  });

  it('MobileViT: the calibrated ranges are the activations\' own extremes, one per quantised conv', async () => {
    const dir = hfFixture('mobilevit/xx-small');
    const set = calibrationImages(dataset('camvid'), 3);
    const { model } = loadPretrained(dir, { log: () => {} });
    try {
      // every conv, the small stem too: it reads the pixels themselves
      const all = { ...DEFAULT_INT8, minElements: 1 };
      const ranges = await calibrateConvs(model, set.files, { scale: 0.25 }, all);
      const stem = ranges.get('mobilevit.conv_stem')!;
      let [lo, hi] = [Infinity, -Infinity];
      for (const f of set.files) {
        const { data } = await calibrationInput(f, { scale: 0.25 });
        for (const v of data) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      }
      assert.deepEqual([stem.input.min, stem.input.max], [lo, hi]);
      assert.ok(stem.output.max > stem.output.min);
      assert.ok(ranges.has('segmentation_head.aspp.project'), [...ranges.keys()].join(' '));
      const built = buildOnnx(model, { int8: { ...all, convs: ranges } });
      assert.equal(built.builder.qlinearConvs, ranges.size);
    } finally {
      model.dispose();
    }
  });

  it('camvid-best exported with integer convs: within the self-check bound of libtorch on a CamVid frame, and far inside it', async () => {
    const out = path.join(tmp, 'camvid-best.onnx');
    const e = await exportCheckpoint(openCheckpoint(path.join(repoRoot, 'models', 'camvid-best')), { out, int8: true, int8Convs: 'int8', calibrate: dataset('camvid'), calibrationImages: 4, log: () => {} });
    assert.equal(selfCheckError(e), null);
    assert.ok(e.convs!.int8 && e.convs!.qlinearConvs >= 20, JSON.stringify(e.convs));
    assert.deepEqual(e.convs!.calibration, { source: dataset('camvid'), images: 4 });
    assert.deepEqual(e.checkDims, [1, 11, 23, 30], 'the self-check ran on a calibration frame, at the checkpoint scale 0.5');
    // a trained model's activations quantise well: an order of magnitude inside the bound (0.012 measured)
    assert.ok(e.relRms! > 0 && e.relRms! <= CHECK_INT8_CONV_REL_RMS / 5, `relative RMS ${e.relRms}`);
  });

  for (const [name, key, size] of [['SegFormer (tiny): patch embeddings and reductions', 'segformer/tiny', { height: 64, width: 96 }], ['MobileNetV2: TF-SAME padded convs', 'mobilenet_v2/small-input', { height: 96, width: 96 }]] as const) {
    it(`${name} become QLinearConv; auto without calibration keeps fp32 convs and says why`, async () => {
      const dir = hfFixture(key);
      const out = path.join(tmp, `${path.basename(dir)}.onnx`);
      const e = await exportCheckpoint(openCheckpoint(dir), { out, int8: true, int8Convs: 'int8', calibrate: dataset('camvid'), calibrationImages: 2, calibrationSize: size, log: () => {} });
      assert.equal(selfCheckError(e), null, JSON.stringify(e));
      assert.ok(e.convs!.qlinearConvs > 0);
      const plain = await exportCheckpoint(openCheckpoint(dir), { out, int8: true, log: () => {} });
      assert.deepEqual([plain.convs!.int8, plain.convs!.qlinearConvs], [false, 0]);
      assert.match(plain.convs!.reason, /no calibration images/);
    });
  }
});
