// Turns a resolved TrainConfig into the things the loop runs: datasets and loaders, class weights, the
// model (from scratch or from an HF checkpoint) and the optimizer with its schedule.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataLoader } from '../data/loader.js';
import { camvidSplits } from '../data/camvid.js';
import { openDataset, type OpenOptions } from '../data/dataset.js';
import { readSplitList, splitDataset } from '../data/split.js';
import { classWeights, computeStats, type WeightMethod } from '../data/stats.js';
import type { DatasetSpec } from '../data/types.js';
import { createModel, type SegmentationModel } from '../models/index.js';
import { loadPretrained } from '../models/hf.js';
import { setEvalScales } from '../models/contract.js';
import { Adam, AdamW, makeSchedule, type LrSchedule, type Tensor } from '../torch/index.js';
import { ConfigError, type TrainConfig } from './config.js';
import { framesInNameOrder } from './eval-checkpoint.js';
import { DistributedSampler } from './distributed/sampler.js';

export interface DataSetup {
  train: DatasetSpec;
  val: DatasetSpec;
  classes: string[];
  palette: [number, number, number][];
  ignoreIndex: number;
}

function pickSplit(root: string, spec: DatasetSpec, split: string, openOpts: OpenOptions, which: string): DatasetSpec {
  const asFile = path.resolve(split);
  if (fs.existsSync(asFile) && fs.statSync(asFile).isFile()) {
    // A list file may name frames of any split: look them up among all of them.
    const all = spec.format === 'camvid' ? { ...spec, samples: camvidSplits(spec.root).flatMap((s) => openDataset(root, { ...openOpts, split: s }).samples) } : spec;
    return readSplitList(asFile, all);
  }
  if (spec.format === 'camseq01') throw new ConfigError(`${which} ${JSON.stringify(split)}: CamSeq01 has no named splits; give a list file or leave it empty for a random split`);
  return openDataset(root, { ...openOpts, split });
}

/** Opens the dataset and its train/val sides (named splits, list files, or a seeded random split). */
export function setupData(cfg: TrainConfig): DataSetup {
  const openOpts: OpenOptions = { void: cfg.void, ignoreIndex: cfg.ignoreIndex, ...(cfg.format !== 'auto' ? { format: cfg.format } : {}) };
  const base = openDataset(cfg.data, openOpts);
  let train: DatasetSpec;
  let val: DatasetSpec;
  if (cfg.trainSplit || cfg.valSplit) {
    if (!cfg.trainSplit || !cfg.valSplit) throw new ConfigError('config: give both trainSplit and valSplit, or neither (random split)');
    train = pickSplit(cfg.data, base, cfg.trainSplit, openOpts, 'trainSplit');
    val = pickSplit(cfg.data, base, cfg.valSplit, openOpts, 'valSplit');
  } else {
    ({ train, val } = splitDataset(base, { valFraction: cfg.valFraction, seed: cfg.splitSeed }));
  }
  if (train.samples.length < cfg.batchSize && cfg.dropLast) {
    throw new ConfigError(`${cfg.data}: the train split has ${train.samples.length} images, fewer than batchSize ${cfg.batchSize} with dropLast`);
  }
  if (val.samples.length === 0) throw new ConfigError(`${cfg.data}: the validation split is empty`);
  const c = base.classes;
  return { train, val, classes: c.names.slice(), palette: c.palette.map((p) => [p[0], p[1], p[2]] as [number, number, number]), ignoreIndex: c.ignoreIndex };
}

/** Per-class loss weights from the train split's labels as stored (before augmentation); null for 'none'. */
export async function setupClassWeights(cfg: TrainConfig, data: DataSetup): Promise<number[] | null> {
  if (cfg.classWeights === 'none') return null;
  const stats = await computeStats(data.train, { checkImages: false });
  return classWeights(stats, cfg.classWeights as WeightMethod);
}

/**
 * The train and val loaders. In a data-parallel group (`shard`), each rank's loaders iterate its shard:
 * DistributedSampler semantics for training (padded by wrapping, or cut with dropLast), and r::W of the
 * val split without padding (its sums are added across ranks, so no image may count twice).
 */
