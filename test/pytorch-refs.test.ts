// The PyTorch references that `bench model --compare-pytorch` times (bench/pytorch/*.py) are the real
// HF models: HF's own numbers (the shared fixtures) come out of them, and checkpoints we save load into
// them strictly and give our logits, for every published size the bench uses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { benchPytorch } from '../bench/model.js';
import { createModel, resolveModelName, savePretrained } from '../src/models/index.js';
import { fromArray, manualSeed, randn, tidy } from '../src/torch/index.js';
import { repoRoot } from '../src/util/paths.js';
import { hfFixture } from './helpers/test-inputs.js';
import { PYTHON } from '../src/util/python.js';
import { crossImplementationTolerance, maxAbsDiff } from './helpers/hf-fixture.js';
import { requirePythonTorch } from './helpers/python.js';
import { within } from './helpers/tolerance.js';

const refDir = path.join(repoRoot, 'bench', 'pytorch');

function runPython(script: string, args: string[]): Record<string, any> {
  const r = spawnSync(PYTHON, [path.join(refDir, script), ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${script} ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('PyTorch references against the HF fixtures', () => {
  for (const fixture of ['mobilevit/xx-small', 'mobilevit/tiny-odd', 'mobilenet_v2/small-input']) {
    it(`${fixture}: logits, weighted loss and gradients within float32 noise of HF's (two float32 implementations)`, () => {
      requirePythonTorch();
      const r = runPython('check_fixture.py', [hfFixture(fixture)]);
      const tol = crossImplementationTolerance(fixture);
      assert.equal(r.num_parameters, r.expected_num_parameters, 'parameter count');
      within(`${fixture}: reference logits max |diff|`, r.logits_max_abs_diff, tol.logits);
      within(`${fixture}: reference loss relative diff`, r.loss_rel_diff, tol.loss);
      assert.deepEqual(Object.keys(r.grads).sort(), Object.keys(tol.grads).sort());
      for (const [name, g] of Object.entries(r.grads as Record<string, { rel_diff: number }>)) {
        within(`${fixture}: reference grad ${name}`, g.rel_diff, tol.grads[name]!);
      }
    });
  }
});

describe('PyTorch references against our models', () => {
  for (const name of ['mobilevit-xxs', 'mobilevit-xs', 'mobilevit-s', 'mobilenet-v2']) {
    it(`${name}: our checkpoint loads strictly, same logits on an odd-sized input, bench builds the same size`, () => {
      requirePythonTorch();
      manualSeed(21);
      const model = createModel(name, Array.from({ length: 11 }, (_, i) => `c${i}`));
      // non-trivial batch-norm running statistics, so that they must travel too
      model.train();
      tidy(() => void model.forward(randn([2, 3, 64, 80])));
      model.eval();
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-pyref-'));
      try {
        savePretrained(model, path.join(tmp, 'ckpt'));
        // 70×94: odd maps before MobileViT's unfolding, even and odd sizes at MobileNetV2's SAME padding
        const shape = [1, 3, 70, 94];
        tidy(() => {
          const x = randn(shape);
          fs.writeFileSync(path.join(tmp, 'in.bin'), x.toArray() as Float32Array);
          const r = runPython('run_checkpoint.py', [path.join(tmp, 'ckpt'), path.join(tmp, 'in.bin'), shape.join(','), path.join(tmp, 'out.bin'), '--variant', resolveModelName(name).variant]);
          const ours = model.forward(x).logits;
          assert.deepEqual(r.shape, ours.shape);
          const buf = fs.readFileSync(path.join(tmp, 'out.bin'));
          const ref = fromArray(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), ours.shape, 'float32');
          const d = maxAbsDiff(ours, ref);
          within(`${name}: our checkpoint in the reference, logits max |diff|`, d, 1e-4);
          assert.equal(r.params, model.numParameters(), 'parameters of the loaded reference');
          assert.equal(r.build_params, model.numParameters(), "parameters of bench_mobile.py's build(variant)");
        });
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
        model.dispose();
      }
    });
  }
});

describe('bench model PyTorch peer', () => {
  it('runs the family’s reference with our settings and reports it in our units', () => {
    requirePythonTorch();
    for (const model of ['mobilevit-xxs', 'mobilenet-v2']) {
      const r = benchPytorch({ model, mode: 'train', batch: 2, height: 48, width: 64, iters: 3, warmup: 0, threads: 1 });
      assert.ok(!('error' in r), JSON.stringify(r));
      assert.equal(r.threads, 1);
      assert.equal(r.timesMs.length, 3);
      // one thread: the process's CPU time per step is about its wall time, never far above it
      assert.ok(r.cpuMsPerStep! > 0 && r.cpuMsPerStep! <= 1.5 * r.msPerStep + 5, `CPU ${r.cpuMsPerStep} ms vs wall ${r.msPerStep} ms`);
      const median = [...r.timesMs].sort((a, b) => a - b)[1]!;
      assert.ok(Math.abs(r.msPerStep - median) <= 0.1, `median ${r.msPerStep} vs ${median}`);
      assert.ok(Math.abs(r.imagesPerSecond - 2000 / r.msPerStep) <= 0.01 * r.imagesPerSecond, `${r.imagesPerSecond} img/s at ${r.msPerStep} ms for batch 2`);
    }
    assert.throws(() => benchPytorch({ model: 'nope', mode: 'infer', batch: 1, height: 8, width: 8, threads: 1 }), /unknown model/);
  });
});
