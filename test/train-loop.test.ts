// The training loop end to end on tiny synthetic data: run directory contents, exact resume after an
// interrupt, SIGKILL at random moments, SIGINT, NaN loss, and checkpoint write failures.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compareWeights, killSoak, lastWeights } from '../bench/kill-soak.js';
import { Callback, type TrainContext } from '../src/train/callback.js';
import { defaultCallbacks } from '../src/train/callbacks/index.js';
import { CheckpointError, findCheckpoint, readTrainerState, saveCheckpoint } from '../src/train/checkpoint.js';
import { resolveConfig, type TrainConfig } from '../src/train/config.js';
import { Trainer, NonFiniteLossError } from '../src/train/trainer.js';
import { loadPretrained } from '../src/models/hf.js';
import { readTfEvents } from '../src/train/tfevents.js';
import { Adam, tidy } from '../src/torch/index.js';
import { repoRoot } from '../src/util/paths.js';
import { tinyConfig, tinyDataset, tmpRun } from './helpers/train-fixture.js';

const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');

async function trainRun(cfg: TrainConfig, runDir: string, extra: Callback[] = [], resume = false) {
  const { callbacks } = defaultCallbacks(cfg, 'none');
  const trainer = new Trainer(cfg, runDir, { resume, callbacks: [...extra, ...callbacks], log: () => undefined });
  return { trainer, result: await trainer.fit() };
}

/** Interrupts the trainer (as SIGINT would) once `step` steps are done. */
class InterruptAt extends Callback {
  readonly name = 'test_interrupt';
  trainer: Trainer | null = null;
  constructor(readonly step: number) {
    super();
  }
  override onTrainBatchEnd(ctx: TrainContext): void {
    if (ctx.state.step === this.step) this.trainer!.interrupt('SIGINT');
  }
}

