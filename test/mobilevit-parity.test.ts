// MobileViT + DeepLabV3 against HuggingFace's own numbers (the shared fixtures), its config checks,
// its unfolding order, and the checkpoint round trip.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { arange, dispose, F, loadTensors, manualSeed, noGrad, rand, randint, randn, saveTensors, tidy } from '../src/torch/index.js';
import { loadPretrained, modelNames, readConfig, resolveModelName, savePretrained } from '../src/models/index.js';
import {
  MobileViTConvLayer, MobileViTForSemanticSegmentation, MobileViTLayer, mobilevitConfig, parseMobileViTConfig, type MobileViTConfig,
} from '../src/models/mobilevit/index.js';
import { checkParity, EXACT_K, fixtureNoise, maxAbsDiff, readBin, type FixtureMeta } from './helpers/hf-fixture.js';
import { hfFixture } from './helpers/test-inputs.js';
import { within } from './helpers/tolerance.js';

interface Meta extends FixtureMeta {
  loss_unweighted: number;
  num_parameters: number;
  num_state_dict_entries: number;
}

const quiet = () => {};

function loadMobileViT(dir: string, opts: Parameters<typeof loadPretrained>[1] = {}) {
  const r = loadPretrained(dir, { log: quiet, ...opts });
  assert.ok(r.model instanceof MobileViTForSemanticSegmentation, `${dir}: model_type should pick MobileViT`);
  return { ...r, model: r.model };
}

const labels12 = Array.from({ length: 12 }, (_, i) => `c${i}`);
/** The tiny-odd fixture's shrunken sizes, as a config a test can build without files. */
const tinyOverrides: Partial<MobileViTConfig> = { hidden_sizes: [16, 24, 32], neck_hidden_sizes: [16, 16, 24, 24, 32, 40, 80], aspp_out_channels: 32, expand_ratio: 2 };

for (const fixture of ['xx-small', 'tiny-odd']) {
  const key = `mobilevit/${fixture}`;
  const dir = hfFixture(key);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta;

  describe(`MobileViT parity: ${fixture}`, () => {
    it('logits, weighted loss and gradients match HF (float64 exactly, float32 within its noise)', () => {
      checkParity(() => loadMobileViT(dir).model, dir, meta, fixtureNoise(key));
    });

    it("parameter counts, and HF's own unweighted forward(labels=…) loss", () => {
      const { model } = loadMobileViT(dir);
      assert.equal(model.numParameters(), meta.num_parameters);
      assert.equal(model.stateDict().size, meta.num_state_dict_entries);
      model.to('float64').eval();
      tidy(() => {
        const x = readBin(dir, meta, 'input.bin').to('float64');
        const labels = readBin(dir, meta, 'labels.bin');
        // plain CE with the config's ignore index, in float64: off by HF's float32 rounding of a loss
        const plain = model.forward(x, labels).loss!.item();
        const rel = Math.abs(plain - meta.loss_unweighted) / plain;
        const tol = EXACT_K * fixtureNoise(key).reference.loss;
        assert.ok(rel <= tol, `unweighted loss ${plain} vs ${meta.loss_unweighted}: relative ${rel} > ${tol}`);
      });
      model.dispose();
    });
  });
}

