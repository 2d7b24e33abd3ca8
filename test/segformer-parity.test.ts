// SegFormer against HuggingFace's own numbers (the shared fixtures) and the PyTorch reference.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fromArray, tidy, noGrad, manualSeed, randn, type Tensor } from '../src/torch/index.js';
import { loadPretrained, savePretrained, readConfig, SegformerForSemanticSegmentation, segformerConfig } from '../src/models/index.js';
import { repoRoot } from '../src/util/paths.js';
import { PYTHON } from '../src/util/python.js';
import { requirePythonTorch } from './helpers/python.js';
import { checkParity, fixtureNoise, maxAbsDiff, readBin, type FixtureMeta as Meta } from './helpers/hf-fixture.js';
import { hfFixture, reference } from './helpers/test-inputs.js';

const quiet = () => {};
// The fixtures are SegFormer checkpoints; the decoder tests reach into its modules.
const loadSegformerFixture = (dir: string, opts: Parameters<typeof loadPretrained>[1]) => {
  const r = loadPretrained(dir, opts);
  assert.ok(r.model instanceof SegformerForSemanticSegmentation);
  return { ...r, model: r.model };
};
// The PyTorch reference (python3-torch, installed by make setup) checks what HF fixtures cannot.
for (const fixture of ['tiny', 'b0']) {
  const key = `segformer/${fixture}`;
  const dir = hfFixture(key);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta;
  const weightFiles = ['model.safetensors', 'pytorch_model.bin'].filter((f) => fs.existsSync(path.join(dir, f)));

  describe(`SegFormer parity: ${fixture}`, () => {
    for (const weights of weightFiles) {
      it(`${weights}: logits, weighted loss and gradients match HF (float64 exactly, float32 within its noise)`, () => {
        checkParity(() => loadSegformerFixture(dir, { weights, log: quiet }).model, dir, meta, fixtureNoise(key));
      });
    }

    it('the fused decoder equals HF\'s concat-then-fuse order', () => {
      const { model } = loadSegformerFixture(dir, { log: quiet });
      model.eval();
      tidy(() => {
        const x = readBin(dir, meta, 'input.bin');
        const a = model.forward(x).logits;
        model.decode_head.fusedDecoder = false;
        const b = model.forward(x).logits;
        const d = maxAbsDiff(a, b);
        within(`${fixture}: fused vs reference decoder`, d, 2e-5);
      });
      model.dispose();
    });
  });
}

describe('SegFormer: odd input sizes against the PyTorch reference', () => {
  it('sizes that are not multiples of 32 give the reference logits', () => {
    requirePythonTorch();
    const refDir = reference('pytorch');
    const dir = hfFixture('segformer/tiny');
    const { model } = loadSegformerFixture(dir, { log: quiet });
    model.eval();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-odd-'));
    for (const [h, w] of [[50, 70], [37, 101], [97, 33]] as const) {
      tidy(() => {
        manualSeed(h * w);
        const x = randn([1, 3, h, w]);
        const inp = path.join(tmp, 'in.bin');
        const out = path.join(tmp, 'out.bin');
        fs.writeFileSync(inp, x.toArray() as Float32Array);
        const r = spawnSync(PYTHON, [path.join(repoRoot, 'test', 'helpers', 'ref_segformer.py'), refDir, dir, inp, `1,3,${h},${w}`, out], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        const ours = noGrad(() => model.forward(x).logits);
        const expectShape = [1, 12, Math.floor((h - 1) / 4) + 1, Math.floor((w - 1) / 4) + 1];
        assert.deepEqual(ours.shape, expectShape);
        const buf = fs.readFileSync(out);
        const ref = fromArray(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), expectShape, 'float32');
        const d = maxAbsDiff(ours, ref);
        within(`${h}x${w}: logits max |diff| vs the PyTorch reference`, d, 1e-4);
      });
    }
    model.dispose();
    fs.rmSync(tmp, { recursive: true });
  });
});

