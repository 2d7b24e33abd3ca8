// ONNX export of MobileViT and MobileNetV2: one graph per model in onnxruntime-node against our libtorch
// forward at several sizes and batch 2, on the HF parity fixtures' weights (real batch-norm statistics, so
// the BN folding is tested) and a narrow MobileNetV2 without TF padding; HF's own logits on the fixture
// inputs; onnx.checker at opsets 17 and 13; int8 QDQ; `streetseg export` end to end.
// The held-out inputs are crops of the fixtures' own inputs: those keep the logits at the scale HF's test
// inputs give (a few units), so the fixtures' measured float32 noise (float32-noise.json) bounds the
// difference of two float32 implementations; random weights keep the export self-check's 1e-4.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel, loadPretrained, type SegmentationModel } from '../src/models/index.js';
import { benchOnnx } from '../bench/onnx.js';
import { MobileNetV2ForSemanticSegmentation, mobileNetV2Config } from '../src/models/mobilenet_v2/index.js';
import { buildOnnx, checkOnnx, maxAbsDiff, torchLogits, WEIGHTS_ONLY_INT8 } from '../src/export/export.js';
import { createOrtSession, runLogits } from '../src/export/ort.js';
import { decodeModel } from '../src/export/serialize.js';
import { BatchNorm2d, Conv2d, manualSeed, noGrad, rand, randn, tidy } from '../src/torch/index.js';
import { repoRoot } from '../src/util/paths.js';
import { hfFixture } from './helpers/test-inputs.js';
import { onnxCheck } from './helpers/onnx-checker.js';
import { checkTransformersJs } from './helpers/transformersjs.js';
import { within } from './helpers/tolerance.js';
import { crossImplementationTolerance } from './helpers/hf-fixture.js';

type Dims = [number, number, number, number];
const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const absMax = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const readF32 = (file: string) => {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

interface Fixture {
  dir: string;
  /** ORT vs libtorch on these weights: two float32 implementations, each within float32 noise of the exact logits. */
  tol: number;
  /** The fixture's input.bin and its NCHW dims. */
  x: Float32Array;
  dims: Dims;
}

function fixture(family: string, name: string): Fixture {
  const dir = hfFixture(`${family}/${name}`);
  const tol = crossImplementationTolerance(`${family}/${name}`).logits;
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { files: Record<string, { shape: number[] }> };
  return { dir, tol, x: readF32(path.join(dir, 'input.bin')), dims: meta.files['input.bin']!.shape as Dims };
}

/** n windows h×w of the fixture input (image i mod N, offset 5·i rows and 9·i columns). */
function crops(f: Fixture, n: number, h: number, w: number): Float32Array {
  const [N, C, H, W] = f.dims;
  const out = new Float32Array(n * C * h * w);
  for (let i = 0; i < n; i++) {
    const [oy, ox] = [(5 * i) % (H - h + 1), (9 * i) % (W - w + 1)];
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < h; y++) {
        const src = (((i % N) * C + c) * H + oy + y) * W + ox;
        out.set(f.x.subarray(src, src + w), ((i * C + c) * h + y) * w);
      }
    }
  }
  return out;
}

/** Builds the graph once, checks it with onnx.checker, and compares ORT with libtorch at every size. */
async function checkSizes(model: SegmentationModel, f: Fixture | null, file: string, opset: number, sizes: Dims[], input: (d: Dims) => Float32Array): Promise<void> {
  const built = buildOnnx(model, { opset });
  fs.writeFileSync(file, built.bytes);
  assert.deepEqual(onnxCheck(file), { irVersion: 8, opset, nodes: built.nodes });
  const session = await createOrtSession(file, { threads: 1 });
  try {
    for (const dims of sizes) {
      const x = input(dims);
      const y = await runLogits(session, x, dims);
      const os_ = model.outputStride;
      assert.deepEqual(y.dims, [dims[0], model.numLabels, Math.ceil(dims[2] / os_), Math.ceil(dims[3] / os_)]);
      const ref = torchLogits(model, x, dims);
      assert.ok(absMax(ref) > 0.5, `logits scale ${absMax(ref)} makes the tolerance meaningful`);
      const d = maxAbsDiff(y.data, ref);
      // random weights (no fixture): the export self-check's own 1e-4
      within(`opset ${opset} ${dims}: max |ORT − libtorch|`, d, f?.tol ?? 1e-4);
    }
    // HF's own logits on the fixture's input, from the same graph.
    if (f && opset === 17) {
      const y = await runLogits(session, f.x, f.dims);
      const d = maxAbsDiff(y.data, readF32(path.join(f.dir, 'logits.bin')));
      within(`fixture input ${f.dims}: max |ORT − HF|`, d, f.tol);
    }
  } finally {
    await session.release();
  }
  // Every tensor the forward reads is an initializer under its checkpoint name.
  const names = new Set((decodeModel(built.bytes).graph.initializer as { name: string }[]).map((i) => i.name));
  for (const k of model.stateDict().keys()) {
    // MobileNetV2's conv_1x1 is computed and discarded by HF, so the graph leaves it out.
    if (k.endsWith('num_batches_tracked') || k.startsWith('mobilenet_v2.conv_1x1.')) continue;
    assert.ok(names.has(k), `initializer ${k}`);
  }
}

