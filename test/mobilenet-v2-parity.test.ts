// MobileNetV2 + DeepLabV3 head against HuggingFace's own numbers (shared/fixtures/mobilenet_v2), its
// TF "SAME" padding and channel arithmetic by hand, config validation, and checkpoint round trips.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BatchNorm2d, dispose, keep, loadTensors, manualSeed, randn, randint, saveTensors, tidy, zeros, type Tensor } from '../src/torch/index.js';
import { createModel, loadPretrained, readConfig, resolveModelName, savePretrained } from '../src/models/index.js';
import {
  MobileNetV2ConvLayer,
  MobileNetV2ForSemanticSegmentation,
  applyDepthMultiplier,
  makeDivisible,
  mobileNetV2Config,
  mobileNetV2Family,
  parseMobileNetV2Config,
  samePadding,
} from '../src/models/mobilenet_v2/index.js';
import { checkParity, fixtureNoise, maxAbsDiff, parityTolerances, readBin, type FixtureMeta } from './helpers/hf-fixture.js';
import { hfFixture } from './helpers/test-inputs.js';

interface Meta extends FixtureMeta {
  num_parameters: number;
  structure: { strided_or_dilated_convs: { layer: string; in_hw: number[]; stride: number; dilation: number; padded_hw: number[] }[] };
}

const quiet = () => {};
const tmpDir = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `ss-${tag}-`));

const loadFixture = (dir: string) => {
  const r = loadPretrained(dir, { log: quiet });
  assert.ok(r.model instanceof MobileNetV2ForSemanticSegmentation);
  return r.model;
};

describe('MobileNetV2 parity: small-input (260×326, output stride 8)', () => {
  const key = 'mobilenet_v2/small-input';
  const dir = hfFixture(key);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta;

  it('logits, weighted loss and gradients match HF (float64 exactly, float32 within its noise)', () => {
    checkParity(() => loadFixture(dir), dir, meta, fixtureNoise(key));
  });

  it("parameter count; HF's discarded final 1×1 conv gets no gradient", () => {
    const model = loadFixture(dir);
    assert.equal(model.numParameters(), meta.num_parameters);
    assert.equal(model.outputStride, 8);
    model.eval();
    tidy(() => {
      const x = readBin(dir, meta, 'input.bin');
      model.forward(x, readBin(dir, meta, 'labels.bin')).loss!.backward();
      // HF computes the backbone's final 1×1 conv and discards it: no gradient reaches it.
      assert.equal(model.stateDict().get('mobilenet_v2.conv_1x1.convolution.weight')!.grad, null);
    });
    model.dispose();
  });

  it('batch norm folded into the convs (eval) equals conv → batch norm on running statistics', () => {
    // Conv layers in training mode skip the folding; their batch norms stay on running statistics.
    const unfold = (model: MobileNetV2ForSemanticSegmentation) => {
      for (const [, m] of model.modules()) if (m instanceof MobileNetV2ConvLayer) m.training = true;
      for (const [, m] of model.modules()) if (m instanceof BatchNorm2d) m.training = false;
    };
    const logits = (dtype: 'float32' | 'float64', folded: boolean) => {
      const model = loadFixture(dir).to(dtype).eval();
      if (!folded) unfold(model);
      const y = tidy(() => keep(model.forward(readBin(dir, meta, 'input.bin').to(dtype)).logits.to('float64')));
      model.dispose();
      return y;
    };
    const exact = logits('float64', true);
    const cases = { unfolded64: logits('float64', false), folded32: logits('float32', true), unfolded32: logits('float32', false) };
    // In float64 the two orders agree to float64 rounding; in float32 each is within float32 noise.
    assert.ok(maxAbsDiff(cases.unfolded64, exact) <= 1e-9, `float64: folded vs unfolded ${maxAbsDiff(cases.unfolded64, exact)}`);
    const tol = parityTolerances(fixtureNoise(key)).float32.logits;
    for (const k of ['folded32', 'unfolded32'] as const) assert.ok(maxAbsDiff(cases[k], exact) <= tol, `${k} vs float64: ${maxAbsDiff(cases[k], exact)} > ${tol}`);
    dispose([exact, ...Object.values(cases)]);
  });

  it('SAME padding of every strided or dilated conv is the fixture\'s', () => {
    for (const c of meta.structure.strided_or_dilated_convs) {
      const [h, w] = c.in_hw as [number, number];
      const [t, b] = samePadding(h, 3, c.stride, c.dilation);
      const [l, r] = samePadding(w, 3, c.stride, c.dilation);
      assert.deepEqual([h + t + b, w + l + r], c.padded_hw, c.layer);
    }
  });
});