describe('SegFormer variants', () => {
  it('B0–B5 have the parameter counts of the HF/PyTorch models (19 Cityscapes labels)', () => {
    // counted with shared/reference/pytorch/segformer.py (HF module tree), parameters + buffers
    const expected: Record<string, [number, number]> = {
      b0: [3719027, 513], b1: [13682131, 513], b2: [27361235, 1537],
      b3: [47237075, 1537], b4: [64007635, 1537], b5: [84607955, 1537],
    };
    for (const [v, [params, buffers]] of Object.entries(expected)) {
      const m = new SegformerForSemanticSegmentation(segformerConfig(v, Array.from({ length: 19 }, (_, i) => `c${i}`)), { init: false });
      assert.equal(m.numParameters(), params, `${v} parameters`);
      assert.equal(m.namedBuffers().reduce((n, [, b]) => n + b.numel, 0), buffers, `${v} buffers`);
      m.dispose();
    }
    assert.throws(() => segformerConfig('b9', ['a']), /unknown SegFormer variant 'b9': expected one of b0, b1, b2, b3, b4, b5/);
  });
});

describe('SegFormer checkpoints', () => {
  it('a checkpoint we save loads strictly into the PyTorch reference (HF module names) with the same logits', () => {
    requirePythonTorch();
    manualSeed(11);
    const m = new SegformerForSemanticSegmentation(segformerConfig('b0', ['a', 'b', 'c', 'd', 'e'], { hidden_sizes: [16, 32, 48, 64], decoder_hidden_size: 24, num_attention_heads: [1, 2, 3, 4] }));
    // make batch-norm running stats non-trivial so that they must round-trip too
    m.train();
    tidy(() => void m.forward(randn([2, 3, 64, 64])));
    m.eval();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-topy-'));
    savePretrained(m, path.join(tmp, 'ckpt'));
    tidy(() => {
      const x = randn([1, 3, 45, 61]);
      fs.writeFileSync(path.join(tmp, 'in.bin'), x.toArray() as Float32Array);
      const r = spawnSync(PYTHON, [path.join(repoRoot, 'test', 'helpers', 'ref_segformer.py'), reference('pytorch'), path.join(tmp, 'ckpt'), path.join(tmp, 'in.bin'), '1,3,45,61', path.join(tmp, 'out.bin')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const ours = m.forward(x).logits;
      const buf = fs.readFileSync(path.join(tmp, 'out.bin'));
      const ref = fromArray(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), ours.shape, 'float32');
      const d = maxAbsDiff(ours, ref);
      within('our checkpoint in the PyTorch reference: logits max |diff|', d, 1e-4);
    });
    fs.rmSync(tmp, { recursive: true });
  });

  it('save → load round trip reproduces outputs; config keeps id2label/label2id', () => {
    manualSeed(0);
    const labels = ['road', 'car', 'sky'];
    const m = new SegformerForSemanticSegmentation(segformerConfig('b0', labels, { hidden_sizes: [8, 16, 24, 32], decoder_hidden_size: 16, num_attention_heads: [1, 2, 4, 8], depths: [1, 1, 1, 1] }));
    m.eval();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-ckpt-'));
    savePretrained(m, tmp);
    const cfg = readConfig(tmp);
    assert.deepEqual(cfg.id2label, { 0: 'road', 1: 'car', 2: 'sky' });
    assert.deepEqual(cfg.label2id, { road: 0, car: 1, sky: 2 });
    const { model: m2 } = loadSegformerFixture(tmp, { log: quiet });
    m2.eval();
    tidy(() => {
      const x = randn([1, 3, 40, 56]);
      assert.equal(maxAbsDiff(m.forward(x).logits, m2.forward(x).logits), 0);
    });
    fs.rmSync(tmp, { recursive: true });
  });

  it('encoder-only checkpoints initialise the decode head; other label counts re-initialise the classifier', () => {
    const dir = hfFixture('segformer/tiny');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-enc-'));
    // an nvidia/mit-b0 style checkpoint: bare encoder keys plus an image-classification head
    const { model } = loadSegformerFixture(dir, { log: quiet });
    const sd = new Map([...model.stateDict()].filter(([k]) => k.startsWith('segformer.')).map(([k, v]) => [k.slice('segformer.'.length), v] as [string, Tensor]));
    sd.set('classifier.weight', randn([1000, 128]));
    sd.set('classifier.bias', randn([1000]));
    fs.copyFileSync(path.join(dir, 'config.json'), path.join(tmp, 'config.json'));
    const { saveTensors } = awaitTorch;
    saveTensors(path.join(tmp, 'model.safetensors'), sd);
    const logs: string[] = [];
    const r = loadSegformerFixture(tmp, { log: (l) => logs.push(l), labels: ['a', 'b', 'c'] });
    assert.ok(logs.some((l) => /encoder-only checkpoint; the head decode_head \(\d+ tensors\) is initialised/.test(l)), logs.join('\n'));
    assert.deepEqual(r.dropped.sort(), ['classifier.bias', 'classifier.weight']);
    assert.equal(r.model.numLabels, 3);
    tidy(() => {
      const enc = r.model.stateDict().get('segformer.encoder.block.0.0.attention.self.query.weight')!;
      assert.equal(maxAbsDiff(enc, model.stateDict().get('segformer.encoder.block.0.0.attention.self.query.weight')!), 0);
    });
    // full checkpoint, 5 labels instead of 12: one log line, classifier re-initialised, the rest loaded
    const logs2: string[] = [];
    const r2 = loadSegformerFixture(dir, { log: (l) => logs2.push(l), labels: ['a', 'b', 'c', 'd', 'e'] });
    assert.equal(logs2.length, 1);
    assert.match(logs2[0]!, /checkpoint has 12 labels .* model has 5; decode_head\.classifier is re-initialised/);
    assert.deepEqual(r2.model.decode_head.classifier.weight.shape, [5, 32, 1, 1]);
    tidy(() => {
      // HF's initialisation for the new classifier: N(0, initializer_range) weights, zero bias
      const w = r2.model.decode_head.classifier.weight;
      const std = w.sub(w.mean()).pow(2).mean().sqrt().item();
      assert.ok(Math.abs(std - 0.02) < 0.006, `classifier weight std ${std}`);
      assert.equal(r2.model.decode_head.classifier.bias!.abs().sum().item(), 0);
      // the encoder-only load: the initialised head's linear layers too
      assert.equal(r.model.decode_head.linear_c.at(0).proj.bias!.abs().sum().item(), 0);
    });
    // a real mismatch lists the keys
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-bad-'));
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    cfg.hidden_sizes = [16, 32, 64, 256];
    cfg.num_attention_heads = [1, 2, 4, 8];
    fs.writeFileSync(path.join(bad, 'config.json'), JSON.stringify(cfg));
    fs.copyFileSync(path.join(dir, 'model.safetensors'), path.join(bad, 'model.safetensors'));
    assert.throws(() => loadSegformerFixture(bad, { log: quiet }), /does not fit .*config\.json: shape mismatches \(25\): .*segformer\.encoder\.block\.3\.0\.attention\.self\.query\.weight expected \[256,256\] got \[128,128\]/);
    for (const d of [tmp, bad]) fs.rmSync(d, { recursive: true });
  });

  it('bad config.json: clear errors naming the file and field', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-cfg-'));
    fs.writeFileSync(path.join(tmp, 'config.json'), '{"model_type": "bert"}');
    assert.throws(() => readConfig(tmp), /config\.json: unknown model_type "bert": registered model types are segformer/);
    fs.writeFileSync(path.join(tmp, 'config.json'), '{not json');
    assert.throws(() => readConfig(tmp), /config\.json: invalid JSON/);
    assert.throws(() => readConfig(path.join(tmp, 'nope')), /config\.json: not found/);
    fs.rmSync(tmp, { recursive: true });
  });
});

import * as awaitTorch from '../src/torch/index.js';
import { within } from './helpers/tolerance.js';
