// The run directory `streetseg train` writes, and the one reader of it (resume, eval, compare, the zoo card):
//
//   config.json                          every setting, and `resolved`: what they became (classes, class
//                                        weights, image counts, host), validated on read
//   metrics.csv                          one row per epoch (callbacks/csv-logger.ts writes it)
//   checkpoints/last/                    the loop's position and every callback's state (checkpoint.ts)
//   checkpoints/best-epoch=E-METRIC=V/   ModelCheckpoint's top-k, named by bestCheckpointName
//   report/, tensorboard/
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../util/fs.js';
import { findCheckpoint, readTrainerStateJson, STATE_FILE, type TrainerState } from './checkpoint.js';
import { ConfigError, defaults, issueText, validatePartial, type TrainConfig } from './config.js';

/** A run directory that cannot be read: the message names the file, the key or row, the value and what was expected. */
export class RunDirError extends Error {
  override name = 'RunDirError';
}

export interface RunPaths {
  config: string;
  metrics: string;
  checkpoints: string;
  report: string;
  tensorboard: string;
}

export function runPaths(runDir: string): RunPaths {
  return {
    config: path.join(runDir, 'config.json'),
    metrics: path.join(runDir, 'metrics.csv'),
    checkpoints: path.join(runDir, 'checkpoints'),
    report: path.join(runDir, 'report'),
    tensorboard: path.join(runDir, 'tensorboard'),
  };
}

/** checkpoints/NAME of a run (whether or not it is there). */
export function checkpointPath(runDir: string, name: string): string {
  return path.join(runPaths(runDir).checkpoints, name);
}

// ---- config.json

const count = z.number().int().min(0);
const resolvedSchema = z.strictObject({
  classes: z.array(z.string()).min(1),
  classWeightValues: z.array(z.number().min(0)).nullable(),
  trainImages: count,
  valImages: count,
  host: z.string(),
  node: z.string(),
  /** what cfg.matmulPrecision came to on the machine that started the run */
  matmulPrecision: z.enum(['highest', 'bf16']).optional(),
  /** cfg.model was a Hub repo id: the snapshot trained from */
  pretrained: z.strictObject({ repo: z.string(), revision: z.string(), commit: z.string() }).optional(),
  /** data-parallel runs: the group that trained */
  worldSize: z.number().int().min(1).optional(),
  backend: z.string().optional(),
});

export type RunResolved = z.infer<typeof resolvedSchema>;
/** A run's config.json: every setting (defaults for those added after the run was made) and `resolved`. */
export type RunConfig = TrainConfig & { resolved: RunResolved };

export function writeRunConfig(runDir: string, cfg: TrainConfig, resolved: RunResolved): void {
  writeJsonAtomic(runPaths(runDir).config, { ...cfg, resolved });
}

/** Names a key below `prefix` in errors (the whole value when the key is ''). */
const under = (prefix: string) => (k: string): string => (k ? `${prefix}.${k}` : prefix);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Reads and checks a run's config.json. */
export function readRunConfig(runDir: string): RunConfig {
  const file = runPaths(runDir).config;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const why = fs.existsSync(file) ? `not valid JSON (${(e as Error).message})` : 'missing (expected the config.json streetseg train writes into a run directory)';
    throw new RunDirError(`${file}: ${why}`);
  }
  if (!isObject(raw)) throw new RunDirError(`${file}: expected a JSON object of settings and 'resolved', got ${JSON.stringify(raw)}`);
  const { resolved, ...settings } = raw;
  if (resolved === undefined) throw new RunDirError(`${file}: resolved is missing (expected a run directory's config.json, which records the classes, class weights and image counts there)`);
  const r = resolvedSchema.safeParse(resolved);
  if (!r.success) throw new RunDirError(`${file}: ${r.error.issues.map((i) => issueText(i, resolved, under('resolved'))).join('; ')}`);
  const w = r.data.classWeightValues;
  if (w && w.length !== r.data.classes.length) throw new RunDirError(`${file}: resolved.classWeightValues has ${w.length} values: expected one per class (${r.data.classes.length})`);
  let cfg: Partial<TrainConfig>;
  try {
    cfg = validatePartial(settings, file);
  } catch (e) {
    throw e instanceof ConfigError ? new RunDirError(e.message) : e;
  }
  return { ...defaults(), ...cfg, resolved: r.data };
}

/** Whether `dir` holds a training run: checkpoints/ beside a config.json that is not an HF model config. */
export function isRunDir(dir: string): boolean {
  const p = runPaths(dir);
  if (!fs.existsSync(p.config) || !fs.existsSync(p.checkpoints) || !fs.statSync(p.checkpoints).isDirectory()) return false;
  try {
    return !('model_type' in (JSON.parse(fs.readFileSync(p.config, 'utf8')) as object));
  } catch {
    return true; // unreadable: readRunConfig says why
  }
}

/** The run directory a checkpoint sits in (RUN/checkpoints/NAME/), or null for a checkpoint outside a run. */
export function runDirOf(checkpoint: string): string | null {
  const parent = path.dirname(path.resolve(checkpoint));
  if (path.basename(parent) !== 'checkpoints') return null;
  const run = path.dirname(parent);
  return isRunDir(run) ? run : null;
}

// ---- metrics.csv

/** A metrics.csv row: column → number, null for an empty cell (no evaluation that epoch). */
export type MetricsRow = Record<string, number | null>;