describe('MobileViT unfolding', () => {
  it('unfold puts pixel (i, j) of every patch in sequence b·4 + 2i + j, patches in raster order; fold inverts it', () => {
    const layer = new MobileViTLayer(mobilevitConfig('xx-small', ['a'], { hidden_sizes: [8, 8, 8] }), 8, 8, 1, 8, 1);
    tidy(() => {
      // x[b, c, h, w] = 1000b + 100c + 10h + w on a 4×6 map: 2×3 patches of 2×2
      const x = arange(0, 2 * 2 * 4 * 6, 1, { dtype: 'float32' }).reshape([2, 2, 4, 6]);
      const vals = x.toArray() as Float32Array;
      const at = (b: number, c: number, h: number, w: number) => vals[((b * 2 + c) * 4 + h) * 6 + w]!;
      const { patches, resized } = layer.unfold(x);
      assert.equal(resized, false);
      assert.deepEqual(patches.shape, [8, 6, 2]);
      const p = patches.toArray() as Float32Array;
      for (let b = 0; b < 2; b++)
        for (let i = 0; i < 2; i++)
          for (let j = 0; j < 2; j++)
            for (let n = 0; n < 6; n++)
              for (let c = 0; c < 2; c++) {
                const ph = Math.floor(n / 3), pw = n % 3;
                assert.equal(p[((b * 4 + i * 2 + j) * 6 + n) * 2 + c], at(b, c, ph * 2 + i, pw * 2 + j));
              }
      assert.equal(maxAbsDiff(layer.fold(patches, 2, 4, 6, false), x), 0);
    });
    layer.dispose();
  });

  it('an odd map is resized bilinearly to the next even size, and back after folding', () => {
    const layer = new MobileViTLayer(mobilevitConfig('xx-small', ['a'], { hidden_sizes: [8, 8, 8] }), 8, 8, 1, 8, 1);
    tidy(() => {
      // a map constant along h and linear along w survives any bilinear resize as a linear ramp
      const x = arange(0, 5, 1, { dtype: 'float32' }).reshape([1, 1, 1, 5]).expand([1, 1, 3, 5]).contiguous();
      const { patches, resized } = layer.unfold(x);
      assert.equal(resized, true);
      assert.deepEqual(patches.shape, [4, 2 * 3, 1]); // 3×5 → 4×6: 2×3 patches
      const back = layer.fold(patches, 1, 3, 5, true);
      assert.deepEqual(back.shape, [1, 1, 3, 5]);
      // 5 → 6 → 5 with align_corners=False on a ramp: values at 0.5/1.5/…: interior exact, edges clamp
      // 5 → 6 (align_corners=False, source clamped at 0 and 4): [0, 0.75, 1.5833, 2.4167, 3.25, 4];
      // 6 → 5 samples that at 0.1, 1.3, 2.5, 3.7, 4.9: only the two edge columns change.
      const row = Array.from((back.toArray() as Float32Array).slice(0, 5));
      const expected = [0.075, 1, 2, 3, 3.925];
      row.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-5, `column ${i}: ${v} vs ${expected[i]}`));
    });
    layer.dispose();
  });
});

describe('MobileViT layers', () => {
  it('eval mode folds the batch norm into the conv: same numbers as conv → BN → SiLU', () => {
    manualSeed(5);
    const layer = new MobileViTConvLayer(6, 8, 3, 'silu', { stride: 2, dilation: 1 });
    tidy(() => {
      const bn = layer.normalization!;
      noGrad(() => {
        bn.runningMean.copy_(randn([8]));
        bn.runningVar.copy_(rand([8]).add(0.5));
        bn.weight.copy_(randn([8]));
        bn.bias.copy_(randn([8]));
      });
      layer.eval();
      const x = randn([2, 6, 9, 11]);
      const folded = layer.forward(x);
      const c = layer.convolution;
      const plain = F.batchNorm(F.conv2d(x, c.weight, null, { stride: 2, padding: 1 }), bn.runningMean, bn.runningVar, bn.weight, bn.bias, false, 0.1, 1e-5);
      const expected = plain.mul(plain.sigmoid()); // SiLU
      assert.deepEqual(folded.shape, [2, 8, 5, 6]);
      within('folded vs plain conv → BN → SiLU', maxAbsDiff(folded, expected), 1e-5);
    });
    layer.dispose();
  });

  it('training: batch statistics, dropout on, finite gradients; a batch of 1 is refused with a clear error', () => {
    manualSeed(6);
    const model = new MobileViTForSemanticSegmentation(mobilevitConfig('xx-small', labels12, tinyOverrides));
    model.train();
    tidy(() => {
      const x = randn([2, 3, 40, 56]);
      const labels = randint(0, 12, [2, 40, 56]);
      const { logits, loss } = model.forward(x, labels);
      assert.deepEqual(logits.shape, [2, 12, 3, 4]);
      loss!.backward();
      const g = model.stateDict().get('mobilevit.conv_stem.convolution.weight')!.grad!;
      assert.ok(Number.isFinite(g.abs().sum().item()) && g.abs().sum().item() > 0);
      // batch norm counted the step (HF's BatchNorm2d in training mode)
      assert.equal(model.stateDict().get('mobilevit.conv_stem.normalization.num_batches_tracked')!.item(), 1);
      assert.throws(() => model.forward(randn([1, 3, 40, 56])), /MobileViT ASPP pooling: batch norm in training mode needs more than 1 value per channel, i\.e\. a batch of at least 2 images, got 1/);
    });
    model.dispose();
  });
});

