// Training checkpoints: checkpoints/<name>/ is an HF directory (config.json + model.safetensors) plus
// optimizer.safetensors and trainer_state.json (loop position, RNG, optimizer hyper-parameters and
// every callback's state). A checkpoint is written whole into a temporary sibling directory and then
// swapped in by rename, so the previous good copy exists until the new one is complete; trainer_state.json
// is written last and marks a directory as complete.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { savePretrained } from '../models/hf.js';
import type { SegmentationModel } from '../models/contract.js';
import { dispose, getRngState, loadTensors, saveTensors, setRngState, type Adam, type OptimizerState, type Tensor } from '../torch/index.js';
import { writeJsonAtomic } from '../util/fs.js';
import type { Callback, LoopState } from './callback.js';

export const STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';

export interface TrainerState {
  format: 'streetseg-trainer-state';
  version: 1;
  loop: LoopState;
  /** libtorch's default CPU generator, base64 */
  rng: string;
  optimizer: OptimizerState['json'];
  callbacks: Record<string, unknown>;
  savedAt: string;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export interface SaveHooks {
  /** Runs after the files are written and before the swap (tests inject failures here). */
  beforeCommit?: (tmpDir: string) => void;
}

let seq = 0;

/** Writes a complete checkpoint to `dir` atomically (see above). Errors name the directory and keep the old copy. */
export function saveCheckpoint(
  dir: string,
  model: SegmentationModel,
  optimizer: Adam,
  loop: LoopState,
  callbacks: Record<string, unknown>,
  hooks: SaveHooks = {},
): void {
  const parent = path.dirname(dir);
  const name = path.basename(dir);
  const tmp = path.join(parent, `.tmp-${name}-${process.pid}-${seq++}`);
  try {
    fs.mkdirSync(parent, { recursive: true });
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp);
    savePretrained(model, tmp);
    const opt = optimizer.stateDict();
    saveTensors(path.join(tmp, OPTIMIZER_FILE), opt.tensors);
    const state: TrainerState = {
      format: 'streetseg-trainer-state',
      version: 1,
      loop: { ...loop },
      rng: Buffer.from(getRngState()).toString('base64'),
      optimizer: opt.json,
      callbacks,
      savedAt: new Date().toISOString(),
    };
    writeJsonAtomic(path.join(tmp, STATE_FILE), state);
    hooks.beforeCommit?.(tmp);
    fsyncDir(tmp);
  } catch (e) {
    try {
      fs.rmSync(tmp, { recursive: true, force: true });
    } catch {
      // the parent is not a directory (or not writable): nothing was created to clean up
    }
    throw new CheckpointError(`cannot write checkpoint ${dir}: ${(e as Error).message}; the previous checkpoint (if any) is unchanged`);
  }
  // Swap: the old directory is moved aside (not deleted) until the new one is in place.
  const old = path.join(parent, `.old-${name}-${process.pid}-${seq++}`);
  const hadOld = fs.existsSync(dir);
  if (hadOld) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  fsyncDir(parent);
  if (hadOld) fs.rmSync(old, { recursive: true, force: true });
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The complete checkpoint called `name` under `parent`: the directory itself, or, after a crash between
 * the two renames of a swap, the moved-aside previous copy. Null if none is complete.
 */
export function findCheckpoint(parent: string, name: string): string | null {
  const direct = path.join(parent, name);
  if (fs.existsSync(path.join(direct, STATE_FILE))) return direct;
  if (!fs.existsSync(parent)) return null;
  const aside = fs
    .readdirSync(parent)
    .filter((f) => f.startsWith(`.old-${name}-`) && fs.existsSync(path.join(parent, f, STATE_FILE)))
    .map((f) => path.join(parent, f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return aside[0] ?? null;
}

/** Reads a checkpoint directory's trainer_state.json (no tensors); errors name the file. */
export function readTrainerStateJson(dir: string): TrainerState {
  const file = path.join(dir, STATE_FILE);
  let state: TrainerState;
  try {
    state = JSON.parse(fs.readFileSync(file, 'utf8')) as TrainerState;
  } catch (e) {
    throw new CheckpointError(`${file}: cannot read the trainer state (${(e as Error).message})`);
  }
  if (state?.format !== 'streetseg-trainer-state' || state.version !== 1) {
    throw new CheckpointError(`${file}: not a streetseg trainer state (format ${JSON.stringify(state?.format)}, version ${JSON.stringify(state?.version)})`);
  }
  return state;
}

/** Reads trainer_state.json and the optimizer tensors of a checkpoint directory. */
export function readTrainerState(dir: string): { state: TrainerState; optimizer: OptimizerState } {
  const state = readTrainerStateJson(dir);
  const tensors: Map<string, Tensor> = loadTensors(path.join(dir, OPTIMIZER_FILE));
  return { state, optimizer: { tensors, json: state.optimizer } };
}

/**
 * Continues a run from the checkpoint in `dir` (its weights already loaded into the model the optimizer
 * holds): the optimizer's state, libtorch's RNG, the loop position and every callback's state. Saved by a
 * group of another world size, the loop restarts at the last batch boundary of the new group at or before
 * the saved global position (the samples of the epoch's order consumed), the running sums shrunk in
 * proportion.
 */
export function restoreCheckpoint(
  dir: string,
  to: { optimizer: Adam; state: Required<LoopState>; callbacks: readonly Callback[]; batchSize: number; worldSize: number; log: (line: string) => void },
): void {
  const saved = readTrainerState(dir);
  try {
    to.optimizer.loadStateDict(saved.optimizer);
  } finally {
    dispose([...saved.optimizer.tensors.values()]);
  }
  setRngState(new Uint8Array(Buffer.from(saved.state.rng, 'base64')));
  const { state, batchSize, worldSize } = to;
  // checkpoints of a single process predate the data-parallel fields
  Object.assign(state, { worldSize: 1, samplesInEpoch: saved.state.loop.batchInEpoch * batchSize }, saved.state.loop);
  if (state.worldSize !== worldSize) {
    const batch = Math.floor(state.samplesInEpoch / (batchSize * worldSize));
    const keep = state.batchInEpoch > 0 ? batch / state.batchInEpoch : 0;
    to.log(`resume: ${state.worldSize} → ${worldSize} processes; epoch ${state.epoch + 1} continues at global sample ${batch * batchSize * worldSize} of the ${state.samplesInEpoch} done`);
    Object.assign(state, { batchInEpoch: batch, samplesInEpoch: batch * batchSize * worldSize, epochLossSum: state.epochLossSum * keep, epochImages: state.epochImages * keep, worldSize });
  }
  for (const c of to.callbacks) if (c.name in saved.state.callbacks) c.loadStateDict(saved.state.callbacks[c.name]);
}