describe('training loop', () => {
  let data: string;
  let ref: { dir: string; csv: string };
  before(async () => {
    data = await tinyDataset();
    const dir = tmpRun('ref');
    const { result } = await trainRun(resolveConfig(tinyConfig(data)), dir);
    assert.equal(result.how, 'finished');
    ref = { dir, csv: fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8') };
  });

  it('writes the run directory: config, metrics.csv, TensorBoard, checkpoints, report', () => {
    const cfg = JSON.parse(fs.readFileSync(path.join(ref.dir, 'config.json'), 'utf8'));
    assert.equal(cfg.batchSize, 4);
    assert.equal(cfg.resolved.classes.length, 12);
    assert.equal(cfg.resolved.classWeightValues.length, 12);
    const lines = ref.csv.trim().split('\n');
    assert.equal(lines[0], 'epoch,step,train_loss,val_loss,val_miou,val_macc,val_aacc,seconds,lr,epoch_train_s,train_img_s,eval_s,eval_img_s,rss_mib');
    assert.equal(lines.length, 4); // 3 epochs, evaluated each
    const rows = lines.slice(1).map((l) => l.split(','));
    assert.deepEqual(rows.map((r) => [r[0], r[1]]), [['1', '2'], ['2', '4'], ['3', '6']]);
    for (const r of rows) for (const v of r) assert.ok(v !== '' && Number.isFinite(Number(v)), `empty or bad cell in ${r}`);
    assert.ok(Number(rows[2]![7]) >= Number(rows[0]![7]), 'seconds is cumulative');
    const last = path.join(ref.dir, 'checkpoints', 'last');
    for (const f of ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json']) assert.ok(fs.existsSync(path.join(last, f)), f);
    const st = readTrainerState(last);
    assert.deepEqual([st.state.loop.epoch, st.state.loop.step, st.state.loop.batchInEpoch], [3, 6, 0]);
    assert.ok(st.state.callbacks.csv_logger && st.state.callbacks.model_checkpoint);
    st.optimizer.tensors.forEach((t) => t.dispose());
    const best = fs.readdirSync(path.join(ref.dir, 'checkpoints')).filter((d) => d.startsWith('best-'));
    assert.equal(best.length, 1, `top-1: ${best}`);
    const { model } = loadPretrained(path.join(ref.dir, 'checkpoints', best[0]!), { log: () => undefined });
    assert.equal(model.numLabels, 12);
    model.dispose();
    const tb = fs.readdirSync(path.join(ref.dir, 'tensorboard'));
    assert.equal(tb.length, 1);
    const events = readTfEvents(path.join(ref.dir, 'tensorboard', tb[0]!));
    const losses = events.filter((e) => 'train/loss' in e.scalars);
    assert.deepEqual(losses.map((e) => e.step), [1, 2, 3, 4, 5, 6]);
    assert.ok(events.some((e) => 'val/miou' in e.scalars));
    assert.ok(fs.existsSync(path.join(ref.dir, 'report', 'index.html')));
  });

  it('an interrupted run resumed from last reproduces the uninterrupted run (loss curve and weights)', async () => {
    const dir = tmpRun('resume');
    const cfg = resolveConfig(tinyConfig(data));
    const stop = new InterruptAt(3); // mid-epoch 2: the loader must restart at batch 2 of epoch 2
    const { callbacks } = defaultCallbacks(cfg, 'none');
    const trainer = new Trainer(cfg, dir, { callbacks: [stop, ...callbacks], log: () => undefined });
    stop.trainer = trainer;
    const first = await trainer.fit();
    assert.equal(first.how, 'interrupted');
    assert.deepEqual([first.state.epoch, first.state.batchInEpoch, first.state.step], [1, 1, 3]);
    const { result } = await trainRun(cfg, dir, [], true);
    assert.equal(result.how, 'finished');
    const cmp = compareWeights(lastWeights(dir), lastWeights(ref.dir));
    assert.ok(cmp.identical, `weights differ from the uninterrupted run (max |diff| ${cmp.maxDiff})`);
    const cols = (csv: string) => csv.trim().split('\n').slice(1).map((l) => l.split(',').slice(0, 7).map(Number));
    const a = cols(fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8'));
    const b = cols(ref.csv);
    assert.equal(a.length, b.length);
    a.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - b[i]![j]!) <= 1e-6, `metrics.csv row ${i} col ${j}: ${v} vs ${b[i]![j]}`)));
  });

  it('SIGKILL at random moments (5 kills, each after a checkpoint of its own), resumed each time, ends with the uninterrupted weights bit for bit', async () => {
    const res = await killSoak(tinyConfig(data, { epochs: 8 }), tmpRun('kill'), 5);
    assert.equal(res.kills, 5);
    // every kill hit a run that had progressed past where it started, and left a checkpoint that loads
    assert.equal(res.killsAfterCheckpoint, 5, `kills after a checkpoint: ${res.killsAfterCheckpoint} (steps at the kills: ${res.stepsAtKills})`);
    assert.equal(res.checkpointsLoaded, 5);
    assert.ok(res.stepsAtKills.every((s) => s >= 1 && s <= 16), `steps at the kills: ${res.stepsAtKills}`);
    assert.equal(res.steps, 16);
    assert.ok(res.identical, `weights differ from the uninterrupted run (max |diff| ${res.maxWeightDiff})`);
    assert.equal(res.maxWeightDiff, 0);
  });

  it('SIGINT saves last, exits 130 with a resume hint, and the resumed run finishes', () => {
    const dir = tmpRun('sigint');
    const cfgFile = path.join(dir, 'train.json');
    fs.writeFileSync(cfgFile, JSON.stringify(tinyConfig(data, { epochs: 50 })));
    const runDir = path.join(dir, 'run');
    // The child interrupts itself once training has started (its first log line), like a user's Ctrl-C.
    const script = `
      const { spawn } = require('node:child_process');
      const c = spawn(process.execPath, [${JSON.stringify(cli)}, 'train', '--config', ${JSON.stringify(cfgFile)}, '--out', ${JSON.stringify(runDir)}, '--progress', 'log'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      c.stderr.on('data', (d) => { err += d; if (/epoch 1\\/50 done/.test(err) && !c.sent) { c.sent = true; c.kill('SIGINT'); } });
      c.stdout.on('data', (d) => process.stdout.write(d));
      c.on('exit', (code) => { process.stderr.write(err); process.exit(code); });`;
    const res = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(res.status, 130, res.stderr);
    assert.match(res.stderr, new RegExp(`Resume with: streetseg train --resume ${runDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const st = readTrainerState(findCheckpoint(path.join(runDir, 'checkpoints'), 'last')!);
    st.optimizer.tensors.forEach((t) => t.dispose());
    assert.ok(st.state.loop.step >= 2);
    const fin = spawnSync(process.execPath, [cli, 'train', '--resume', runDir, '--epochs', String(st.state.loop.epoch + 1)], { encoding: 'utf8' });
    assert.equal(fin.status, 0, fin.stderr);
    assert.equal(JSON.parse(fin.stdout.trim().split('\n').pop()!).status, 'finished');
  });

  it('a non-finite loss stops with an error naming the step and the files; the last good checkpoint stays', async () => {
    const dir = tmpRun('nan');
    const cfg = resolveConfig(tinyConfig(data, { lr: 1e30, warmupIters: 0, saveEverySteps: 1, weightDecay: 0 }));
    let failedStep = 0;
    await assert.rejects(trainRun(cfg, dir), (e: Error) => {
      assert.ok(e instanceof NonFiniteLossError, String(e));
      const m = /step (\d+) \(epoch \d+, batch \d+\): the loss is (NaN|Infinity|-Infinity); batch files: \S+/.exec(e.message);
      assert.ok(m, e.message);
      failedStep = Number(m[1]);
      return true;
    });
    assert.ok(failedStep >= 2, `the loss went non-finite at step ${failedStep}: no good checkpoint before it`);
    const last = findCheckpoint(path.join(dir, 'checkpoints'), 'last');
    assert.ok(last, 'the last good checkpoint is kept');
    // "good": the step before the failing one (saved every step), and every weight finite
    const st = readTrainerState(last);
    st.optimizer.tensors.forEach((t) => t.dispose());
    assert.equal(st.state.loop.step, failedStep - 1);
    const { model } = loadPretrained(last, { log: () => undefined });
    for (const [name, t] of model.stateDict()) {
      if (t.dtype !== 'float32') continue;
      // max |x| is NaN or Infinity as soon as one value is
      assert.ok(Number.isFinite(tidy(() => t.abs().max().item())), `${name} has a non-finite value in the kept checkpoint`);
    }
    model.dispose();
  });

  it('a failed checkpoint write is a clear error and the previous checkpoint stays intact', async () => {
    const dir = tmpRun('ckfail');
    const cfg = resolveConfig(tinyConfig(data, { epochs: 1 }));
    await trainRun(cfg, dir);
    const lastDir = path.join(dir, 'checkpoints', 'last');
    const before = fs.readFileSync(path.join(lastDir, 'model.safetensors'));
    const { model } = loadPretrained(lastDir, { log: () => undefined });
    const opt = new Adam(model.parameters());
    const loop = { epoch: 9, step: 99, batchInEpoch: 0, epochLossSum: 0, epochImages: 0, epochTrainSeconds: 0, elapsedSeconds: 0 };
    // The disk fills up after the files are written, before the swap.
    assert.throws(
      () => saveCheckpoint(lastDir, model, opt, loop, {}, { beforeCommit: () => { throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }); } }),
      (e: Error) => e instanceof CheckpointError && e.message.includes(lastDir) && /ENOSPC/.test(e.message) && /previous checkpoint .* unchanged/.test(e.message),
    );
    assert.deepEqual(fs.readFileSync(path.join(lastDir, 'model.safetensors')), before);
    assert.equal(readTrainerState(lastDir).state.loop.step, 2);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'checkpoints')).filter((f) => f.startsWith('.')), [], 'no temp directory left behind');
    // An unwritable place (a file where the directory should be) names the path.
    const blocked = path.join(dir, 'blocked');
    fs.writeFileSync(blocked, 'not a directory');
    assert.throws(() => saveCheckpoint(path.join(blocked, 'last'), model, opt, loop, {}), (e: Error) => e instanceof CheckpointError && e.message.includes(path.join(blocked, 'last')));
    model.dispose();
  });
});