describe('MobileNetV2 building blocks', () => {
  it('TF SAME padding by hand: even sizes pad after only under stride 2, dilation scales it', () => {
    assert.deepEqual(samePadding(260, 3, 2, 1), [0, 1]);
    assert.deepEqual(samePadding(65, 3, 2, 1), [1, 1]);
    assert.deepEqual(samePadding(33, 3, 1, 4), [4, 4]);
    assert.deepEqual(samePadding(10, 1, 1, 1), [0, 0]);
    assert.deepEqual(samePadding(8, 5, 2, 1), [1, 2]); // pad 5 - 2 = 3
    assert.deepEqual(samePadding(7, 5, 3, 1), [2, 2]); // 7 % 3 = 1 → pad 5 - 1 = 4
  });

  it('channel arithmetic follows TF slim (make_divisible, Python rounding)', () => {
    assert.equal(makeDivisible(16), 16);
    assert.equal(makeDivisible(11), 16); // int(11 + 4) // 8 * 8 = 8 < 0.9·11 → 16
    assert.equal(makeDivisible(12), 16);
    assert.equal(makeDivisible(3, 8, 8), 8);
    const base = mobileNetV2Config('1.0', ['a']);
    const narrow = mobileNetV2Config('0.35', ['a']);
    assert.equal(applyDepthMultiplier(base, 320), 320);
    assert.equal(applyDepthMultiplier(narrow, 32), 16); // round(11.2) = 11 → 16
    assert.equal(applyDepthMultiplier(narrow, 320), 112);
    assert.equal(applyDepthMultiplier(mobileNetV2Config('1.4', ['a']), 24), 32); // 33.6 → 34 → 32
  });

  it('output stride: layer.0 and layer.2 keep stride 2 at 8; dilation starts one block late', () => {
    const labels = ['a', 'b'];
    const m8 = new MobileNetV2ForSemanticSegmentation(mobileNetV2Config('1.0', labels), { init: false });
    const blocks = [...m8.mobilenet_v2.layer].map((b) => [b.stride, b.dilation]);
    assert.deepEqual(blocks, [[2, 1], [1, 1], [2, 1], [1, 1], [1, 1], [1, 1], [1, 2], [1, 2], [1, 2], [1, 2], [1, 2], [1, 2], [1, 2], [1, 4], [1, 4], [1, 4]]);
    m8.dispose();
    for (const [os, expected] of [[32, 32], [16, 16], [4, 4]] as const) {
      const m = new MobileNetV2ForSemanticSegmentation(mobileNetV2Config('0.35', labels, { output_stride: os }), { init: false });
      assert.equal(m.outputStride, expected);
      tidy(() => {
        manualSeed(1);
        m.eval();
        const logits = m.forward(randn([1, 3, 37, 70])).logits;
        assert.deepEqual(logits.shape, [1, 2, Math.ceil(37 / expected), Math.ceil(70 / expected)]);
      });
      m.dispose();
    }
  });
});

describe('MobileNetV2 config validation', () => {
  const good = () => JSON.parse(fs.readFileSync(path.join(hfFixture('mobilenet_v2/small-input'), 'config.json'), 'utf8')) as Record<string, unknown>;
  const bad = (patch: Record<string, unknown>) => () => parseMobileNetV2Config({ ...good(), ...patch }, 'cfg.json');

  it('the fixture config parses with HF defaults filled', () => {
    const c = parseMobileNetV2Config(good(), 'cfg.json');
    assert.equal(c.output_stride, 8);
    assert.equal(c.layer_norm_eps, 0.001);
    const { output_stride: _o, tf_padding: _t, ...rest } = good();
    const d = parseMobileNetV2Config(rest, 'cfg.json');
    assert.equal(d.output_stride, 32);
    assert.equal(d.tf_padding, true);
  });

  it('bad fields → the file, the field and what was expected', () => {
    assert.throws(bad({ output_stride: 12 }), { message: 'cfg.json: output_stride: expected one of 2, 4, 8, 16, 32, got 12' });
    assert.throws(bad({ depth_multiplier: 0 }), { message: 'cfg.json: depth_multiplier: expected a positive number, got 0' });
    assert.throws(bad({ hidden_act: 'gelu' }), { message: 'cfg.json: hidden_act: expected "relu6" (the only activation implemented), got "gelu"' });
    assert.throws(bad({ tf_padding: 'yes' }), { message: 'cfg.json: tf_padding: expected true or false, got "yes"' });
    assert.throws(bad({ min_depth: 2.5 }), { message: 'cfg.json: min_depth: expected a positive integer, got 2.5' });
    assert.throws(bad({ classifier_dropout_prob: 1 }), { message: 'cfg.json: classifier_dropout_prob: expected a number in [0, 1), got 1' });
    assert.throws(bad({ model_type: 'mobilenet' }), { message: 'cfg.json: model_type: expected "mobilenet_v2", got "mobilenet"' });
    assert.throws(bad({ id2label: undefined }), { message: 'cfg.json: id2label is missing' });
    assert.throws(() => mobileNetV2Config('2.0', ['a']), { message: "unknown MobileNetV2 variant '2.0': expected one of 1.4, 1.0, 0.75, 0.5, 0.35" });
  });

  it('readConfig picks the family from model_type and names the file', () => {
    const dir = tmpDir('mnv2-cfg');
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...good(), expand_ratio: -6 }));
    assert.throws(() => readConfig(dir), { message: `${path.join(dir, 'config.json')}: expand_ratio: expected a positive number, got -6` });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(good()));
    assert.equal(readConfig(dir).model_type, 'mobilenet_v2');
    fs.rmSync(dir, { recursive: true });
  });
});

