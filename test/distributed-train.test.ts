// Data-parallel training end to end through `streetseg train --nproc 2` (Gloo over loopback):
// equivalence with one process at twice the batch, and a SIGKILLed rank followed by a resume with
// another world size.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lastWeights } from '../bench/kill-soak.js';
import { writeSyntheticDataset } from '../src/data/synthetic.js';
import { loadPretrained } from '../src/models/hf.js';
import { defaultCallbacks } from '../src/train/callbacks/index.js';
import { readTrainerState } from '../src/train/checkpoint.js';
import { resolveConfig, type TrainConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { repoRoot } from '../src/util/paths.js';
import { tmpRun } from './helpers/train-fixture.js';

const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');

/**
 * Parameters in BatchNorm's null space: the decode head's per-stage biases and the last stage's
 * LayerNorm bias only add per-channel constants before the head's BatchNorm, which subtracts them
 * again, so their exact gradient is 0 and what the engine computes is float rounding (~1e-9). Adam
 * divides by √v + 1e-8 and turns that noise into lr-sized steps whose sign depends on summation order,
 * in PyTorch as here; the running mean follows them. They change nothing in train mode, so the
 * equivalence is checked on every other tensor (and on the losses).
 */
const NULL_SPACE = /^(decode_head\.linear_c\.\d+\.proj\.bias|segformer\.encoder\.layer_norm\.3\.bias|decode_head\.batch_norm\.running_mean)$/;

function tiny(data: string, over: Partial<TrainConfig> = {}): Partial<TrainConfig> {
  return {
    model: 'segformer-b0',
    modelConfig: { hidden_sizes: [8, 16, 24, 32], num_attention_heads: [1, 2, 2, 4], depths: [1, 1, 1, 1], decoder_hidden_size: 16, drop_path_rate: 0, classifier_dropout_prob: 0 },
    data,
    format: 'camseq01',
    void: 'class', // no ignored pixels: each rank's mean loss weighs its pixels as the global mean does
    classWeights: 'none',
    augment: 'none', // padding would add ignored pixels (per-sample seeds are identical anyway)
    valFraction: 0.2,
    height: 64,
    width: 96,
    evalBatchSize: 2,
    epochs: 10,
    lr: 3e-3,
    warmupIters: 2,
    workers: 0,
    evalEvery: 100,
    reportSamples: 0,
    reportWorst: 0,
    tensorboard: false,
    progress: 'log',
    ...over,
  };
}

function writeConfig(cfg: Partial<TrainConfig>): string {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ss-ddp-cfg-')), 'config.json');
  fs.writeFileSync(f, JSON.stringify(cfg));
  return f;
}

const csvLosses = (dir: string): number[][] =>
  fs
    .readFileSync(path.join(dir, 'metrics.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').slice(0, 4).map(Number));

describe('data-parallel training (2 processes over loopback)', () => {
  let data: string;
  let twoRef = '';
  before(async () => {
    data = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-ddp-data-'));
    await writeSyntheticDataset(data, { count: 20, seed: 5, width: 96, height: 64 }); // 16 train, 4 val
  });

  it('2 processes × batch 4 with --sync-bn give the weights of 1 process × batch 8 after 20 steps (≤ 1e-5)', async () => {
    const one = tmpRun('ddp-one');
    const cfg1 = resolveConfig(tiny(data, { batchSize: 8, progress: 'none' }));
    const r1 = await new Trainer(cfg1, one, { callbacks: defaultCallbacks(cfg1, 'none').callbacks, log: () => undefined }).fit();
    assert.equal(r1.state.step, 20);

    const two = tmpRun('ddp-two');
    twoRef = two;
    const res = spawnSync(process.execPath, [cli, 'train', '--config', writeConfig(tiny(data, { batchSize: 4 })), '--nproc', '2', '--sync-bn', '--out', two], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout.trim()); // rank 0 alone prints the result
    assert.equal(out.steps, 20);
    assert.match(res.stderr, /\[rank 0\] epoch 10\/10 done/);
    assert.doesNotMatch(res.stderr, /\[rank 1\] epoch/, 'rank 1 logs nothing');
    const cfg = JSON.parse(fs.readFileSync(path.join(two, 'config.json'), 'utf8'));
    assert.equal(cfg.resolved.worldSize, 2);

    const a = lastWeights(one);
    const b = lastWeights(two);
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    let worst = 0;
    let worstKey = '';
    let checked = 0;
    for (const [k, x] of a) {
      if (NULL_SPACE.test(k)) continue;
      checked++;
      const y = b.get(k)!;
      for (let i = 0; i < x.length; i++) {
        const d = Math.abs(x[i]! - y[i]!);
        if (d > worst) [worst, worstKey] = [d, k];
      }
    }
    assert.ok(checked > 50, `${checked} tensors compared`);
    assert.ok(worst <= 1e-5, `max weight difference ${worst} in ${worstKey}`);
    // The logged train losses (averaged across ranks) and the reduced val loss are the same numbers.
    const l1 = csvLosses(one);
    const l2 = csvLosses(two);
    assert.equal(l1.length, l2.length);
    // (The val loss runs in eval mode, where the running mean of the null space enters: 1e-3.)
    l1.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - l2[i]![j]!) <= (j === 3 ? 1e-3 : 1e-5) || (Number.isNaN(v) && Number.isNaN(l2[i]![j]!)), `metrics.csv row ${i} col ${j}: ${v} vs ${l2[i]![j]}`)));
  });

  it('SIGINT to the launcher stops both ranks at the same step; --resume reproduces the uninterrupted 2-process run', async () => {
    assert.ok(twoRef, 'needs the equivalence run');
    const run = tmpRun('ddp-int');
    const child = spawn(process.execPath, [cli, 'train', '--config', writeConfig(tiny(data, { batchSize: 4, saveEverySteps: 3 })), '--nproc', '2', '--sync-bn', '--out', run], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await waitFor(() => (stepOfLast(run) >= 3 ? true : null), 60_000);
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /\[rank 0\] interrupted by SIGINT; checkpoints\/last saved/);
    const stopped = stepOfLast(run);
    assert.ok(stopped >= 3 && stopped < 20, `stopped at ${stopped}`);
    const res = spawnSync(process.execPath, [cli, 'train', '--resume', run], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(JSON.parse(res.stdout.trim()).steps, 20);
    const a = lastWeights(run);
    const b = lastWeights(twoRef);
    for (const [k, x] of a) {
      const y = b.get(k)!;
      for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]! - y[i]!) <= 1e-6, `${k}[${i}]: ${x[i]} vs ${y[i]}`);
    }
  });

  it('a SIGKILLed rank stops the other with an error naming it; --resume with 1 process continues from last', async () => {
    const run = tmpRun('ddp-kill');
    const child = spawn(process.execPath, [cli, 'train', '--config', writeConfig(tiny(data, { batchSize: 4, saveEverySteps: 1, distTimeout: 5 })), '--nproc', '2', '--out', run], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // Wait for a few steps, then kill rank 1 (found by its RANK in /proc/<pid>/environ).
    const rank1 = await waitFor(() => (stepOfLast(run) >= 5 ? workerPid(child.pid!, 1) : null), 60_000);
    const t0 = Date.now();
    process.kill(rank1, 'SIGKILL');
    const code = await exited;
    assert.equal(code, 1, stderr);
    assert.ok(Date.now() - t0 < 15_000, `the launcher took ${Date.now() - t0} ms to give up`);
    assert.match(stderr, /rank 1 was killed by SIGKILL/);
    assert.match(stderr, /\[rank 0\] streetseg: .*rank 1 lost/);
    const before = readTrainerState(path.join(run, 'checkpoints', 'last'));
    before.optimizer.tensors.forEach((t) => t.dispose());
    const killedAt = before.state.loop;
    assert.equal(killedAt.worldSize, 2);
    assert.ok(killedAt.step >= 5 && killedAt.step < 20, `last at step ${killedAt.step}`);

    const res = spawnSync(process.execPath, [cli, 'train', '--resume', run, '--nproc', '1'], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stderr, new RegExp(`resumed from .*step ${killedAt.step}`));
    if (killedAt.batchInEpoch > 0) assert.match(res.stderr, new RegExp(`resume: 2 → 1 processes; epoch ${killedAt.epoch + 1} continues at global sample ${killedAt.samplesInEpoch}`));
    const out = JSON.parse(res.stdout.trim());
    assert.equal(out.status, 'finished');
    assert.equal(out.epochs, 10);
    // Each epoch after the kill takes 4 steps of batch 4 in one process, instead of 2 in two.
    const epochsLeft = 10 - killedAt.epoch;
    const stepsLeft = epochsLeft * 4 - (killedAt.samplesInEpoch ?? 0) / 4;
    assert.equal(out.steps, killedAt.step + stepsLeft);
    const last = path.join(run, 'checkpoints', 'last');
    const after = readTrainerState(last);
    after.optimizer.tensors.forEach((t) => t.dispose());
    assert.deepEqual([after.state.loop.epoch, after.state.loop.worldSize, after.state.loop.batchInEpoch], [10, 1, 0]);
    const { model } = loadPretrained(last, { log: () => undefined });
    assert.equal(model.numLabels, 12);
    model.dispose();
    // The CSV has one row per epoch, the killed epoch's logged once (by whichever run finished it).
    assert.deepEqual(csvLosses(run).map((r) => r[0]), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});

/** The step of checkpoints/last (-1 before the first). */
function stepOfLast(run: string): number {
  try {
    return (JSON.parse(fs.readFileSync(path.join(run, 'checkpoints', 'last', 'trainer_state.json'), 'utf8')) as { loop: { step: number } }).loop.step;
  } catch {
    return -1;
  }
}

async function waitFor<T>(f: () => T | null, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pid of the launcher's worker with RANK=rank (Linux /proc). */
function workerPid(parent: number, rank: number): number | null {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      if (fs.readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(`RANK=${rank}`)) return Number(d);
    } catch {
      // a process that exited meanwhile
    }
  }
  return null;
}
