// --int8's dynamic linears: DynamicQuantizeMatMul in onnxruntime against the same arithmetic by hand
// (uint8 activations per tensor, int8 weights per output channel, int32 sums), its weight layout and
// scales, and whole models (SegFormer, MobileViT) close to libtorch with every linear quantised.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPretrained } from '../src/models/index.js';
import { buildOnnx, checkOnnx, CHECK_INT8_REL_RMS, DEFAULT_INT8, randomInput, relRms, torchLogits } from '../src/export/export.js';
import { createOrtSession } from '../src/export/ort.js';
import { decodeModel, encodeModel } from '../src/export/serialize.js';
import { GraphBuilder } from '../src/export/graph.js';
import { hfFixture } from './helpers/test-inputs.js';
import { rng } from '../src/util/random.js';

const ort = await import('onnxruntime-node');
const rne = (v: number) => {
  // round half to even, as onnxruntime's quantisation rounds
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** DynamicQuantizeMatMul's arithmetic in plain JS: x [m, k] · (q [k, n] · scale[n]) + bias. */
function byHand(x: Float32Array, m: number, k: number, q: Int8Array, scale: Float32Array, bias: Float32Array): Float32Array {
  const n = scale.length;
  const lo = Math.min(0, ...x);
  const hi = Math.max(0, ...x);
  const xs = Math.fround((hi - lo) / 255);
  const zp = Math.max(0, Math.min(255, rne(-lo / xs)));
  const xq = Array.from(x, (v) => Math.max(0, Math.min(255, rne(v / xs) + zp)));
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += (xq[i * k + t]! - zp) * q[t * n + j]!;
      y[i * n + j] = acc * xs * scale[j]! + bias[j]!;
    }
  }
  return y;
}

describe('int8 dynamic linears', () => {
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-int8dyn-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('one linear: the int8 weight stored [in, out] with per-output scales, and onnxruntime computes what the arithmetic says', async () => {
    const [m, k, n] = [7, 96, 48];
    const r = rng(11);
    const w = Float32Array.from({ length: n * k }, () => r.uniform(-0.2, 0.2));
    const b = Float32Array.from({ length: n }, () => r.uniform(-1, 1));
    const g = new GraphBuilder({ int8: DEFAULT_INT8 });
    const x = g.input('x', [m, k]);
    const y = g.dynamicLinear(x, 'fc.weight', w, g.initializer('fc.bias', b, [n]), [n, k]);
    assert.ok(y, 'a 48×96 weight (4608 elements) is quantised');
    g.output('y', y, [m, n]);
    assert.equal(g.dynamicLinears, 1);
    const proto = decodeModel(encodeModel(g.toModelProto()));
    const init = (name: string) => (proto.graph.initializer as { name: string; data_type: number; dims: number[]; raw_data: Uint8Array }[]).find((i) => i.name === name)!;
    const qi = init('fc.weight');
    assert.equal(qi.data_type, 3); // INT8
    assert.deepEqual(qi.dims, [k, n]);
    const q = new Int8Array(Uint8Array.from(qi.raw_data).buffer);
    const sRaw = Uint8Array.from(init('fc.weight_scale').raw_data);
    const scale = new Float32Array(sRaw.buffer);
    for (const j of [0, 17, n - 1]) {
      const col = Array.from(w.subarray(j * k, (j + 1) * k));
      assert.equal(scale[j], Math.fround(Math.max(...col.map(Math.abs)) / 127));
      col.forEach((v, t) => assert.equal(q[t * n + j], Math.round(v / scale[j]!) + 0));
    }
    // the dequantised weights, in the checkpoint's [out, in] layout, for the libtorch check
    assert.equal(g.dequantized.get('fc.weight')![5 * k + 3], Math.fround(q[3 * n + 5]! * scale[5]!));
    const node = proto.graph.node.find((nd: { op_type: string }) => nd.op_type === 'DynamicQuantizeMatMul');
    assert.equal(node.domain, 'com.microsoft');
    const file = path.join(tmp, 'fc.onnx');
    fs.writeFileSync(file, encodeModel(g.toModelProto()));
    const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
    const xv = Float32Array.from({ length: m * k }, () => r.uniform(-3, 2));
    const out = (await session.run({ x: new ort.Tensor('float32', xv, [m, k]) })).y!.data as Float32Array;
    await session.release();
    const want = byHand(xv, m, k, q, scale, b);
    const err = Math.max(...Array.from(out, (v, i) => Math.abs(v - want[i]!)));
    assert.ok(err <= 1e-4, `max |ORT − by hand| = ${err}`);
    // and the rounding of the activations is what separates it from the fp32 product, a little
    const fp = new Float32Array(m * n).map((_, i) => b[i % n]! + Array.from({ length: k }, (_, t) => xv[Math.floor(i / n) * k + t]! * w[(i % n) * k + t]!).reduce((a, v) => a + v, 0));
    const rel = relRms(out, fp);
    assert.ok(rel > 0 && rel < 0.02, `relative RMS vs fp32 ${rel}`);
  });

  it('weights below minElements and fp32 builders stay Gemm', () => {
    const g = new GraphBuilder({ int8: DEFAULT_INT8 });
    const x = g.input('x', [2, 16]);
    assert.equal(g.dynamicLinear(x, 'small.weight', new Float32Array(16 * 16), '', [16, 16]), null);
    assert.equal(new GraphBuilder().dynamicLinear(x, 'w', new Float32Array(64 * 64), '', [64, 64]), null);
    assert.equal(g.dynamicLinears, 0);
  });

  for (const [name, dir] of [['SegFormer (tiny)', hfFixture('segformer/tiny')], ['SegFormer-B0, the decode head\'s folded Aᵢ too', hfFixture('segformer/b0')], ['MobileViT xx-small', hfFixture('mobilevit/xx-small')]] as const) {
    it(`${name}: every big linear quantised; the logits within the self-check's bound of libtorch on the dequantised weights`, async () => {
      const { model } = loadPretrained(dir, { log: () => {} });
      try {
        const built = buildOnnx(model, { int8: true });
        const ops = (decodeModel(built.bytes).graph.node as { op_type: string }[]).map((nd) => nd.op_type);
        assert.equal(ops.filter((o) => o === 'DynamicQuantizeMatMul').length, built.builder.dynamicLinears);
        assert.ok(built.builder.dynamicLinears > 0);
        // B0's decoder (256 wide): each stage's folded Aᵢ is one integer GEMM
        const fused = (decodeModel(built.bytes).graph.initializer as { name: string }[]).filter((i) => /^decode_head\.fused\.\d\.weight$/.test(i.name));
        assert.equal(fused.length, dir.endsWith('b0') ? 4 : 0);
        const file = path.join(tmp, `${path.basename(dir)}.onnx`);
        fs.writeFileSync(file, built.bytes);
        const check = await checkOnnx(model, file, built, { dims: [1, 3, 64, 96], seed: 5 });
        assert.ok(check.relRms! > 0 && check.relRms! <= CHECK_INT8_REL_RMS, `relative RMS ${check.relRms}`);
        // against fp32 libtorch: the weights' rounding on top
        const x = randomInput([1, 3, 64, 96], 5);
        const session = await createOrtSession(file);
        const y = (await session.run({ pixel_values: new ort.Tensor('float32', x, [1, 3, 64, 96]) })).logits!.data as Float32Array;
        await session.release();
        const rel = relRms(y, torchLogits(model, x, [1, 3, 64, 96]));
        assert.ok(rel <= 0.15, `int8 vs fp32: relative RMS ${rel}`);
      } finally {
        model.dispose();
      }
    });
  }
});
