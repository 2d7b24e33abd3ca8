// Kill soak: trains with a checkpoint every step, SIGKILLs the process at random moments after it has
// written a checkpoint of its own, resumes each time, and finally compares the weights bit for bit with an
// uninterrupted run of the same command. Every checkpoint found after a kill must load. Used by the test suite (5 kills) and on its own (`node
// dist/bench/kill-soak.js --kills 20`, JSON out).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPretrained } from '../src/models/hf.js';
import { readSafetensors } from '../src/torch/index.js';
import { readTrainerState, readTrainerStateJson } from '../src/train/checkpoint.js';
import { lastCheckpoint } from '../src/train/run-dir.js';
import type { TrainConfig } from '../src/train/config.js';
import { repoRoot } from '../src/util/paths.js';
import { rng } from '../src/util/random.js';

const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');

export interface SoakResult {
  kills: number;
  attempts: number;
  /** Kills that landed while a checkpoint newer than the attempt's starting one existed (each resume made progress). */
  killsAfterCheckpoint: number;
  checkpointsLoaded: number;
  /** The step of the `last` checkpoint found after each kill: strictly increasing when every resume progressed. */
  stepsAtKills: number[];
  steps: number;
  maxWeightDiff: number;
  /** Every float32 weight equal, bit for bit, to the uninterrupted run's. */
  identical: boolean;
  uninterruptedSeconds: number;
  totalSeconds: number;
}

/** The loop step of a run's complete `last` checkpoint, 0 when there is none (or it is being swapped). */
function lastStep(runDir: string): number {
  const dir = lastCheckpoint(runDir);
  if (!dir) return 0;
  try {
    return readTrainerStateJson(dir).loop.step;
  } catch {
    return 0; // renamed away between the lookup and the read
  }
}

/** Float32 weights of a run's complete `last` checkpoint. */
export function lastWeights(runDir: string): Map<string, Float32Array> {
  const dir = lastCheckpoint(runDir);
  if (!dir) throw new Error(`${runDir}: no complete checkpoints/last`);
  const out = new Map<string, Float32Array>();
  for (const [k, r] of readSafetensors(path.join(dir, 'model.safetensors')).tensors) {
    // Uint8Array's slice copies; a Buffer's (readFileSync's subarrays) would alias the whole file.
    if (r.dtype === 'float32') out.set(k, new Float32Array(Uint8Array.prototype.slice.call(r.data).buffer));
  }
  return out;
}

export function maxWeightDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  return compareWeights(a, b).maxDiff;
}

/** The largest |difference| and whether every weight is bit-identical (same float32 bytes, so -0 ≠ 0 and NaN = NaN). */
export function compareWeights(a: Map<string, Float32Array>, b: Map<string, Float32Array>): { maxDiff: number; identical: boolean } {
  const keys = [...a.keys()].sort();
  if (keys.join() !== [...b.keys()].sort().join()) throw new Error('the two checkpoints have different tensors');
  let m = 0;
  let identical = true;
  for (const k of keys) {
    const x = a.get(k)!;
    const y = b.get(k)!;
    const xb = new Uint32Array(x.buffer, x.byteOffset, x.length);
    const yb = new Uint32Array(y.buffer, y.byteOffset, y.length);
    for (let i = 0; i < x.length; i++) {
      m = Math.max(m, Math.abs(x[i]! - y[i]!));
      if (xb[i] !== yb[i]) identical = false;
    }
  }
  return { maxDiff: m, identical };
}