describe('MobileNetV2 through the registry and checkpoints', () => {
  it('model names resolve to the family', () => {
    for (const name of ['mobilenet_v2-1.0', 'MobileNet_V2-0.35', '0.75']) assert.equal(resolveModelName(name).family, mobileNetV2Family, name);
    assert.equal(resolveModelName('mobilenet_v2-0.5').variant, '0.5');
  });

  it('save → loadPretrained round trip gives identical weights and logits', () => {
    const model = createModel('mobilenet_v2-0.35', ['x', 'y', 'z'], { output_stride: 16 });
    const dir = tmpDir('mnv2-rt');
    try {
      savePretrained(model, dir);
      const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      assert.equal(cfg.model_type, 'mobilenet_v2');
      assert.deepEqual(cfg.architectures, ['MobileNetV2ForSemanticSegmentation']);
      const { model: back, initialised } = loadPretrained(dir, { log: quiet });
      assert.deepEqual(initialised, []);
      assert.ok(back instanceof MobileNetV2ForSemanticSegmentation);
      assert.equal(back.outputStride, 16);
      const a = model.stateDict();
      for (const [k, v] of back.stateDict()) assert.equal(maxAbsDiff(v, a.get(k)!), 0, k);
      model.eval();
      back.eval();
      tidy(() => {
        manualSeed(3);
        const x = randn([2, 3, 48, 62]);
        assert.equal(maxAbsDiff(model.forward(x).logits, back.forward(x).logits), 0);
      });
      back.dispose();
    } finally {
      model.dispose();
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('an ImageNet checkpoint (bare backbone + linear classifier) loads with the head initialised', () => {
    const model = createModel('mobilenet_v2-0.35', ['x', 'y']);
    const dir = tmpDir('mnv2-enc');
    try {
      savePretrained(model, dir);
      // Rewrite as MobileNetV2Model keys (no prefix) plus an image-classification head.
      const sd = loadTensors(path.join(dir, 'model.safetensors'));
      const out = new Map<string, Tensor>();
      for (const [k, v] of sd) if (k.startsWith('mobilenet_v2.')) out.set(k.slice('mobilenet_v2.'.length), v);
      out.set('classifier.weight', zeros([1001, 1280]));
      out.set('classifier.bias', zeros([1001]));
      saveTensors(path.join(dir, 'model.safetensors'), out, { format: 'pt' });
      const lines: string[] = [];
      const { model: back, initialised, dropped } = loadPretrained(dir, { log: (l) => lines.push(l) });
      assert.deepEqual([...dropped].sort(), ['classifier.bias', 'classifier.weight']);
      assert.ok(initialised.length > 0 && initialised.every((k) => k.startsWith('segmentation_head.')));
      const a = model.stateDict();
      for (const [k, v] of back.stateDict()) if (k.startsWith('mobilenet_v2.')) assert.equal(maxAbsDiff(v, a.get(k)!), 0, k);
      assert.ok(lines.some((l) => l.includes('encoder-only checkpoint')));
      back.dispose();
      for (const v of sd.values()) v.dispose();
    } finally {
      model.dispose();
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('training mode: loss backward reaches every used parameter, labels at full resolution', () => {
    const model = createModel('mobilenet_v2-0.35', ['x', 'y', 'z'], { output_stride: 16 });
    model.train();
    tidy(() => {
      manualSeed(5);
      const x = randn([2, 3, 40, 50]);
      const labels = randint(0, 3, [2, 40, 50]);
      const { logits, loss } = model.forward(x, labels);
      assert.deepEqual(logits.shape, [2, 3, 3, 4]);
      assert.ok(Number.isFinite(loss!.item()));
      loss!.backward();
      for (const [k, p] of model.namedParameters()) {
        if (k.startsWith('mobilenet_v2.conv_1x1.')) assert.equal(p.grad, null, k);
        else assert.ok(p.grad, `no gradient for ${k}`);
      }
    });
    model.dispose();
  });
});
