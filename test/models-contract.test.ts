// The model contract through the registry: names and aliases, config validation with zod, the
// forward contract, and checkpoints that round-trip or come encoder-only.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { manualSeed, randn, randint, saveTensors, tensor, tidy, type Tensor } from '../src/torch/index.js';
import {
  createModel,
  families,
  getFamily,
  loadPretrained,
  readConfig,
  registerFamily,
  resolveModelName,
  savePretrained,
  segformerConfig,
  segformerFamily,
  segmentationLoss,
  SegformerForSemanticSegmentation,
  SegmentationModel,
} from '../src/models/index.js';

const quiet = () => {};
const tiny = { hidden_sizes: [8, 16, 24, 32], decoder_hidden_size: 16, num_attention_heads: [1, 2, 4, 8], depths: [1, 1, 1, 1] };
const maxAbsDiff = (a: Tensor, b: Tensor) => tidy(() => a.sub(b).abs().max().item());
const tmpDir = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `ss-${tag}-`));

describe('registry', () => {
  it('resolves full names and bare-variant aliases, case-insensitively', () => {
    for (const name of ['segformer-b0', 'b0', 'SegFormer-B0', ' b0 ']) {
      const r = resolveModelName(name);
      assert.equal(r.family, segformerFamily, name);
      assert.equal(r.variant, 'b0', name);
    }
    assert.equal(resolveModelName('b5').variant, 'b5');
    assert.equal(getFamily('segformer'), segformerFamily);
    assert.ok(families().includes(segformerFamily));
  });

  it('unknown names and model types list every accepted choice', () => {
    const mnv2 = ['1.4', '1.0', '0.75', '0.5', '0.35'];
    const mvit = ['xx-small', 'x-small', 'small'];
    const all = [
      ...['b0', 'b1', 'b2', 'b3', 'b4', 'b5'].map((v) => `segformer-${v}`),
      ...mnv2.map((v) => `mobilenet_v2-${v}`),
      'mobilenet-v2',
      ...mvit.map((v) => `mobilevit-${v}`),
      'mobilevit-xxs',
      'mobilevit-xs',
      'mobilevit-s',
      ...['b0', 'b1', 'b2', 'b3', 'b4', 'b5'],
      ...mnv2,
      ...mvit,
    ];
    assert.equal(resolveModelName('mobilenet-v2').variant, '1.0');
    assert.deepEqual(['mobilevit-xxs', 'mobilevit-xs', 'mobilevit-s'].map((n) => resolveModelName(n).variant), ['xx-small', 'x-small', 'small']);
    assert.throws(() => resolveModelName('b9'), (e: Error) => e.message === `unknown model 'b9': expected one of ${all.join(', ')}`);
    assert.throws(() => createModel('mit-b0', ['a']), /unknown model 'mit-b0': expected one of segformer-b0, /);
    assert.throws(() => getFamily('bert'), /unknown model_type "bert": registered model types are segformer, mobilenet_v2, mobilevit$/);
    // a second, different family object under a taken model_type is refused; re-registering is a no-op
    assert.throws(() => registerFamily({ ...segformerFamily }), /model family 'segformer' is already registered/);
    registerFamily(segformerFamily);
    assert.equal(families().length, new Set(families().map((f) => f.modelType)).size);
  });

  it('createModel: a variant with labels and overrides, validated', () => {
    manualSeed(1);
    const m = createModel('segformer-b0', ['road', 'car', 'sky'], tiny);
    assert.ok(m instanceof SegformerForSemanticSegmentation);
    assert.ok(m instanceof SegmentationModel);
    assert.equal(m.family, segformerFamily);
    assert.deepEqual(m.labels, ['road', 'car', 'sky']);
    assert.equal(m.numLabels, 3);
    assert.equal(m.outputStride, 4);
    assert.deepEqual(m.config.label2id, { road: 0, car: 1, sky: 2 });
    assert.deepEqual((m.config as { hidden_sizes: number[] }).hidden_sizes, [8, 16, 24, 32]);
    m.dispose();
    assert.throws(() => createModel('b0', ['a'], { hidden_sizes: [8, 16, 26, 32] }), /segformer-b0 config: hidden_sizes\[2\]: expected a multiple of num_attention_heads\[2\]=5, got 26/);
    assert.throws(() => createModel('b0', []), /labels: expected at least one class name/);
  });
});