describe('MobileViT config', () => {
  const base = (over: Record<string, unknown>) => ({ model_type: 'mobilevit', id2label: { 0: 'a', 1: 'b' }, ...over });
  const bad: [Record<string, unknown>, string][] = [
    [{ hidden_sizes: [64, 80] }, 'cfg.json: hidden_sizes: expected a list of 3 positive integers, got [64,80]'],
    [{ hidden_sizes: [64, 81, 96] }, 'cfg.json: hidden_sizes[1]: expected a multiple of num_attention_heads=4, got 81'],
    [{ neck_hidden_sizes: [16, 16, 24, 48, -64, 80, 320] }, 'cfg.json: neck_hidden_sizes[4]: expected a positive integer, got -64'],
    [{ output_stride: 4 }, 'cfg.json: output_stride: expected 8, 16 or 32, got 4'],
    [{ atrous_rates: [6, 12] }, 'cfg.json: atrous_rates: expected a list of 3 positive integers, got [6,12]'],
    [{ hidden_act: 'gelu' }, 'cfg.json: hidden_act: expected "silu" or "swish" (the only activation implemented), got "gelu"'],
    [{ conv_kernel_size: 4 }, 'cfg.json: conv_kernel_size: expected an odd positive integer, got 4'],
    [{ aspp_dropout_prob: 1 }, 'cfg.json: aspp_dropout_prob: expected a number in [0, 1), got 1'],
    [{ qkv_bias: 'yes' }, 'cfg.json: qkv_bias: expected true or false, got "yes"'],
    [{ model_type: 'segformer' }, 'cfg.json: model_type: expected "mobilevit", got "segformer"'],
    [{ id2label: undefined }, 'cfg.json: id2label is missing'],
  ];
  for (const [over, msg] of bad) {
    it(`rejects ${msg.slice("cfg.json: ".length)}`, () => {
      assert.throws(() => parseMobileViTConfig(base(over), 'cfg.json'), (e: Error) => {
        assert.equal(e.message, msg);
        return true;
      });
    });
  }

  it('fills HF MobileViTConfig defaults and keeps unknown keys', () => {
    const c = parseMobileViTConfig(base({ torch_dtype: 'float32' }), 'cfg.json');
    assert.deepEqual(c.hidden_sizes, [144, 192, 240]);
    assert.deepEqual(c.neck_hidden_sizes, [16, 32, 64, 96, 128, 160, 640]);
    assert.equal(c.output_stride, 32);
    assert.equal(c.expand_ratio, 4);
    assert.deepEqual(c.atrous_rates, [6, 12, 18]);
    assert.equal(c.layer_norm_eps, 1e-5);
    assert.deepEqual(c.label2id, { a: 0, b: 1 });
    assert.equal(c.torch_dtype, 'float32');
  });

  it('variants are the apple/deeplabv3-mobilevit-* sizes; names resolve', () => {
    assert.throws(() => mobilevitConfig('large', ['a']), /unknown MobileViT variant 'large': expected one of xx-small, x-small, small/);
    for (const name of ['mobilevit-xx-small', 'mobilevit-x-small', 'mobilevit-small']) assert.ok(modelNames().includes(name), name);
    assert.equal(resolveModelName('xx-small').family.modelType, 'mobilevit');
    // the xx-small fixture is HF's model of that variant with 12 labels
    const dir = hfFixture('mobilevit/xx-small');
    const fromFile = readConfig(dir) as MobileViTConfig;
    const ours = mobilevitConfig('xx-small', labels12);
    for (const k of ['hidden_sizes', 'neck_hidden_sizes', 'expand_ratio', 'hidden_dropout_prob', 'output_stride', 'atrous_rates', 'aspp_out_channels'] as const) {
      assert.deepEqual(ours[k], fromFile[k], k);
    }
    // parameter counts (parameters only) against the published model cards' 1.9M / 2.9M / 6.4M (21 labels)
    const counts: Record<string, number> = {};
    for (const v of ['xx-small', 'x-small', 'small']) {
      const m = new MobileViTForSemanticSegmentation(mobilevitConfig(v, Array.from({ length: 21 }, (_, i) => `c${i}`)), { init: false });
      counts[v] = m.numParameters();
      m.dispose();
    }
    assert.ok(Math.abs(counts['xx-small']! / 1e6 - 1.9) < 0.05, `xx-small ${counts['xx-small']}`);
    assert.ok(Math.abs(counts['x-small']! / 1e6 - 2.9) < 0.05, `x-small ${counts['x-small']}`);
    assert.ok(Math.abs(counts.small! / 1e6 - 6.4) < 0.05, `small ${counts.small}`);
  });
});

