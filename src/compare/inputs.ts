// What `compare` is given, resolved: a training run directory (its best checkpoint, and what it was trained
// with, from config.json and metrics.csv) or an HF checkpoint directory of any registered family, named
// family-variant when its architecture fields are a known variant's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BaseSegConfig } from '../models/contract.js';
import { readConfig } from '../models/hf.js';
import { getFamily } from '../models/registry.js';
import { PRESETS } from '../train/presets.js';
import { isRunDir, readMetricsCsv, readRunConfig, runCheckpoint, runPaths, type RunConfig } from '../train/run-dir.js';
import { CompareInputError } from './errors.js';

/** What a run was trained with and for how long (the table's "trained" column). */
export interface TrainingSummary {
  runDir: string;
  /** The preset whose recipe every setting matches (model, data and epochs aside), or null. */
  recipe: string | null;
  /** The run's --model. */
  model: string;
  data: string;
  height: number;
  width: number;
  batchSize: number;
  epochsPlanned: number;
  /** From metrics.csv's last row (0 when it has none). */
  epochsDone: number;
  stepsDone: number;
  /** Training wall time so far, s (metrics.csv's cumulative seconds), or null. */
  seconds: number | null;
  trainImages: number | null;
  /**
   * How the run evaluated itself (evalHeight/evalWidth, evalScales, evalFlip; defaults for runs made
   * before these settings): compare scores and times a run the same way.
   */
  eval: { height: number; width: number; scales: number[]; flip: boolean };
}

export interface CompareInput {
  /** As given on the command line. */
  input: string;
  kind: 'run' | 'checkpoint';
  /** The checkpoint directory evaluated and timed (absolute). */
  checkpoint: string;
  /** Which checkpoint of a run, and why (empty for a checkpoint directory). */
  note: string;
  /** 'segformer-b0', 'mobilevit-xxs', or 'segformer-custom' when no variant matches. */
  name: string;
  modelType: string;
  variant: string | null;
  training: TrainingSummary | null;
}

/** Settings that say which model and data were trained and for how long, not how: not part of a recipe. */
const NOT_RECIPE = new Set(['model', 'modelConfig', 'data', 'epochs']);

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The variant whose architecture fields (dropout rates aside) all equal the config's, or null. */
export function identifyVariant(cfg: BaseSegConfig): string | null {
  const family = getFamily(cfg.model_type);
  const c = cfg as unknown as Record<string, unknown>;
  for (const [variant, fields] of Object.entries(family.variants)) {
    const keys = Object.keys(fields as object).filter((k) => !/dropout|drop_path/.test(k));
    if (keys.every((k) => same(c[k], (fields as Record<string, unknown>)[k]))) return variant;
  }
  return null;
}

/** The name users type for a family's variant: its alias if it has one ('mobilevit-xxs'), else family-variant. */
export function variantName(modelType: string, variant: string | null): string {
  if (variant === null) return `${modelType}-custom`;
  const alias = Object.entries(getFamily(modelType).aliases ?? {}).find(([, v]) => v === variant)?.[0];
  return alias ?? `${modelType}-${variant}`;
}

/** The preset every one of whose recipe settings equals the run's, or null. */
export function matchRecipe(cfg: Record<string, unknown>): string | null {
  for (const [name, p] of Object.entries(PRESETS)) {
    const settings = Object.entries(p.config()).filter(([k]) => !NOT_RECIPE.has(k));
    if (settings.every(([k, v]) => same(cfg[k], v))) return name;
  }
  return null;
}

function trainingSummary(runDir: string, cfg: RunConfig): TrainingSummary {
  const metrics = runPaths(runDir).metrics;
  const last = fs.existsSync(metrics) ? (readMetricsCsv(metrics, ['epoch', 'step', 'seconds']).at(-1) ?? null) : null;
  return {
    runDir,
    recipe: matchRecipe(cfg),
    model: cfg.model,
    data: cfg.data,
    height: cfg.height,
    width: cfg.width,
    batchSize: cfg.batchSize,
    epochsPlanned: cfg.epochs,
    epochsDone: last?.epoch ?? 0,
    stepsDone: last?.step ?? 0,
    seconds: last?.seconds ?? null,
    trainImages: cfg.resolved.trainImages,
    eval: { height: cfg.evalHeight, width: cfg.evalWidth, scales: cfg.evalScales, flip: cfg.evalFlip },
  };
}

/** Resolves one command-line input; errors name the path and what was expected there. */
export function resolveInput(input: string): CompareInput {
  const dir = path.resolve(input);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new CompareInputError(`${input}: not a directory (expected a training run directory or an HF checkpoint directory)`);
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new CompareInputError(`${input}: no config.json (expected a training run directory or an HF checkpoint directory)`);
  let kind: CompareInput['kind'];
  let checkpoint: string;
  let note = '';
  let training: TrainingSummary | null = null;
  if (isRunDir(dir)) {
    kind = 'run';
    const run = readRunConfig(dir);
    const c = runCheckpoint(dir);
    if (!c) throw new CompareInputError(`${dir}: a run directory without a complete checkpoint (expected checkpoints/best-epoch=…/ or checkpoints/last/ with trainer_state.json)`);
    checkpoint = c.dir;
    note = c.note;
    training = trainingSummary(dir, run);
  } else {
    kind = 'checkpoint';
    checkpoint = dir;
  }
  const cfg = readConfig(checkpoint);
  const variant = identifyVariant(cfg);
  return { input, kind, checkpoint, note, name: variantName(cfg.model_type, variant), modelType: cfg.model_type, variant, training };
}