describe('config validation (zod)', () => {
  const good = () => JSON.parse(JSON.stringify(segformerConfig('b0', ['a', 'b']))) as Record<string, unknown>;
  const check = (patch: Record<string, unknown>, drop: string[], expected: RegExp | string) => {
    const dir = tmpDir('cfg');
    const c = { ...good(), ...patch };
    for (const k of drop) delete c[k];
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
    const file = path.join(dir, 'config.json');
    assert.throws(
      () => readConfig(dir),
      (e: Error) => {
        const want = typeof expected === 'string' ? `${file}: ${expected}` : null;
        if (want ? e.message !== want : !(expected as RegExp).test(e.message)) assert.fail(`got: ${e.message}`);
        return true;
      },
    );
    fs.rmSync(dir, { recursive: true });
  };

  it('names the file and the field: lengths, missing keys, element types, divisibility', () => {
    check({ depths: [2, 2] }, [], 'depths: expected 4 positive integers (num_encoder_blocks is 4), got [2,2]');
    check({}, ['depths'], 'depths is missing');
    check({}, ['num_encoder_blocks'], 'num_encoder_blocks is missing');
    check({ depths: [2, -1, 2, 'x'] }, [], 'depths[1]: expected a positive integer, got -1; depths[3]: expected a positive integer, got "x"');
    check({ hidden_sizes: [32, 64, 161, 256] }, [], 'hidden_sizes[2]: expected a multiple of num_attention_heads[2]=5, got 161');
    check({ sr_ratios: 'eight' }, [], 'sr_ratios: expected a list of positive integers, got "eight"');
    check({ num_encoder_blocks: 0 }, [], 'num_encoder_blocks: expected a positive integer, got 0');
    check({ hidden_act: 'relu' }, [], 'hidden_act: expected "gelu" (the only activation implemented), got "relu"');
    check({ classifier_dropout_prob: 1.5 }, [], 'classifier_dropout_prob: expected a number in [0, 1), got 1.5');
    check({ num_channels: '3' }, [], 'num_channels: expected a positive integer, got "3"');
    check({ id2label: {}, label2id: {} }, [], 'id2label: expected at least one label, got {}');
    check({ id2label: { 1: 'a', 2: 'b' } }, [], 'id2label: expected the ids 0…1 as keys, got ["1","2"]');
    check({ model_type: 'bert' }, [], 'unknown model_type "bert": registered model types are segformer, mobilenet_v2, mobilevit');
    check({}, ['model_type'], 'model_type is missing');
    // never zod's raw wording
    check({}, ['hidden_sizes', 'strides'], /^(?!.*undefined).*hidden_sizes is missing; strides is missing$/);
  });

  it('fills HF defaults, derives label2id, keeps unknown HF keys', () => {
    const dir = tmpDir('cfg-ok');
    const c = good();
    for (const k of ['label2id', 'num_channels', 'decoder_hidden_size', 'layer_norm_eps', 'drop_path_rate']) delete c[k];
    c.transformers_version = '4.30.0';
    c.semantic_loss_ignore_index = -100;
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
    const r = readConfig(dir) as Record<string, unknown>;
    assert.deepEqual(r.label2id, { a: 0, b: 1 });
    assert.equal(r.num_channels, 3);
    assert.equal(r.decoder_hidden_size, 256);
    assert.equal(r.layer_norm_eps, 1e-6);
    assert.equal(r.drop_path_rate, 0.1);
    assert.equal(r.semantic_loss_ignore_index, -100);
    assert.equal(r.transformers_version, '4.30.0');
    fs.rmSync(dir, { recursive: true });
  });
});

describe('forward contract', () => {
  it('logits are ⌈H/outputStride⌉ × ⌈W/outputStride⌉; labels add the loss with the config\'s ignore index', () => {
    manualSeed(2);
    const m = createModel('b0', ['a', 'b', 'c'], { ...tiny, semantic_loss_ignore_index: 1 });
    m.eval();
    tidy(() => {
      const x = randn([2, 3, 37, 50]);
      const out = m.forward(x);
      assert.deepEqual(out.logits.shape, [2, 3, 10, 13]);
      assert.equal(out.loss, undefined);
      const y = randint(0, 3, [2, 37, 50]);
      const w = tensor([1, 2, 0.5], [3]);
      const withLoss = m.forward(x, y, { weight: w });
      assert.equal(maxAbsDiff(withLoss.logits, out.logits), 0);
      // config.semantic_loss_ignore_index (1) is the default; an explicit ignoreIndex wins
      assert.equal(withLoss.loss!.item(), segmentationLoss(out.logits, y, { weight: w, ignoreIndex: 1 }).item());
      assert.notEqual(withLoss.loss!.item(), segmentationLoss(out.logits, y, { weight: w, ignoreIndex: 255 }).item());
      assert.equal(m.forward(x, y, { weight: w, ignoreIndex: 255, focalGamma: 2 }).loss!.item(), segmentationLoss(out.logits, y, { weight: w, ignoreIndex: 255, focalGamma: 2 }).item());
      assert.throws(() => m.forward(randn([1, 4, 32, 32])), /segformer: expected pixel values \(N, 3, H, W\), got \[1,4,32,32\]/);
      assert.throws(() => m.forward(x, randint(0, 3, [37, 50])), /segformer: expected labels \(2, H, W\), got \[37,50\]/);
    });
    m.dispose();
  });
});

