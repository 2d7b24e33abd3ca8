// The run directory's one reader: config.json checked on read (errors name file, key, value, rule), every
// committed run's config.json read back, metrics.csv read from a hand-written file, checkpoint names, and
// the best checkpoint taken from ModelCheckpoint's saved state (across a resume, and when a kill fell
// between saving a best checkpoint and `last`).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EvalResult, LoopState, TrainContext } from '../src/train/callback.js';
import { formatCsv, summaryRow } from '../src/train/callbacks/csv-logger.js';
import { ModelCheckpoint } from '../src/train/callbacks/model-checkpoint.js';
import { readTrainerStateJson, STATE_FILE, type TrainerState } from '../src/train/checkpoint.js';
import { defaults } from '../src/train/config.js';
import {
  bestCheckpoint,
  bestCheckpointName,
  checkpointPath,
  isRunDir,
  lastCheckpoint,
  parseBestCheckpointName,
  readMetricsCsv,
  readRunConfig,
  RunDirError,
  runDirOf,
  runPaths,
  writeRunConfig,
  type RunResolved,
} from '../src/train/run-dir.js';
import { writeJsonAtomic } from '../src/util/fs.js';
import { repoRoot } from '../src/util/paths.js';

const tmp = (tag: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `ss-rundir-${tag}-`));
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const RESOLVED: RunResolved = { classes: ['Sky', 'Road', 'Car'], classWeightValues: [0.5, 1, 2], trainImages: 8, valImages: 2, host: 'h', node: 'v20.0.0' };

/** A run directory whose config.json is `over` applied to a valid one (undefined deletes a key). */
function runWithConfig(over: (c: Record<string, unknown>) => void): { dir: string; file: string } {
  const dir = tmp('cfg');
  const c: Record<string, unknown> = { ...defaults(), data: 'data/camseq01', resolved: structuredClone(RESOLVED) };
  over(c);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
  return { dir, file: path.join(dir, 'config.json') };
}

function rejects(over: (c: Record<string, unknown>) => void, message: (file: string) => string): void {
  const { dir, file } = runWithConfig(over);
  assert.throws(() => readRunConfig(dir), (e: Error) => {
    assert.ok(e instanceof RunDirError, String(e));
    assert.equal(e.message, message(file));
    return true;
  });
}

