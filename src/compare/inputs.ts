// What `compare` is given, resolved: a training run directory (its best checkpoint, and what it was trained
// with, from config.json and metrics.csv) or an HF checkpoint directory of any registered family, named
// family-variant when its architecture fields are a known variant's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BaseSegConfig } from '../models/contract.js';
import { readConfig } from '../models/hf.js';
import { getFamily } from '../models/registry.js';
import { readMetricsCsv } from '../train/callbacks/csv-logger.js';
import { findCheckpoint } from '../train/checkpoint.js';
import { PRESETS } from '../train/presets.js';
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

const BEST = /^best-epoch=(\d+)-([A-Za-z_]+)=(-?[0-9.]+(?:e-?[0-9]+)?)$/;

/** The run's best checkpoint by its monitored value (the trainer keeps top-k as best-epoch=E-<metric>=V), else last. */
function runCheckpoint(runDir: string, mode: 'min' | 'max'): { dir: string; note: string } {
  const parent = path.join(runDir, 'checkpoints');
  const names = fs.existsSync(parent) ? fs.readdirSync(parent).filter((n) => BEST.test(n)) : [];
  const ranked = names
    .map((n) => ({ n, v: Number(BEST.exec(n)![3]) }))
    .sort((a, b) => (mode === 'max' ? b.v - a.v : a.v - b.v));
  for (const { n } of ranked) {
    const dir = findCheckpoint(parent, n);
    if (dir) return { dir, note: `best checkpoint ${n} (by ${BEST.exec(n)![2]}, ${mode})` };
  }
  const last = findCheckpoint(parent, 'last');
  if (last) return { dir: last, note: `checkpoint last (the run has no complete best-* checkpoint)` };
  throw new CompareInputError(`${runDir}: a run directory without a complete checkpoint (expected checkpoints/best-epoch=…/ or checkpoints/last/ with trainer_state.json)`);
}

function readJson(file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file}: expected a JSON object`);
  return v as Record<string, unknown>;
}

function trainingSummary(runDir: string, cfg: Record<string, unknown>): TrainingSummary {
  const csv = path.join(runDir, 'metrics.csv');
  const last = fs.existsSync(csv) ? (readMetricsCsv(csv).at(-1) ?? null) : null;
  const resolved = (cfg.resolved ?? {}) as { trainImages?: number };
  return {
    runDir,
    recipe: matchRecipe(cfg),
    model: String(cfg.model),
    data: String(cfg.data),
    height: Number(cfg.height),
    width: Number(cfg.width),
    batchSize: Number(cfg.batchSize),
    epochsPlanned: Number(cfg.epochs),
    epochsDone: last?.epoch ?? 0,
    stepsDone: last?.step ?? 0,
    seconds: last?.seconds ?? null,
    trainImages: typeof resolved.trainImages === 'number' ? resolved.trainImages : null,
    eval: {
      height: Number(cfg.evalHeight ?? 0),
      width: Number(cfg.evalWidth ?? 0),
      scales: Array.isArray(cfg.evalScales) ? cfg.evalScales.map(Number) : [1],
      flip: cfg.evalFlip === true,
    },
  };
}

/** Resolves one command-line input; errors name the path and what was expected there. */
export function resolveInput(input: string): CompareInput {
  const dir = path.resolve(input);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new CompareInputError(`${input}: not a directory (expected a training run directory or an HF checkpoint directory)`);
  const cfgFile = path.join(dir, 'config.json');
  if (!fs.existsSync(cfgFile)) throw new CompareInputError(`${input}: no config.json (expected a training run directory or an HF checkpoint directory)`);
  const raw = readJson(cfgFile);
  let kind: CompareInput['kind'];
  let checkpoint: string;
  let note = '';
  let training: TrainingSummary | null = null;
  if (raw.model_type === undefined && fs.existsSync(path.join(dir, 'checkpoints'))) {
    kind = 'run';
    const c = runCheckpoint(dir, raw.mode === 'min' ? 'min' : 'max');
    checkpoint = c.dir;
    note = c.note;
    training = trainingSummary(dir, raw);
  } else {
    kind = 'checkpoint';
    checkpoint = dir;
  }
  const cfg = readConfig(checkpoint);
  const variant = identifyVariant(cfg);
  return { input, kind, checkpoint, note, name: variantName(cfg.model_type, variant), modelType: cfg.model_type, variant, training };
}