describe('checkpoints through the registry', () => {
  it('createModel → savePretrained → loadPretrained: same config, tensors and logits', () => {
    manualSeed(4);
    const m = createModel('b1', ['road', 'car', 'sky', 'person'], tiny);
    // non-trivial batch-norm statistics must round-trip too
    tidy(() => void m.forward(randn([2, 3, 32, 32])));
    m.eval();
    const dir = tmpDir('rt');
    savePretrained(m, dir);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(saved.architectures, ['SegformerForSemanticSegmentation']);
    assert.equal(saved.model_type, 'segformer');
    assert.equal(saved.torch_dtype, 'float32');
    const r = loadPretrained(dir, { log: quiet });
    assert.deepEqual(r.initialised, []);
    assert.deepEqual(r.dropped, []);
    assert.equal(r.weightsFile, path.join(dir, 'model.safetensors'));
    assert.deepEqual(r.model.config, { ...m.config, torch_dtype: 'float32' });
    assert.deepEqual(r.model.labels, m.labels);
    const a = m.stateDict();
    const b = r.model.stateDict();
    assert.deepEqual([...b.keys()], [...a.keys()]);
    for (const [k, t] of a) assert.equal(maxAbsDiff(t, b.get(k)!), 0, k);
    r.model.eval();
    tidy(() => {
      const x = randn([1, 3, 41, 29]);
      assert.equal(maxAbsDiff(m.forward(x).logits, r.model.forward(x).logits), 0);
    });
    m.dispose();
    r.model.dispose();
    fs.rmSync(dir, { recursive: true });
  });

  it('an encoder-only checkpoint (bare encoder.* + image-classification head) loads with a fresh head', () => {
    manualSeed(6);
    const m = createModel('b0', ['a', 'b'], tiny);
    const dir = tmpDir('enc');
    const sd = new Map([...m.stateDict()].filter(([k]) => k.startsWith('segformer.')).map(([k, v]) => [k.slice('segformer.'.length), v] as [string, Tensor]));
    sd.set('classifier.weight', randn([1000, 32]));
    sd.set('classifier.bias', randn([1000]));
    saveTensors(path.join(dir, 'model.safetensors'), sd);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...m.config, id2label: { 0: 'tabby' }, label2id: undefined }));
    const logs: string[] = [];
    const r = loadPretrained(dir, { log: (l) => logs.push(l), labels: ['road', 'car', 'sky'] });
    assert.deepEqual(r.model.labels, ['road', 'car', 'sky']);
    assert.deepEqual(r.dropped.sort(), ['classifier.bias', 'classifier.weight']);
    const head = [...r.model.stateDict().keys()].filter((k) => k.startsWith('decode_head.'));
    assert.deepEqual(r.initialised, head);
    assert.ok(logs.some((l) => l.includes(`encoder-only checkpoint; the head decode_head (${head.length} tensors) is initialised`)), logs.join('\n'));
    const own = m.stateDict();
    for (const [k, t] of r.model.stateDict()) if (k.startsWith('segformer.')) assert.equal(maxAbsDiff(t, own.get(k)!), 0, k);
    tidy(() => {
      const cls = r.model.stateDict().get('decode_head.classifier.weight')!;
      assert.deepEqual(cls.shape, [3, 16, 1, 1]);
      assert.equal(r.model.stateDict().get('decode_head.linear_c.0.proj.bias')!.abs().sum().item(), 0);
      const std = r.model.stateDict().get('decode_head.linear_c.0.proj.weight')!.pow(2).mean().sqrt().item();
      assert.ok(Math.abs(std - 0.02) < 0.004, `head weight std ${std}`);
    });
    m.dispose();
    r.model.dispose();
    fs.rmSync(dir, { recursive: true });
  });
});