/**
 * Reads metrics.csv; errors name the file, the row, the column and the cell. `columns`: those the caller
 * reads, whose absence from the header is an error rather than undefined values.
 */
export function readMetricsCsv(file: string, columns: readonly string[] = []): MetricsRow[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new RunDirError(`${file}: cannot read the metrics (${(e as Error).message})`);
  }
  const lines = text.split(/\r?\n/);
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  const head = lines[0]?.split(',') ?? [];
  if (head.length === 0 || head.some((h) => h === '')) throw new RunDirError(`${file}: expected a header row of column names (epoch,step,…), got ${JSON.stringify(lines[0] ?? '')}`);
  const missing = columns.filter((c) => !head.includes(c));
  if (missing.length) throw new RunDirError(`${file}: no column ${missing.join(', ')} (expected it in the header; it has ${head.join(',')})`);
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    if (cells.length !== head.length) throw new RunDirError(`${file}: row ${i + 1} has ${cells.length} cells, the header ${head.length}`);
    return Object.fromEntries(
      head.map((h, j) => {
        const c = cells[j]!;
        const v = c.trim() === '' ? null : Number(c);
        if (Number.isNaN(v)) throw new RunDirError(`${file}: row ${i + 1}, column ${h}: ${JSON.stringify(c)}: expected a number or an empty cell`);
        return [h, v];
      }),
    );
  });
}

// ---- checkpoint names

export interface BestName {
  epoch: number;
  monitor: string;
  value: number;
}

/** The directory name of a best checkpoint: best-epoch=E-METRIC=V, V to 4 decimals. */
export function bestCheckpointName(epoch: number, monitor: string, value: number): string {
  return `best-epoch=${epoch}-${monitor}=${value.toFixed(4)}`;
}

const BEST = /^best-epoch=(\d+)-([A-Za-z_]+)=(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/;

/** bestCheckpointName read back, or null for any other name. */
export function parseBestCheckpointName(name: string): BestName | null {
  const m = BEST.exec(name);
  return m ? { epoch: Number(m[1]), monitor: m[2]!, value: Number(m[3]) } : null;
}

// ---- which checkpoint

/** ModelCheckpoint's entry in trainer_state.json's callbacks: the kept best checkpoints, best first. */
export const MODEL_CHECKPOINT_STATE = 'model_checkpoint';
export const keptSchema = z.array(z.strictObject({ name: z.string(), value: z.number(), epoch: z.number().int().min(1) }));
export type KeptCheckpoint = z.infer<typeof keptSchema>[number];

/** The run's complete checkpoints/last (or its moved-aside copy after a crash mid-swap), or null. */
export function lastCheckpoint(runDir: string): string | null {
  return findCheckpoint(runPaths(runDir).checkpoints, 'last');
}

export interface BestCheckpoint extends BestName {
  dir: string;
  name: string;
}

const later = (a: TrainerState['loop'], b: TrainerState['loop']): boolean => a.step > b.step || (a.step === b.step && a.epoch > b.epoch);

/**
 * The run's best checkpoint as ModelCheckpoint's saved state has it (best first; the first one complete on
 * disk), or null when it kept none. The state is that of the complete checkpoint saved furthest into the
 * loop (by step, then epoch): `last`, or a best one saved after it when the run was killed between the two
 * saves (a best checkpoint's state already lists itself). A best-* directory that state does not list is
 * not picked, whatever its name says.
 */
export function bestCheckpoint(runDir: string): BestCheckpoint | null {
  const parent = runPaths(runDir).checkpoints;
  if (!fs.existsSync(parent)) return null;
  const names = ['last', ...fs.readdirSync(parent).filter((n) => parseBestCheckpointName(n))];
  let latest: { dir: string; state: TrainerState } | null = null;
  for (const n of names) {
    const dir = findCheckpoint(parent, n);
    if (!dir) continue;
    const state = readTrainerStateJson(dir);
    if (!latest || later(state.loop, latest.state.loop)) latest = { dir, state };
  }
  const raw = latest?.state.callbacks[MODEL_CHECKPOINT_STATE];
  if (raw === undefined) return null; // trained without ModelCheckpoint
  const kept = keptSchema.safeParse(raw);
  if (!kept.success) {
    const file = path.join(latest!.dir, STATE_FILE);
    throw new RunDirError(`${file}: ${kept.error.issues.map((i) => issueText(i, raw, under(`callbacks.${MODEL_CHECKPOINT_STATE}`))).join('; ')}`);
  }
  for (const k of kept.data) {
    const dir = findCheckpoint(parent, k.name);
    const name = parseBestCheckpointName(k.name);
    if (dir && name) return { dir, name: k.name, ...name, value: k.value };
  }
  return null;
}

/**
 * The checkpoint a run directory stands for where a checkpoint is expected (predict, compare): its best
 * (bestCheckpoint), else its last; null when it has neither complete. `note` says which, for logs.
 */
export function runCheckpoint(runDir: string): { dir: string; note: string } | null {
  const best = bestCheckpoint(runDir);
  if (best) return { dir: best.dir, note: `best checkpoint ${best.name} (by ${best.monitor}, ${readRunConfig(runDir).mode})` };
  const last = lastCheckpoint(runDir);
  return last ? { dir: last, note: 'checkpoint last (the run has no complete best-* checkpoint)' } : null;
}
