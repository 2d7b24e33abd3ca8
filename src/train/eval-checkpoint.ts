// A checkpoint evaluated on a dataset split, as `streetseg eval` and `streetseg compare` both do it: the
// dataset opened with the checkpoint's label set (Void as a class when the labels have one), the loss
// weighted like the training run's, and evaluate() over the whole split. One copy, so that compare's
// numbers are eval's numbers.
import { DataLoader } from '../data/loader.js';
import { openDataset, type DatasetFormat, type OpenOptions } from '../data/dataset.js';
import type { DatasetSpec } from '../data/types.js';
import type { Checkpoint } from '../models/checkpoint.js';
import { EVAL_SCALES_KEY } from '../models/contract.js';
import type { SmoothSpec } from '../temporal/index.js';
import { tensor } from '../torch/index.js';
import type { EvalResult } from './callback.js';
import { evaluate, type EvalNet } from './evaluate.js';
import { readRunConfig, runDirOf, type RunConfig } from './run-dir.js';

/** Bad evaluation input (labels that do not fit the data, bad class weights); the CLI shows it as a usage error. */
export class EvalInputError extends Error {
  override name = 'EvalInputError';
}

export interface CheckpointEvalOptions {
  data: string;
  format?: DatasetFormat;
  /** camvid: split name; folder: images/SPLIT or a list file; ignored for camseq01 (default val). */
  split?: string;
  void?: 'class' | 'ignore';
  height?: number;
  width?: number;
  batchSize: number;
  workers: number;
  /** 'auto' (the training run's weights, if the checkpoint sits in a run), 'none', or comma-separated numbers. */
  classWeights: string;
  /** input scales and flip (evaluate()'s options): resolution or test-time augmentation; default scales: defaultEvalScales */
  scales?: number[];
  flip?: boolean;
  /** the split is video: frames in name order, flicker and consistency (evaluate's `sequence`), optionally smoothed */
  sequence?: { smooth?: SmoothSpec | null };
  onBatch?: (done: number, total: number) => void;
}

export interface CheckpointEval {
  ev: EvalResult;
  spec: DatasetSpec;
  split: string;
  weights: number[] | null;
  /** the input scales evaluated at (given, or defaultEvalScales) */
  scales: number[];
}

/** The config.json of the training run a checkpoint sits in (RUN/checkpoints/NAME/), or null. */
function runConfigOf(checkpoint: string): RunConfig | null {
  const run = runDirOf(checkpoint);
  return run ? readRunConfig(run) : null;
}

/** Class weights for the eval loss: explicit numbers, none, or (auto) those of the run the checkpoint came from. */
export function evalWeights(spec: string, checkpoint: string, numClasses: number): number[] | null {
  if (spec === 'none') return null;
  if (spec === 'auto') {
    const w = runConfigOf(checkpoint)?.resolved.classWeightValues;
    return w && w.length === numClasses ? w : null;
  }
  const w = spec.split(',').map(Number);
  if (w.length !== numClasses || !w.every((x) => Number.isFinite(x) && x >= 0)) {
    throw new EvalInputError(`--class-weights ${spec}: expected auto, none or ${numClasses} non-negative numbers`);
  }
  return w;
}

/**
 * The input scales a checkpoint is evaluated at by default: its config.json's streetseg_eval_scales, else
 * the evalScales of the run it sits in (runs made before the key existed), else [1].
 */
export function defaultEvalScales(ckpt: Checkpoint): number[] {
  const own = [...ckpt.evalScales];
  if (ckpt.config[EVAL_SCALES_KEY] !== undefined) return own;
  return runConfigOf(ckpt.dir)?.evalScales ?? own;
}

/** The dataset's sample indices ordered by sample id (frame name): a video split's frames in time order. */
export function framesInNameOrder(spec: DatasetSpec): number[] {
  const ids = spec.samples.map((s) => s.id);
  return ids.map((_, i) => i).sort((a, b) => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : a - b));
}

/**
 * The split `o` names, opened with the label set of a checkpoint that predicts `labels` (Void as a class when
 * the labels have one); labels that do not fit the data are an EvalInputError.
 */
export function openCheckpointSplit(labels: readonly string[], checkpoint: string, o: Pick<CheckpointEvalOptions, 'data' | 'format' | 'split' | 'void'>): { spec: DatasetSpec; split: string } {
  const split = o.split ?? 'val';
  const voidMode = o.void ?? (labels.some((l) => /^void$/i.test(l)) ? 'class' : 'ignore');
  const openOpts: OpenOptions = { void: voidMode, ...(o.format ? { format: o.format } : {}) };
  // One open, of the split asked for (CamSeq01 has none and ignores it): opening the default split first
  // would fail on a folder that holds only the one evaluated (e.g. CamVid's test/ alone).
  const spec = openDataset(o.data, { ...openOpts, split });
  if (spec.classes.names.length !== labels.length) {
    throw new EvalInputError(`${checkpoint} predicts ${labels.length} classes (${labels.join(', ')}) but ${spec.root} has ${spec.classes.names.length} (${spec.classes.names.join(', ')}); try --void ${voidMode === 'class' ? 'ignore' : 'class'}`);
  }
  return { spec, split };
}

/** Evaluates `net` (the checkpoint's model in libtorch, or its ONNX export in onnxruntime) on `o.data`/`o.split`. */
export async function evaluateCheckpoint(net: EvalNet, ckpt: Checkpoint, o: CheckpointEvalOptions): Promise<CheckpointEval> {
  const labels = ckpt.labels;
  const { spec, split } = openCheckpointSplit(labels, ckpt.dir, o);
  const weights = evalWeights(o.classWeights, ckpt.dir, labels.length);
  const loader = new DataLoader({
    dataset: spec,
    batchSize: o.batchSize,
    workers: o.workers,
    augment: 'none',
    ...(o.height && o.width ? { height: o.height, width: o.width } : {}),
    ...(o.sequence ? { indices: framesInNameOrder(spec) } : {}),
  });
  const weightT = weights ? tensor(weights, [weights.length]) : null;
  try {
    const scales = o.scales ?? defaultEvalScales(ckpt);
    const ev = await evaluate(net, loader, {
      numClasses: labels.length,
      ignoreIndex: spec.classes.ignoreIndex,
      weight: weightT,
      scales,
      flip: !!o.flip,
      ...(o.sequence ? { sequence: o.sequence } : {}),
      ...(o.onBatch ? { onBatch: o.onBatch } : {}),
    });
    return { ev, spec, split, weights, scales };
  } finally {
    weightT?.dispose();
    await loader.close();
  }
}
