// The training configuration: one table gives config keys, flags and checks; errors name key, value, rule.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, defaults, flagName, readConfigFile, resolveConfig, SETTING_KEYS, validatePartial } from '../src/train/config.js';
import { PRESETS, presetConfig } from '../src/train/presets.js';
import { resolveThreads } from '../src/torch/threads.js';

describe('training config', () => {
  it('every setting has a kebab-case flag and a default that passes its own schema', () => {
    assert.equal(flagName('evalBatchSize'), 'eval-batch-size');
    assert.equal(flagName('lr'), 'lr');
    const d = defaults();
    for (const k of SETTING_KEYS) assert.ok(k in d, k);
    assert.deepEqual(validatePartial({ ...d, data: 'x' }, 'defaults'), { ...d, data: 'x' });
  });

  it('an unknown key names the source and suggests the nearest key', () => {
    assert.throws(() => validatePartial({ batchSzie: 4 }, 'run.yaml'), (e: Error) => e instanceof ConfigError && /run\.yaml: unknown setting 'batchSzie' \(did you mean 'batchSize'\?\)/.test(e.message));
    assert.throws(() => validatePartial({ learningRate: 4 }, 'flags', true), /unknown setting --learning-rate/);
    assert.throws(() => validatePartial({ evalBatchSise: 4 }, 'flags', true), /did you mean --eval-batch-size\?/);
  });

  it('bad values name the key, the value and what is allowed', () => {
    assert.throws(() => validatePartial({ batchSize: 0 }, 'flags', true), /--batch-size 0: expected a value >= 1/);
    assert.throws(() => validatePartial({ batchSize: 2.5 }, 'c.json'), /batchSize 2\.5: expected an integer/);
    assert.throws(() => validatePartial({ optimizer: 'sgd' }, 'c.json'), /optimizer "sgd": expected one of "adam", "adamw"/);
    assert.throws(() => validatePartial({ lr: 'fast' }, 'c.json'), /lr "fast": expected a number/);
    assert.throws(() => validatePartial([1, 2], 'c.json'), /c\.json: expected an object of settings/);
  });

  it('layers: defaults < preset < file < flags, and data is required', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-cfg-'));
    const yml = path.join(dir, 'c.yaml');
    fs.writeFileSync(yml, 'lr: 0.001\nbatchSize: 4\n');
    const cfg = resolveConfig(presetConfig('tutorial'), readConfigFile(yml), { batchSize: 2 });
    assert.equal(cfg.optimizer, 'adam'); // preset
    assert.equal(cfg.lr, 0.001); // file over preset
    assert.equal(cfg.batchSize, 2); // flag over file
    assert.equal(cfg.evalBatchSize, 7); // preset
    assert.throws(() => resolveConfig({}), /data is missing/);
    fs.writeFileSync(yml, 'lr: [\n');
    assert.throws(() => readConfigFile(yml), /c\.yaml: not valid YAML/);
    fs.rmSync(dir, { recursive: true });
  });

  it('presets: camvid-scratch is RECIPE.md, tutorial the tutorial, camvid-best its recipe', () => {
    const r = resolveConfig(presetConfig('camvid-scratch'));
    assert.deepEqual(
      [r.optimizer, r.lr, r.weightDecay, r.batchSize, r.epochs, r.warmupIters, r.schedule, r.polyPower, r.classWeights, r.void, r.evalEvery, r.augment, r.seed, r.dropLast],
      ['adamw', 6e-4, 0.01, 8, 20, 100, 'poly', 1, 'invfreq', 'ignore', 4, 'camvid-scratch', 0, true],
    );
    const t = resolveConfig(presetConfig('tutorial'));
    assert.deepEqual([t.optimizer, t.lr, t.eps, t.batchSize, t.evalBatchSize, t.classWeights, t.void, t.monitor, t.mode, t.patience, t.splitSeed, t.valFraction], ['adam', 2e-5, 1e-8, 10, 7, 'total-over-count', 'class', 'val_loss', 'min', 3, 42, 0.2]);
    // camvid-best (docs/recipes.md): half-size training, half-size inference scored on full-size labels
    const b = resolveConfig(presetConfig('camvid-best'));
    assert.deepEqual(
      [b.model, b.modelConfig, b.height, b.width, b.evalHeight, b.evalWidth, b.evalScales, b.evalFlip, b.classWeights, b.lr, b.epochs, b.void, b.trainSplit, b.valSplit],
      ['mobilevit-xxs', { output_stride: 8 }, 180, 240, 360, 480, [0.5], false, 'sqrt-invfreq', 2e-3, 120, 'ignore', 'train', 'val'],
    );
    assert.throws(() => presetConfig('fast'), new RegExp(`unknown preset 'fast' \\(expected one of ${Object.keys(PRESETS).join(', ')}\\)`));
  });

  it("--config takes a run directory's config.json: its resolved block is not a setting", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-cfg-'));
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify({ ...defaults(), data: 'd', lr: 0.002, resolved: { classes: ['a'], classWeightValues: null, trainImages: 1, valImages: 1, host: 'h', node: 'v' } }));
    assert.deepEqual(readConfigFile(file), { ...defaults(), data: 'd', lr: 0.002 });
    fs.rmSync(dir, { recursive: true });
  });

  it('threads: the setting, else STREETSEG_THREADS, else the cores shared among the local processes', () => {
    const cores = os.availableParallelism();
    assert.equal(resolveThreads(3, 4, { STREETSEG_THREADS: '2' }), 3);
    assert.equal(resolveThreads(0, 4, { STREETSEG_THREADS: '2' }), 2);
    assert.equal(resolveThreads(0, 1, {}), cores);
    assert.equal(resolveThreads(0, 2, { STREETSEG_THREADS: '0' }), Math.max(1, Math.floor(cores / 2)));
    assert.equal(resolveThreads(0, cores * 4, {}), 1, 'at least one thread each');
    assert.throws(() => resolveThreads(0, 1, { STREETSEG_THREADS: 'four' }), { name: 'RangeError', message: 'STREETSEG_THREADS="four": expected a whole number of threads (0 = all cores)' });
    assert.throws(() => resolveThreads(0, 1, { STREETSEG_THREADS: '1.5' }), /STREETSEG_THREADS="1\.5"/);
  });
});