describe('ONNX export: MobileViT and MobileNetV2', () => {
  let tmp: string;
  const mvit = fixture('mobilevit', 'tiny-odd');
  const mnet = fixture('mobilenet_v2', 'small-input');
  const load = (f: Fixture) => loadPretrained(f.dir, { log: () => {} }).model;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-onnx-mobile-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  // 64×96 keeps every MobileViT feature map even (32×48 … 4×6); 37×53 makes the maps the transformers
  // see odd (5×7 and 3×4), so the graph's resize around unfolding is a real one; MobileNetV2's
  // stride-2 convs see odd and even sides (37 → 19 → 10 → 5: symmetric, symmetric, asymmetric pads).
  const sizes: Dims[] = [[2, 3, 64, 96], [2, 3, 37, 53]];

  for (const opset of [17, 13]) {
    it(`MobileViT (tiny-odd weights), opset ${opset}: one graph within float32 noise of libtorch at 64×96, 37×53, batch 2, and HF's logits`, async () => {
      const model = load(mvit);
      try {
        await checkSizes(model, mvit, path.join(tmp, `mvit-${opset}.onnx`), opset, sizes, (d) => crops(mvit, d[0], d[2], d[3]));
      } finally {
        model.dispose();
      }
    });

    it(`MobileNetV2 (small-input weights, TF padding, output stride 8), opset ${opset}: within float32 noise of libtorch at 64×96, 37×53, batch 2, and HF's logits`, async () => {
      const model = load(mnet);
      try {
        await checkSizes(model, mnet, path.join(tmp, `mnet-${opset}.onnx`), opset, sizes, (d) => crops(mnet, d[0], d[2], d[3]));
      } finally {
        model.dispose();
      }
    });
  }

  it('MobileViT: the graph resizes around every unfold and fold (6 Resize for 3 blocks), with sizes from Shape only', () => {
    const model = load(mvit);
    try {
      const nodes = decodeModel(buildOnnx(model).bytes).graph.node as { op_type: string; input: string[] }[];
      const resize = nodes.filter((n) => n.op_type === 'Resize');
      assert.equal(resize.length, 6);
      // The sizes input is computed (a node's output), never a baked-in initializer.
      const outputs = new Set(nodes.flatMap((n) => (n as unknown as { output: string[] }).output));
      for (const r of resize) assert.ok(outputs.has(r.input[3]!), `Resize sizes '${r.input[3]}' comes from the graph`);
    } finally {
      model.dispose();
    }
  });

  it("MobileViT with onnxruntime's fused MultiHeadAttention (one per transformer layer), no spinning: within float32 noise of libtorch at 37×53 batch 2", async () => {
    const model = load(mvit);
    try {
      const built = buildOnnx(model, { emit: { attention: 'com.microsoft' } });
      const nodes = decodeModel(built.bytes).graph.node as { op_type: string; domain?: string }[];
      const mha = nodes.filter((n) => n.op_type === 'MultiHeadAttention');
      assert.equal(mha.length, 2 + 4 + 3);
      assert.ok(mha.every((n) => n.domain === 'com.microsoft'));
      assert.equal(nodes.filter((n) => n.op_type === 'Softmax').length, 0);
      const file = path.join(tmp, 'mvit-mha.onnx');
      fs.writeFileSync(file, built.bytes);
      const session = await createOrtSession(file, { threads: 1, spinning: false });
      const dims: Dims = [2, 3, 37, 53];
      const x = crops(mvit, 2, 37, 53);
      const d = maxAbsDiff((await runLogits(session, x, dims)).data, torchLogits(model, x, dims));
      await session.release();
      within('max |ORT − libtorch|', d, mvit.tol);
    } finally {
      model.dispose();
    }
  });

  it('bench model --runtime onnx on MobileNetV2: the JSON describes the graph it timed', async () => {
    const r = await benchOnnx({ model: 'mobilenet_v2-0.35', batch: 1, height: 37, width: 53, iters: 2, warmup: 0, spinning: false });
    const m = createModel('mobilenet_v2-0.35', Array.from({ length: 12 }, (_, i) => `c${i}`));
    const built = buildOnnx(m);
    m.dispose();
    assert.deepEqual([r.runtime, r.int8, r.spinning, r.attention, r.onnxBytes, r.nodes], ['onnx', false, false, 'matmul', built.bytes.byteLength, built.nodes]);
    assert.ok(r.msPerStep > 0 && r.timesMs.length === 2);
  });

  it('MobileNetV2 width 0.35, symmetric padding (tf_padding false), output stride 16, random BN statistics: ≤ 1e-4', async () => {
    manualSeed(11);
    const labels = Array.from({ length: 5 }, (_, i) => `c${i}`);
    const model = new MobileNetV2ForSemanticSegmentation(mobileNetV2Config('0.35', labels, { tf_padding: false, output_stride: 16 }));
    // LeCun-scaled conv weights and batch norms far from identity, so every fold and branch shows in the logits.
    noGrad(() =>
      tidy(() => {
        for (const [, m] of model.modules()) {
          if (m instanceof Conv2d) m.weight.copy_(randn(m.weight.shape).mul(Math.sqrt(1 / (m.weight.shape.slice(1).reduce((a, b) => a * b, 1)))));
          if (m instanceof BatchNorm2d) {
            m.runningMean.copy_(randn(m.runningMean.shape).mul(0.2));
            m.runningVar.copy_(rand(m.runningVar.shape).add(0.5));
            m.weight.copy_(rand(m.weight.shape).add(0.5));
            m.bias.copy_(randn(m.bias.shape).mul(0.1));
          }
        }
      }),
    );
    try {
      manualSeed(12);
      const input = (d: Dims) => tidy(() => randn(d).mul(0.5).toArray() as Float32Array);
      await checkSizes(model, null, path.join(tmp, 'mnet-035.onnx'), 17, [[2, 3, 64, 96], [1, 3, 37, 53]], input);
    } finally {
      model.dispose();
    }
  });

  for (const [name, f] of [['MobileViT xx-small', fixture('mobilevit', 'xx-small')], ['MobileNetV2 1.0', mnet]] as const) {
    it(`${name} int8 weights (QDQ): ≥ 3× smaller, equal to libtorch on the dequantised weights, close to fp32`, async () => {
      const model = load(f);
      try {
        const fp32 = buildOnnx(model).bytes.byteLength;
        const built = buildOnnx(model, { int8: WEIGHTS_ONLY_INT8 });
        assert.ok(fp32 / built.bytes.byteLength >= 3, `fp32 ${fp32} B / int8 ${built.bytes.byteLength} B`);
        const file = path.join(tmp, `${path.basename(f.dir)}-int8.onnx`);
        fs.writeFileSync(file, built.bytes);
        // checkOnnx's own input is N(0,1) noise; here the fixture's input, cropped to an odd size.
        const dims: Dims = [1, 3, 45, 61];
        const x = crops(f, 1, 45, 61);
        const session = await createOrtSession(file, { threads: 1 });
        const y = (await runLogits(session, x, dims)).data;
        await session.release();
        const dq = torchLogits(model, x, dims, built.builder.dequantized);
        within('int8: vs libtorch with dequantised weights', maxAbsDiff(y, dq), f.tol);
        // Per-channel int8 of these random (untrained) weights: a relative RMS error of 6–10% (measured).
        const ref = torchLogits(model, x, dims);
        const rel = Math.sqrt(y.reduce((a, v, i) => a + (v - ref[i]!) ** 2, 0) / ref.reduce((a, v) => a + v * v, 0));
        assert.ok(rel > 0 && rel <= 0.15, `int8 vs fp32: relative RMS error ${rel}`);
        // The export's own self-check agrees (N(0,1) input).
        within('checkOnnx at 37×53', (await checkOnnx(model, file, built, { dims: [1, 3, 37, 53] })).maxAbsDiff, 1e-4);
      } finally {
        model.dispose();
      }
    });
  }

  it('Transformers.js loads the exported MobileNetV2 folder offline; its argmax masks agree with our model', async () => {
    const model = load(mnet);
    try {
      await checkTransformersJs(model, tmp, 'mnet-tjs');
    } finally {
      model.dispose();
    }
  });

  it('CLI: streetseg export on a MobileNetV2 checkpoint writes the file and the Transformers.js folder and self-checks', () => {
    const out = path.join(tmp, 'cli', 'mnet.onnx');
    const r = spawnSync(process.execPath, [cli, 'export', '--checkpoint', mnet.dir, '--onnx', out, '--opset', '13'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(j.onnx, out);
    assert.equal(j.bytes, fs.statSync(out).size);
    assert.equal(j.opset, 13);
    within('export command self-check', j.maxAbsDiff, 1e-4);
    assert.deepEqual(j.checkDims, [1, 12, Math.ceil(75 / 8), Math.ceil(101 / 8)]);
    const hf = path.join(tmp, 'cli', 'mnet-transformersjs');
    assert.deepEqual(fs.readFileSync(path.join(hf, 'onnx', 'model.onnx')), fs.readFileSync(out));
    assert.equal(JSON.parse(fs.readFileSync(path.join(hf, 'config.json'), 'utf8')).model_type, 'mobilenet_v2');
  });
});