export function makeLoaders(cfg: TrainConfig, data: DataSetup, shard?: { rank: number; worldSize: number }): { train: DataLoader; val: DataLoader } {
  const common = { height: cfg.height, width: cfg.width, workers: cfg.workers, prefetch: cfg.prefetch, cache: cfg.cacheFrames, seed: cfg.seed };
  const train = { ...common, dataset: data.train, batchSize: cfg.batchSize, dropLast: cfg.dropLast, augment: cfg.augment };
  const val = { ...common, ...(cfg.evalHeight ? { height: cfg.evalHeight, width: cfg.evalWidth } : {}), dataset: data.val, batchSize: cfg.evalBatchSize, dropLast: false, augment: 'none' };
  if (!shard) return { train: new DataLoader({ ...train, shuffle: true }), val: new DataLoader({ ...val, shuffle: false, ...(cfg.evalSequence ? { indices: framesInNameOrder(data.val) } : {}) }) };
  if (cfg.evalSequence) throw new ConfigError(`evalSequence: a video's consecutive frames must be evaluated in one process, but nproc is ${shard.worldSize}; train with nproc 1, or evaluate the checkpoints with 'streetseg eval --sequence'`);
  const s = { rank: shard.rank, worldSize: shard.worldSize, seed: cfg.seed };
  return {
    train: new DataLoader({ ...train, sampler: new DistributedSampler({ ...s, size: data.train.samples.length, shuffle: true, dropLast: cfg.dropLast }) }),
    val: new DataLoader({ ...val, sampler: new DistributedSampler({ ...s, size: data.val.samples.length, shuffle: false, exact: true }) }),
  };
}

/**
 * The model: a registered architecture from scratch, or an HF checkpoint directory (fine-tuning; `dir`
 * when cfg.model was resolved elsewhere, e.g. a Hub snapshot). Its config records the run's evaluation
 * scales, so that its checkpoints are evaluated the same way later.
 */
export function setupModel(cfg: TrainConfig, classes: string[], log: (l: string) => void, dir?: string): SegmentationModel {
  const model = loadOrCreateModel(cfg, classes, log, dir);
  setEvalScales(model.config, cfg.evalScales);
  return model;
}

function loadOrCreateModel(cfg: TrainConfig, classes: string[], log: (l: string) => void, dir?: string): SegmentationModel {
  const asDir = path.resolve(dir ?? cfg.model);
  if (fs.existsSync(asDir) && fs.statSync(asDir).isDirectory()) {
    const { model, initialised } = loadPretrained(asDir, { labels: classes, log });
    if (initialised.length) log(`model: ${initialised.length} tensors initialised (not in ${asDir})`);
    return model;
  }
  if (/[\\/]/.test(cfg.model)) throw new ConfigError(`model ${JSON.stringify(cfg.model)}: no such checkpoint directory`);
  return createModel(cfg.model, classes, { ...cfg.modelConfig, semantic_loss_ignore_index: cfg.ignoreIndex });
}

/** Adam or AdamW over two groups (encoder, decode head × headLrMult), and the lr schedule. */
export function setupOptimizer(cfg: TrainConfig, model: SegmentationModel, totalSteps: number): { optimizer: Adam; schedule: LrSchedule } {
  const head: Tensor[] = [];
  const body: Tensor[] = [];
  for (const [name, p] of model.namedParameters()) (name.startsWith(`${model.headPrefix}.`) ? head : body).push(p);
  const groups = [{ params: body, lr: cfg.lr }, ...(head.length ? [{ params: head, lr: cfg.lr * cfg.headLrMult }] : [])];
  const o = { lr: cfg.lr, betas: [cfg.beta1, cfg.beta2] as [number, number], eps: cfg.eps, weightDecay: cfg.weightDecay };
  const optimizer = cfg.optimizer === 'adamw' ? new AdamW(groups, o) : new Adam(groups, o);
  const schedule = makeSchedule({ kind: cfg.schedule, total: totalSteps, warmup: cfg.warmupIters, power: cfg.polyPower, minFactor: cfg.minLrFactor });
  return { optimizer, schedule };
}