describe('MobileViT checkpoints', () => {
  it('save → loadPretrained gives the same config, weights and logits (odd input size)', () => {
    manualSeed(11);
    const model = new MobileViTForSemanticSegmentation(mobilevitConfig('xx-small', labels12, tinyOverrides));
    model.eval();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-mvit-'));
    try {
      savePretrained(model, tmp);
      const saved = JSON.parse(fs.readFileSync(path.join(tmp, 'config.json'), 'utf8'));
      assert.deepEqual(saved.architectures, ['MobileViTForSemanticSegmentation']);
      assert.equal(saved.model_type, 'mobilevit');
      const { model: back, initialised } = loadMobileViT(tmp);
      assert.deepEqual(initialised, []);
      assert.deepEqual(back.config.neck_hidden_sizes, tinyOverrides.neck_hidden_sizes);
      back.eval();
      tidy(() => {
        const x = randn([1, 3, 90, 120]); // 45×60 after the stem… down to 6×8 at stride 16
        const a = noGrad(() => model.forward(x).logits);
        const b = noGrad(() => back.forward(x).logits);
        assert.deepEqual(a.shape, [1, 12, 6, 8]);
        assert.equal(maxAbsDiff(a, b), 0);
      });
      back.dispose();
    } finally {
      model.dispose();
      fs.rmSync(tmp, { recursive: true });
    }
  });

  it('a backbone-only checkpoint (HF image classification) loads with the head initialised', () => {
    manualSeed(12);
    const src = new MobileViTForSemanticSegmentation(mobilevitConfig('xx-small', labels12, tinyOverrides));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-mvit-'));
    try {
      savePretrained(src, tmp);
      // rewrite as MobileViTForImageClassification: backbone + conv_1x1_exp + classifier, no segmentation head
      const sd = loadTensors(path.join(tmp, 'model.safetensors'));
      for (const k of [...sd.keys()]) if (k.startsWith('segmentation_head.')) { sd.get(k)!.dispose(); sd.delete(k); }
      sd.set('mobilevit.conv_1x1_exp.convolution.weight', randn([80, 40, 1, 1]));
      sd.set('classifier.weight', randn([5, 80]));
      sd.set('classifier.bias', randn([5]));
      saveTensors(path.join(tmp, 'model.safetensors'), sd, { format: 'pt' });
      dispose([...sd.values()]);
      const lines: string[] = [];
      const { model, initialised, dropped } = loadMobileViT(tmp, { log: (l) => lines.push(l) });
      assert.deepEqual(dropped.sort(), ['classifier.bias', 'classifier.weight', 'mobilevit.conv_1x1_exp.convolution.weight']);
      assert.ok(initialised.includes('segmentation_head.classifier.convolution.weight'));
      assert.ok(initialised.every((k) => k.startsWith('segmentation_head.')));
      const w = src.stateDict().get('mobilevit.conv_stem.convolution.weight')!;
      assert.equal(maxAbsDiff(model.stateDict().get('mobilevit.conv_stem.convolution.weight')!, w), 0);
      assert.ok(lines.some((l) => l.includes('encoder-only checkpoint')));
      model.dispose();
    } finally {
      src.dispose();
      fs.rmSync(tmp, { recursive: true });
    }
  });
});