describe('run directory: config.json', () => {
  it('writes and reads back every setting and the resolved block', () => {
    const dir = tmp('rt');
    const cfg = { ...defaults(), data: 'data/camseq01', batchSize: 4, evalScales: [0.5, 1] };
    writeRunConfig(dir, cfg, { ...RESOLVED, worldSize: 2, backend: 'gloo' });
    const back = readRunConfig(dir);
    assert.deepEqual(back, { ...cfg, resolved: { ...RESOLVED, worldSize: 2, backend: 'gloo' } });
    // the on-disk layout: the settings flat, `resolved` beside them
    assert.deepEqual(Object.keys(JSON.parse(fs.readFileSync(runPaths(dir).config, 'utf8'))).slice(-1), ['resolved']);
  });

  it('bad values are errors that name the file, the key, the value and what was expected', () => {
    rejects((c) => (c.batchSize = 2.5), (f) => `${f}: batchSize 2.5: expected an integer`);
    rejects((c) => (c.optimizer = 'sgd'), (f) => `${f}: optimizer "sgd": expected one of "adam", "adamw"`);
    rejects((c) => (c.evalScales = [1, -0.5]), (f) => `${f}: evalScales.1 -0.5: expected a value > 0`);
    rejects((c) => (c.evalScales = []), (f) => `${f}: evalScales []: expected at least 1 value`);
    rejects((c) => ((c.resolved as Record<string, unknown>).trainImages = 'many'), (f) => `${f}: resolved.trainImages "many": expected a number`);
    rejects((c) => ((c.resolved as Record<string, unknown>).trainImages = -1), (f) => `${f}: resolved.trainImages -1: expected a value >= 0`);
    rejects((c) => delete (c.resolved as Record<string, unknown>).classes, (f) => `${f}: resolved.classes is missing (expected an array)`);
    rejects((c) => ((c.resolved as Record<string, unknown>).classWeightValues = [1, 2]), (f) => `${f}: resolved.classWeightValues has 2 values: expected one per class (3)`);
    rejects((c) => ((c.resolved as Record<string, unknown>).colour = 'red'), (f) => `${f}: unknown key 'resolved.colour'`);
    rejects((c) => (c.batchSzie = 4), (f) => `${f}: unknown setting 'batchSzie' (did you mean 'batchSize'?)`);
    rejects((c) => delete c.resolved, (f) => `${f}: resolved is missing (expected a run directory's config.json, which records the classes, class weights and image counts there)`);
  });

  it('a missing, unparsable or non-object config.json names the file', () => {
    const dir = tmp('bad');
    const file = path.join(dir, 'config.json');
    assert.throws(() => readRunConfig(dir), new RegExp(`^RunDirError: ${esc(file)}: missing \\(expected the config\\.json streetseg train writes`));
    fs.writeFileSync(file, '{"batchSize": 4,');
    assert.throws(() => readRunConfig(dir), new RegExp(`^RunDirError: ${esc(file)}: not valid JSON`));
    fs.writeFileSync(file, '[1]');
    assert.throws(() => readRunConfig(dir), new RegExp(`^RunDirError: ${esc(file)}: expected a JSON object`));
  });

  it("reads every committed run's config.json; settings added after a run was made read as their defaults", () => {
    const runs = path.join(repoRoot, 'docs', 'runs');
    const names = fs.readdirSync(runs).filter((n) => fs.existsSync(path.join(runs, n, 'config.json')));
    assert.ok(names.length >= 5, `runs: ${names}`);
    for (const n of names) {
      const raw = JSON.parse(fs.readFileSync(path.join(runs, n, 'config.json'), 'utf8')) as Record<string, unknown> & { resolved: RunResolved };
      const cfg = readRunConfig(path.join(runs, n));
      // what is in the file reads back unchanged, and nothing else but defaults is added
      for (const [k, v] of Object.entries(raw)) assert.deepEqual((cfg as unknown as Record<string, unknown>)[k], v, `${n}: ${k}`);
      for (const [k, v] of Object.entries(defaults())) if (!(k in raw)) assert.deepEqual((cfg as unknown as Record<string, unknown>)[k], v, `${n}: ${k}`);
    }
    const best = readRunConfig(path.join(runs, 'camvid-best'));
    assert.deepEqual([best.model, best.resolved.trainImages, best.resolved.valImages, best.resolved.classes.length, best.evalScales], ['mobilevit-xxs', 367, 101, 11, [0.5]]);
    // tutorial-finetune predates distTimeout, nproc and evalFlip
    const ft = readRunConfig(path.join(runs, 'tutorial-finetune'));
    assert.deepEqual([ft.distTimeout, ft.nproc, ft.evalFlip, ft.resolved.classes.length], [300, 1, false, 12]);
  });

  it('a run directory is told from an HF checkpoint directory, and a checkpoint finds the run it sits in', () => {
    const run = tmp('isrun');
    writeRunConfig(run, { ...defaults(), data: 'd' }, RESOLVED);
    assert.equal(isRunDir(run), false, 'no checkpoints/ yet');
    fs.mkdirSync(checkpointPath(run, 'last'), { recursive: true });
    assert.equal(isRunDir(run), true);
    assert.equal(runDirOf(checkpointPath(run, 'last')), path.resolve(run));
    assert.equal(runDirOf(run), null);
    const hf = tmp('hf');
    fs.writeFileSync(path.join(hf, 'config.json'), JSON.stringify({ model_type: 'segformer' }));
    fs.mkdirSync(path.join(hf, 'checkpoints'));
    assert.equal(isRunDir(hf), false);
  });
});