/** Runs the soak in `dir` for a training config (which should save every step). */
export async function killSoak(config: Partial<TrainConfig>, dir: string, kills: number, seed = 20261130): Promise<SoakResult> {
  const t0 = Date.now();
  const cfgFile = path.join(dir, 'train.json');
  fs.writeFileSync(cfgFile, JSON.stringify({ ...config, saveEverySteps: config.saveEverySteps || 1, progress: 'none' }));
  // The uninterrupted run, through the same command; its duration sets the range of kill times.
  const refDir = path.join(dir, 'uninterrupted');
  const whole = spawnSync(process.execPath, [cli, 'train', '--config', cfgFile, '--out', refDir], { encoding: 'utf8' });
  if (whole.status !== 0) throw new Error(`uninterrupted run failed: ${whole.stderr}`);
  const span = Date.now() - t0;
  const runDir = path.join(dir, 'killed');
  const r = rng(seed);
  let done = 0;
  let attempts = 0;
  let loaded = 0;
  let afterCheckpoint = 0;
  const stepsAtKills: number[] = [];
  // Time per step of the uninterrupted run (its startup included): kills are drawn within about one step.
  const stepMs = span / Math.max(1, lastStep(refDir));
  while (done < kills && attempts < kills * 8) {
    attempts++;
    const resume = lastCheckpoint(runDir) !== null;
    if (!resume) fs.rmSync(runDir, { recursive: true, force: true });
    const startStep = lastStep(runDir);
    const args = resume ? ['train', '--resume', runDir] : ['train', '--config', cfgFile, '--out', runDir];
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    // Armed once this attempt has written a checkpoint of its own; then the kill lands at a random moment
    // of the next step or so (possibly mid-write of the next checkpoint).
    let timer: NodeJS.Timeout | null = null;
    const poll = setInterval(() => {
      if (timer || lastStep(runDir) <= startStep) return;
      timer = setTimeout(() => child.kill('SIGKILL'), stepMs * 1.5 * r.next());
    }, 20);
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    clearInterval(poll);
    if (timer) clearTimeout(timer);
    if (code === 0) {
      fs.rmSync(runDir, { recursive: true, force: true }); // finished before the kill: start over
      continue;
    }
    if (code !== null) throw new Error(`train exited with ${code}: ${err}`);
    done++;
    // Whatever the moment, the checkpoint that exists is complete and loads, and is past the attempt's start.
    const last = lastCheckpoint(runDir);
    if (last) {
      const st = readTrainerState(last);
      st.optimizer.tensors.forEach((t) => t.dispose());
      loadPretrained(last, { log: () => undefined }).model.dispose();
      loaded++;
      if (st.state.loop.step > startStep) afterCheckpoint++;
      stepsAtKills.push(st.state.loop.step);
    } else stepsAtKills.push(0);
  }
  if (done < kills) throw new Error(`only ${done} of ${kills} kills landed in ${attempts} attempts`);
  const canResume = lastCheckpoint(runDir) !== null;
  if (!canResume) fs.rmSync(runDir, { recursive: true, force: true });
  const fin = spawnSync(process.execPath, [cli, 'train', ...(canResume ? ['--resume', runDir] : ['--config', cfgFile, '--out', runDir])], { encoding: 'utf8' });
  if (fin.status !== 0) throw new Error(`final resume failed: ${fin.stderr}`);
  const out = JSON.parse(fin.stdout.trim().split('\n').pop()!) as { status: string; steps: number };
  if (out.status !== 'finished') throw new Error(`final resume ended ${out.status}`);
  const cmp = compareWeights(lastWeights(runDir), lastWeights(refDir));
  return {
    kills: done,
    attempts,
    killsAfterCheckpoint: afterCheckpoint,
    checkpointsLoaded: loaded,
    stepsAtKills,
    steps: out.steps,
    maxWeightDiff: cmp.maxDiff,
    identical: cmp.identical,
    uninterruptedSeconds: span / 1000,
    totalSeconds: (Date.now() - t0) / 1000,
  };
}

// As a script: a 20-kill soak on a tiny synthetic dataset.
if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const { writeSyntheticDataset } = await import('../src/data/synthetic.js');
  const killsArg = process.argv.indexOf('--kills');
  const kills = killsArg > 0 ? Number(process.argv[killsArg + 1]) : 20;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-soak-'));
  const data = path.join(dir, 'data');
  await writeSyntheticDataset(data, { count: 10, seed: 5, width: 96, height: 64 });
  const res = await killSoak(
    {
      model: 'segformer-b0',
      modelConfig: { hidden_sizes: [8, 16, 24, 32], num_attention_heads: [1, 2, 2, 4], depths: [1, 1, 1, 1], decoder_hidden_size: 16 },
      data, format: 'camseq01', void: 'class', height: 64, width: 96, batchSize: 4, evalBatchSize: 2, epochs: 12, lr: 3e-3, warmupIters: 2, workers: 0, evalEvery: 2,
    },
    dir,
    kills,
  );
  console.log(JSON.stringify(res));
  fs.rmSync(dir, { recursive: true, force: true });
}
