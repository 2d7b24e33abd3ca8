// ONNX export: our graph in onnxruntime-node against our libtorch forward (held-out sizes, batch 2),
// onnx.checker, int8 QDQ (size, hand-computed scales, closeness to fp32), Transformers.js loading the
// exported folder offline, and the CLI's errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel, loadPretrained, type SegmentationModel } from '../src/models/index.js';
import { buildOnnx, checkOnnx, CHECK_INT8_REL_RMS, randomInput, torchLogits, maxAbsDiff, WEIGHTS_ONLY_INT8 } from '../src/export/export.js';
import { createOrtSession, runLogits } from '../src/export/ort.js';
import { decodeModel } from '../src/export/serialize.js';
import { quantizePerChannel } from '../src/export/graph.js';
import { repoRoot } from '../src/util/paths.js';
import { hfFixture } from './helpers/test-inputs.js';
import { onnxCheck } from './helpers/onnx-checker.js';
import { checkTransformersJs } from './helpers/transformersjs.js';
import { within } from './helpers/tolerance.js';

const tinyDir = hfFixture('segformer/tiny');
const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const absMax = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('ONNX export (SegFormer)', () => {
  let tmp: string;
  let model: SegmentationModel;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-onnx-'));
    model = loadPretrained(tinyDir, { log: () => {} }).model;
  });
  after(() => {
    model.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  for (const opset of [17, 13]) {
    it(`opset ${opset}: one graph matches libtorch ≤ 1e-4 at held-out sizes (37×53 batch 2, 64×96) and passes onnx.checker`, async () => {
      const built = buildOnnx(model, { opset });
      const file = path.join(tmp, `tiny-${opset}.onnx`);
      fs.writeFileSync(file, built.bytes);
      const session = await createOrtSession(file, { threads: 1 });
      for (const dims of [[2, 3, 37, 53], [1, 3, 64, 96]] as [number, number, number, number][]) {
        const x = randomInput(dims, 7);
        const y = await runLogits(session, x, dims);
        assert.deepEqual(y.dims, [dims[0], 12, Math.ceil(dims[2] / 4), Math.ceil(dims[3] / 4)]);
        const ref = torchLogits(model, x, dims);
        assert.ok(absMax(ref) > 0.5, `logits scale ${absMax(ref)} makes the tolerance meaningful`);
        const d = maxAbsDiff(y.data, ref);
        within(`${dims}: max |ORT − libtorch|`, d, 1e-4);
      }
      await session.release();
      assert.deepEqual(onnxCheck(file), { irVersion: 8, opset, nodes: built.nodes });
      // Initializers carry the checkpoint's names.
      const names = new Set((decodeModel(built.bytes).graph.initializer as { name: string }[]).map((i) => i.name));
      for (const k of model.stateDict().keys()) if (!k.endsWith('num_batches_tracked')) assert.ok(names.has(k), `initializer ${k}`);
    });
  }

  it("GELU as onnxruntime's com.microsoft Gelu gives the same logits", async () => {
    const built = buildOnnx(model, { emit: { gelu: 'com.microsoft' } });
    const file = path.join(tmp, 'tiny-msgelu.onnx');
    fs.writeFileSync(file, built.bytes);
    const ops = (decodeModel(built.bytes).graph.node as { op_type: string; domain?: string }[]).filter((n) => n.op_type === 'Gelu');
    assert.equal(ops.length, 4);
    assert.ok(ops.every((n) => n.domain === 'com.microsoft'));
    const check = await checkOnnx(model, file, built, { dims: [1, 3, 45, 31] });
    within('self-check max |ORT − libtorch|', check.maxAbsDiff, 1e-4);
  });

  it('int8 weights (QDQ): per-channel scales and values as computed by hand; close to fp32; equal to libtorch on the dequantised weights', async () => {
    const built = buildOnnx(model, { int8: WEIGHTS_ONLY_INT8 });
    const file = path.join(tmp, 'tiny-int8.onnx');
    fs.writeFileSync(file, built.bytes);
    const proto = decodeModel(built.bytes);
    const init = (n: string) => (proto.graph.initializer as { name: string; data_type: number; dims: number[]; raw_data: Uint8Array }[]).find((i) => i.name === n)!;
    const name = 'decode_head.linear_fuse.weight'; // [32, 128, 1, 1]: 4096 elements, quantised
    const w = model.stateDict().get(name)!.toArray() as Float32Array;
    const q = init(name);
    assert.equal(q.data_type, 3); // INT8
    assert.deepEqual(q.dims, [32, 128, 1, 1]);
    const qv = new Int8Array(q.raw_data.buffer, q.raw_data.byteOffset, q.raw_data.byteLength);
    const sRaw = init(`${name}_scale`).raw_data;
    const scales = new Float32Array(sRaw.buffer.slice(sRaw.byteOffset, sRaw.byteOffset + sRaw.byteLength));
    assert.equal(scales.length, 32);
    for (const c of [0, 5, 31]) {
      const row = Array.from(w.subarray(c * 128, (c + 1) * 128));
      const s = Math.fround(Math.max(...row.map(Math.abs)) / 127);
      assert.equal(scales[c], s);
      row.forEach((v, i) => assert.equal(qv[c * 128 + i], Math.round(v / s) + 0)); // + 0: int8 has no -0
    }
    const dq = proto.graph.node.find((n: { input: string[] }) => n.input[0] === name);
    assert.equal(dq.op_type, 'DequantizeLinear');
    assert.equal(dq.attribute[0].name, 'axis');
    // Small tensors and biases stay fp32.
    assert.equal(init('decode_head.classifier.bias').data_type, 1);
    assert.equal(init('segformer.encoder.patch_embeddings.0.proj.weight').data_type, 1); // 16·3·7·7 < 4096
    const check = await checkOnnx(model, file, built, { dims: [2, 3, 37, 53], seed: 3 });
    within('int8: vs libtorch with dequantised weights', check.maxAbsDiff, 1e-4);
    const ref = torchLogits(model, randomInput([2, 3, 37, 53], 3), [2, 3, 37, 53]);
    assert.ok(check.maxAbsDiffVsFp32! <= 0.05 * absMax(ref), `int8 vs fp32: ${check.maxAbsDiffVsFp32} (logits up to ${absMax(ref)})`);
    assert.ok(check.maxAbsDiffVsFp32! > 0, 'int8 really changes the weights');
    // DequantizeLinear kept in the graph (run at every inference) gives the same logits as folding it at load.
    const x = randomInput([1, 3, 29, 35], 4);
    const [kept, folded] = [await createOrtSession(file, { dequantizeAtLoad: false }), await createOrtSession(file)];
    const a = await runLogits(kept, x, [1, 3, 29, 35]);
    const b = await runLogits(folded, x, [1, 3, 29, 35]);
    within('kept vs folded', maxAbsDiff(a.data, b.data), 1e-5);
    await kept.release();
    await folded.release();
  });

  it('quantizePerChannel: symmetric int8 on a hand example (axis 1)', () => {
    const r = quantizePerChannel(new Float32Array([1, -0.5, 0, 0.25, 2, 0]), [2, 3], 1);
    assert.deepEqual(Array.from(r.scale), [Math.fround(1 / 127), Math.fround(2 / 127), 1]);
    assert.deepEqual(Array.from(r.q), [127, -32, 0, 32, 127, 0]);
  });

  it('int8 B0 file is ≥ 3.5× smaller than fp32', () => {
    const b0 = createModel('b0', Array.from({ length: 12 }, (_, i) => `c${i}`));
    try {
      const fp32 = buildOnnx(b0).bytes.byteLength;
      const int8 = buildOnnx(b0, { int8: true }).bytes.byteLength;
      assert.ok(fp32 / int8 >= 3.5, `fp32 ${fp32} B / int8 ${int8} B = ${(fp32 / int8).toFixed(2)}`);
    } finally {
      b0.dispose();
    }
  });

  it('Transformers.js loads the exported folder offline; its argmax masks agree with our model', async () => {
    await checkTransformersJs(model, tmp, 'tjs');
  });

  it('CLI: a checkpoint without config.json, an unknown model_type and an unwritable OUT name the path', () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
    const a = run(['export', '--checkpoint', empty, '--onnx', path.join(tmp, 'x.onnx')]);
    assert.equal(a.status, 1);
    assert.match(a.stderr, new RegExp(`${path.join(empty, 'config.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not found`));
    fs.writeFileSync(path.join(empty, 'config.json'), JSON.stringify({ model_type: 'resnet' }));
    const b = run(['export', '--checkpoint', empty, '--onnx', path.join(tmp, 'x.onnx')]);
    assert.equal(b.status, 1);
    assert.match(b.stderr, /config\.json: unknown model_type "resnet"/);
    const blocker = path.join(tmp, 'a-file');
    fs.writeFileSync(blocker, '');
    const c = run(['export', '--checkpoint', tinyDir, '--onnx', path.join(blocker, 'sub', 'm.onnx')]);
    assert.equal(c.status, 1);
    assert.match(c.stderr, /a-file\/sub\/m\.onnx: cannot write here/);
    assert.ok(!fs.existsSync(path.join(tmp, 'x.onnx')));
  });

  it('CLI: export writes OUT and the Transformers.js folder, self-checks, and ends with the JSON summary', () => {
    const out = path.join(tmp, 'cli', 'm.onnx');
    const r = run(['export', '--checkpoint', tinyDir, '--onnx', out, '--opset', '15', '--int8']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(j.onnx, out);
    assert.equal(j.bytes, fs.statSync(out).size);
    assert.equal(j.opset, 15);
    assert.equal(j.int8, true);
    // --int8: the linears are int8 GEMMs whose activations are rounded at run time, judged by relative error
    assert.ok(j.dynamicLinears > 0 && j.relRms > 0 && j.relRms <= CHECK_INT8_REL_RMS, JSON.stringify(j));
    assert.ok(j.nodes > 100 && j.exportMs > 0);
    const hf = path.join(tmp, 'cli', 'm-transformersjs');
    assert.deepEqual(fs.readFileSync(path.join(hf, 'onnx', 'model_quantized.onnx')), fs.readFileSync(out));
    assert.equal(JSON.parse(fs.readFileSync(path.join(hf, 'config.json'), 'utf8')).id2label['0'], 'Sky');
    const pre = JSON.parse(fs.readFileSync(path.join(hf, 'preprocessor_config.json'), 'utf8'));
    assert.deepEqual(pre.image_mean, [0.485, 0.456, 0.406]);
    assert.equal(pre.rescale_factor, 1 / 255);
  });
});