describe('run directory: metrics.csv', () => {
  it('reads a hand-written file: numbers, empty cells as null, CRLF line ends', () => {
    const file = path.join(tmp('csv'), 'metrics.csv');
    fs.writeFileSync(file, 'epoch,step,train_loss,val_miou,lr\r\n1,45,1.5,,6e-4\r\n2,90,1.25,0.3125,-0\r\n3,135,Infinity,0.5,0\r\n');
    assert.deepEqual(readMetricsCsv(file), [
      { epoch: 1, step: 45, train_loss: 1.5, val_miou: null, lr: 0.0006 },
      { epoch: 2, step: 90, train_loss: 1.25, val_miou: 0.3125, lr: -0 },
      { epoch: 3, step: 135, train_loss: Infinity, val_miou: 0.5, lr: 0 },
    ]);
    fs.writeFileSync(file, 'epoch,step\n');
    assert.deepEqual(readMetricsCsv(file), []);
  });

  it("reads back what CsvLogger writes (to its 6 significant digits)", () => {
    const file = path.join(tmp('csv'), 'metrics.csv');
    const base = { step: 45, trainLoss: 1.2345678, lr: 0.0006, epochTrainSeconds: 80, trainImagesPerSecond: 4.5, seconds: 81, rssMiB: 1536.5, eval: null };
    fs.writeFileSync(file, formatCsv([summaryRow({ ...base, epoch: 1 })]));
    const [row] = readMetricsCsv(file);
    assert.deepEqual(row, { epoch: 1, step: 45, train_loss: 1.23457, val_loss: null, val_miou: null, val_macc: null, val_aacc: null, seconds: 81, lr: 0.0006, epoch_train_s: 80, train_img_s: 4.5, eval_s: null, eval_img_s: null, rss_mib: 1536.5 });
  });

  it('a ragged row, a cell that is no number, a missing column and a missing header name the file and the place', () => {
    const file = path.join(tmp('csv'), 'metrics.csv');
    fs.writeFileSync(file, 'epoch,step\n1,2\n2\n');
    assert.throws(() => readMetricsCsv(file), { message: `${file}: row 2 has 1 cells, the header 2` });
    fs.writeFileSync(file, 'epoch,val_miou\n1,nan\n');
    assert.throws(() => readMetricsCsv(file), { message: `${file}: row 1, column val_miou: "nan": expected a number or an empty cell` });
    fs.writeFileSync(file, 'epoch,step\n1,45\n');
    assert.deepEqual(readMetricsCsv(file, ['step', 'epoch']), [{ epoch: 1, step: 45 }]);
    assert.throws(() => readMetricsCsv(file, ['epoch', 'val_miou', 'seconds']), { name: 'RunDirError', message: `${file}: no column val_miou, seconds (expected it in the header; it has epoch,step)` });
    fs.writeFileSync(file, '');
    assert.throws(() => readMetricsCsv(file), { message: `${file}: expected a header row of column names (epoch,step,…), got ""` });
    assert.throws(() => readMetricsCsv(path.join(tmp('csv'), 'none.csv')), /none\.csv: cannot read the metrics \(ENOENT/);
  });
});

describe('run directory: checkpoint names', () => {
  it('best-epoch=E-METRIC=V round trips (V to 4 decimals); other names are not best checkpoints', () => {
    assert.equal(bestCheckpointName(3, 'val_miou', 0.123456), 'best-epoch=3-val_miou=0.1235');
    assert.deepEqual(parseBestCheckpointName('best-epoch=3-val_miou=0.1235'), { epoch: 3, monitor: 'val_miou', value: 0.1235 });
    for (const [e, m, v] of [[1, 'val_loss', 2.5], [120, 'val_aacc', 0.98765], [7, 'val_loss', -0.25], [2, 'val_macc', 1234.5]] as const) {
      assert.deepEqual(parseBestCheckpointName(bestCheckpointName(e, m, v)), { epoch: e, monitor: m, value: Number(v.toFixed(4)) });
    }
    for (const n of ['last', 'best-epoch=x-val_miou=0.1', 'best-epoch=3-val_miou=', `.old-best-epoch=3-val_miou=0.1235-${process.pid}-0`, 'best-epoch=3-val_miou=0.1235.tmp']) {
      assert.equal(parseBestCheckpointName(n), null, n);
    }
  });
});

/** An evaluation whose loss and mIoU are both `v` (the monitored value, either way). */
function fakeEval(epoch: number, v: number): EvalResult {
  const metrics = { meanIou: v, meanAccuracy: 0.5, overallAccuracy: 0.6, perClassIou: [], perClassAccuracy: [], numPixels: 1 };
  return { epoch, step: epoch * 2, loss: v, metrics, confusion: new Float64Array(0), numImages: 1, seconds: 1, imagesPerSecond: 1, perImage: [], samples: [], worst: [] };
}

/**
 * A run directory driven by a real ModelCheckpoint as the trainer drives it (2 steps an epoch): every
 * checkpoint it saves is a directory with the trainer state holding the callback's stateDict.
 */
function checkpointingRun(runDir: string, mc: ModelCheckpoint) {
  const state: LoopState = { epoch: 0, step: 0, batchInEpoch: 0, epochLossSum: 0, epochImages: 0, epochTrainSeconds: 0, elapsedSeconds: 0 };
  const ctx = {
    state,
    batchesPerEpoch: 2,
    log: () => undefined,
    saveCheckpoint: async (name: string) => {
      const dir = checkpointPath(runDir, name);
      fs.mkdirSync(dir, { recursive: true });
      const st: TrainerState = { format: 'streetseg-trainer-state', version: 1, loop: { ...state }, rng: '', optimizer: { groups: [] } as never, callbacks: { [mc.name]: mc.stateDict() }, savedAt: new Date().toISOString() };
      writeJsonAtomic(path.join(dir, STATE_FILE), st);
      return dir;
    },
    removeCheckpoint: (name: string) => fs.rmSync(checkpointPath(runDir, name), { recursive: true, force: true }),
  } as unknown as TrainContext;
  return {
    /** One epoch evaluated at `v`: a best checkpoint if it improves, then `last` (unless killed before it). */
    async epoch(v: number, { killBeforeLast = false } = {}): Promise<void> {
      const e = state.epoch + 1;
      state.step += 2;
      state.batchInEpoch = 2;
      await mc.onValidationEnd(ctx, fakeEval(e, v));
      Object.assign(state, { epoch: e, batchInEpoch: 0 });
      if (!killBeforeLast) await mc.onEpochEnd(ctx, {} as never);
    },
    /** A resume: the loop position of `last`. */
    resumeFrom(last: string): void {
      Object.assign(state, readTrainerStateJson(last).loop);
    },
  };
}

describe('run directory: the best checkpoint, from ModelCheckpoint\'s saved state', () => {
  it('is the kept best (top-2 here); the displaced ones are gone and never picked', async () => {
    const run = tmp('best');
    const mc = new ModelCheckpoint('val_miou', 'max', 2);
    const r = checkpointingRun(run, mc);
    for (const m of [0.2, 0.4, 0.3, 0.1]) await r.epoch(m);
    const best = bestCheckpoint(run);
    assert.deepEqual(best, { dir: checkpointPath(run, 'best-epoch=2-val_miou=0.4000'), name: 'best-epoch=2-val_miou=0.4000', epoch: 2, monitor: 'val_miou', value: 0.4 });
    assert.equal(mc.best[0]!.name, best!.name);
    assert.equal(lastCheckpoint(run), checkpointPath(run, 'last'));
    assert.deepEqual(fs.readdirSync(runPaths(run).checkpoints).sort(), ['best-epoch=2-val_miou=0.4000', 'best-epoch=3-val_miou=0.3000', 'last']);
    // the kept best is gone from disk: the next kept one
    fs.rmSync(checkpointPath(run, 'best-epoch=2-val_miou=0.4000'), { recursive: true });
    assert.equal(bestCheckpoint(run)!.name, 'best-epoch=3-val_miou=0.3000');
  });

  it('a run resumed after its best epoch keeps that best until a better one; a directory its state does not list is not picked', async () => {
    const run = tmp('resume');
    const first = checkpointingRun(run, new ModelCheckpoint('val_miou', 'max', 1));
    for (const m of [0.2, 0.5, 0.3]) await first.epoch(m);
    // A best checkpoint left by another timeline (a run of this directory started over from an older last):
    // the highest value on disk, saved before the current last, listed by no state but its own.
    const stray = checkpointPath(run, bestCheckpointName(2, 'val_miou', 0.9));
    fs.mkdirSync(stray);
    const st = readTrainerStateJson(checkpointPath(run, 'last'));
    writeJsonAtomic(path.join(stray, STATE_FILE), { ...st, loop: { ...st.loop, epoch: 1, step: 4 }, callbacks: { model_checkpoint: [{ name: path.basename(stray), value: 0.9, epoch: 2 }] } });
    // killed; the resumed process restores the callback from last, as Trainer does
    const mc = new ModelCheckpoint('val_miou', 'max', 1);
    mc.loadStateDict(readTrainerStateJson(checkpointPath(run, 'last')).callbacks.model_checkpoint);
    const resumed = checkpointingRun(run, mc);
    resumed.resumeFrom(checkpointPath(run, 'last'));
    for (const m of [0.4, 0.45]) await resumed.epoch(m);
    assert.equal(bestCheckpoint(run)!.name, 'best-epoch=2-val_miou=0.5000');
    await resumed.epoch(0.6);
    assert.deepEqual(bestCheckpoint(run), { dir: checkpointPath(run, 'best-epoch=6-val_miou=0.6000'), name: 'best-epoch=6-val_miou=0.6000', epoch: 6, monitor: 'val_miou', value: 0.6 });
    assert.ok(!fs.existsSync(checkpointPath(run, 'best-epoch=2-val_miou=0.5000')), 'the displaced best was removed');
  });

  it('killed between saving a better best and last: that best (its own state lists it), though last does not', async () => {
    const run = tmp('kill');
    const r = checkpointingRun(run, new ModelCheckpoint('val_loss', 'min', 1));
    await r.epoch(0.5);
    await r.epoch(0.3, { killBeforeLast: true });
    assert.deepEqual(readTrainerStateJson(checkpointPath(run, 'last')).callbacks.model_checkpoint, [{ name: 'best-epoch=1-val_loss=0.5000', value: 0.5, epoch: 1 }]);
    assert.ok(!fs.existsSync(checkpointPath(run, 'best-epoch=1-val_loss=0.5000')), 'displaced by epoch 2');
    assert.equal(bestCheckpoint(run)!.name, 'best-epoch=2-val_loss=0.3000');
  });

  it('none without ModelCheckpoint state or checkpoints; a malformed state names the file and the key', async () => {
    const run = tmp('none');
    assert.equal(bestCheckpoint(run), null);
    assert.equal(lastCheckpoint(run), null);
    const r = checkpointingRun(run, new ModelCheckpoint('val_miou', 'max', 0)); // top-0 keeps none
    await r.epoch(0.5);
    assert.equal(bestCheckpoint(run), null);
    assert.equal(lastCheckpoint(run), checkpointPath(run, 'last'));
    const file = path.join(checkpointPath(run, 'last'), STATE_FILE);
    const st = JSON.parse(fs.readFileSync(file, 'utf8')) as TrainerState;
    writeJsonAtomic(file, { ...st, callbacks: { model_checkpoint: [{ name: 'best-epoch=1-val_miou=0.5000', value: 'high', epoch: 1 }] } });
    assert.throws(() => bestCheckpoint(run), { name: 'RunDirError', message: `${file}: callbacks.model_checkpoint.0.value "high": expected a number` });
  });
});
