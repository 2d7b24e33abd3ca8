// The training configuration: one table of settings, from which come the zod schema (config files),
// the command-line flags (`streetseg train --batch-size 8`) and the help text. A setting is therefore
// always both a config key (camelCase) and a flag (kebab-case); nothing is threaded by hand.
//
// Precedence: built-in defaults < preset < config file (JSON or YAML) < flags. Unknown keys and bad
// values are errors naming the source, the key, the value and what is allowed, with the nearest key
// suggested for a typo.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { WEIGHT_METHODS } from '../data/stats.js';
import { PRESET_NAMES } from '../data/augment/index.js';
import { closest } from '../util/suggest.js';

const int = (min: number) => z.number().int().min(min);
const pos = z.number().positive();
const nonneg = z.number().min(0);
const unit = z.number().min(0).max(1);

/** Every setting: its schema, default and help. Keys are config keys; flags are their kebab-case. */
export const SETTINGS = {
  // model
  model: { schema: z.string().min(1), default: 'segformer-b0', help: 'a model name from scratch (segformer-b0…b5 or b0…b5, mobilenet-v2, mobilevit-xxs/xs/s), or an HF checkpoint directory or Hub repo id ORG/NAME to fine-tune' },
  revision: { schema: z.string(), default: '', help: 'with --model a Hub repo id: its branch, tag or commit (empty = main)' },
  modelConfig: { schema: z.record(z.string(), z.unknown()), default: {}, help: 'JSON object of HF config overrides, e.g. {"drop_path_rate":0.1}' },
  // data
  data: { schema: z.string(), default: '', help: 'dataset folder (camseq01, camvid/SegNet or images/+masks/ layout)' },
  format: { schema: z.enum(['auto', 'camseq01', 'camvid', 'folder']), default: 'auto', help: 'dataset layout' },
  trainSplit: { schema: z.string(), default: '', help: 'train split: a split name (camvid: train) or a list file; empty = random split' },
  valSplit: { schema: z.string(), default: '', help: 'val split: a split name (camvid: val) or a list file; empty = random split' },
  valFraction: { schema: unit, default: 0.2, help: 'validation share of a random split' },
  splitSeed: { schema: int(0), default: 42, help: 'seed of the random split' },
  void: { schema: z.enum(['class', 'ignore']), default: 'ignore', help: 'Void as a class or ignored' },
  height: { schema: int(8), default: 360, help: 'training and evaluation image height' },
  width: { schema: int(8), default: 480, help: 'training and evaluation image width' },
  evalHeight: { schema: int(0), default: 0, help: 'evaluation frame and label height (0 = height)' },
  evalWidth: { schema: int(0), default: 0, help: 'evaluation frame and label width (0 = width)' },
  evalScales: { schema: z.array(pos).min(1), default: [1], help: 'evaluation input scales relative to the evaluation size, comma-separated; logits are upsampled to the label size. One scale is inference at that resolution; several (or --eval-flip) are test-time augmentation' },
  evalFlip: { schema: z.boolean(), default: false, help: 'test-time augmentation: also evaluate the mirrored input and average the probabilities' },
  evalSequence: { schema: z.boolean(), default: false, help: "the val split is video: evaluate its frames in name order and add flicker and consistency of consecutive frames (the report draws flicker per frame pair)" },
  cacheFrames: { schema: z.boolean(), default: true, help: 'keep decoded frames in memory after their first use' },
  // loop
  batchSize: { schema: int(1), default: 8, help: 'training batch size' },
  evalBatchSize: { schema: int(1), default: 8, help: 'evaluation batch size' },
  epochs: { schema: int(1), default: 20, help: 'epochs' },
  maxSteps: { schema: int(0), default: 0, help: 'stop after this many optimizer steps (0 = no limit)' },
  dropLast: { schema: z.boolean(), default: true, help: 'drop the incomplete last training batch' },
  clipGradNorm: { schema: nonneg, default: 0, help: 'clip the global gradient norm (0 = off)' },
  // optimizer
  optimizer: { schema: z.enum(['adam', 'adamw']), default: 'adamw', help: 'optimizer' },
  lr: { schema: pos, default: 6e-4, help: 'peak learning rate' },
  beta1: { schema: unit, default: 0.9, help: 'Adam beta1' },
  beta2: { schema: unit, default: 0.999, help: 'Adam beta2' },
  eps: { schema: pos, default: 1e-8, help: 'Adam eps' },
  weightDecay: { schema: nonneg, default: 0.01, help: 'weight decay (decoupled for adamw)' },
  headLrMult: { schema: pos, default: 1, help: 'learning-rate multiplier of the decode head' },
  // schedule
  schedule: { schema: z.enum(['constant', 'poly', 'cosine']), default: 'poly', help: 'learning-rate schedule' },
  warmupIters: { schema: int(0), default: 100, help: 'linear warmup iterations' },
  polyPower: { schema: pos, default: 1, help: 'poly schedule power' },
  minLrFactor: { schema: unit, default: 0, help: 'cosine floor as a fraction of the peak lr' },
  // loss
  loss: { schema: z.enum(['ce', 'focal']), default: 'ce', help: 'cross-entropy or focal loss' },
  classWeights: { schema: z.enum(['none', ...WEIGHT_METHODS]), default: 'invfreq', help: 'class weights computed on the train split' },
  focalGamma: { schema: nonneg, default: 2, help: 'focal loss gamma' },
  ignoreIndex: { schema: int(0), default: 255, help: 'label value left out of loss and metrics' },
  labelSmoothing: { schema: unit, default: 0, help: 'label smoothing' },
  // data pipeline
  augment: { schema: z.enum(PRESET_NAMES), default: 'camvid-scratch', help: 'augmentation preset' },
  workers: { schema: int(0), default: 1, help: 'loader worker threads (0 = main thread)' },
  prefetch: { schema: int(1), default: 2, help: 'batches prepared ahead' },
  seed: { schema: int(0), default: 0, help: 'seed of init, dropout, drop-path, shuffling and augmentation' },
  threads: { schema: int(0), default: 0, help: 'libtorch threads (0 = all cores, divided among the local processes of a data-parallel run)' },
  matmulPrecision: { schema: z.enum(['highest', 'bf16', 'auto']), default: 'highest', help: 'matrix products (linear, matmul, bmm) in float32, with bfloat16 inputs through oneDNN (bf16), or bf16 where the CPU has AVX512-BF16 or AMX (auto); convolutions stay float32' },
  // data-parallel (docs/distributed.md)
  nproc: { schema: int(1), default: 1, help: 'local data-parallel worker processes (Gloo over 127.0.0.1); batchSize is per process' },
  syncBn: { schema: z.boolean(), default: false, help: 'synchronise BatchNorm batch statistics across processes (else each normalises with its own batch)' },
  distTimeout: { schema: int(1), default: 300, help: 'seconds a collective may wait for the other processes before failing' },
  // validation, early stopping, checkpoints, logging
  evalEvery: { schema: int(1), default: 4, help: 'evaluate every N epochs (and after the last)' },
  monitor: { schema: z.enum(['val_loss', 'val_miou', 'val_macc', 'val_aacc']), default: 'val_miou', help: 'metric for best checkpoints and early stopping' },
  mode: { schema: z.enum(['min', 'max']), default: 'max', help: 'whether the monitored metric should go down or up' },
  patience: { schema: int(0), default: 0, help: 'early stopping: evaluations without improvement (0 = off)' },
  minDelta: { schema: nonneg, default: 0, help: 'early stopping: smallest change that counts as improvement' },
  saveTopK: { schema: int(0), default: 1, help: 'best checkpoints kept (by the monitored metric)' },
  saveEverySteps: { schema: int(0), default: 0, help: 'also save checkpoints/last every N steps (0 = at epoch ends only)' },
  tensorboard: { schema: z.boolean(), default: true, help: 'write TensorBoard event files' },
  reportSamples: { schema: int(0), default: 6, help: 'sample predictions in the report' },
  reportWorst: { schema: int(0), default: 6, help: 'worst images (by per-image mIoU) in the report' },
  progress: { schema: z.enum(['auto', 'bar', 'log', 'none']), default: 'auto', help: 'live bar on a TTY, log lines otherwise' },
} as const;

type Settings = typeof SETTINGS;
export type SettingKey = keyof Settings;
export type TrainConfig = { -readonly [K in SettingKey]: z.infer<Settings[K]['schema']> };

export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

export const configSchema = z.strictObject(Object.fromEntries(SETTING_KEYS.map((k) => [k, SETTINGS[k].schema])) as { [K in SettingKey]: Settings[K]['schema'] });
const partialSchema = configSchema.partial();

export const flagName = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function defaults(): TrainConfig {
  return Object.fromEntries(SETTING_KEYS.map((k) => [k, structuredClone(SETTINGS[k].default)])) as TrainConfig;
}

/** Validates a partial config from `source` (a file name, "preset X" or "flags"); errors name key, value and rule. */
export function validatePartial(raw: unknown, source: string, asFlags = false): Partial<TrainConfig> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${source}: expected an object of settings, got ${JSON.stringify(raw)}`);
  const r = partialSchema.safeParse(raw);
  if (r.success) return r.data as Partial<TrainConfig>;
  const name = (k: string): string => (asFlags ? `--${flagName(k)}` : k);
  const msgs = r.error.issues.map((iss) => {
    if (iss.code === 'unrecognized_keys') {
      return iss.keys
        .map((k) => {
          const near = closest(asFlags ? flagName(k) : k, SETTING_KEYS.map((s) => (asFlags ? flagName(s) : s)));
          return `unknown setting ${asFlags ? `--${flagName(k)}` : `'${k}'`}${near ? ` (did you mean ${asFlags ? `--${near}` : `'${near}'`}?)` : ''}`;
        })
        .join('; ');
    }
    // a flag is named with the whole value given; a file's key with the place in it (evalScales.1)
    return issueText(asFlags ? { ...iss, path: iss.path.slice(0, 1) } : iss, raw, name);
  });
  throw new ConfigError(`${source}: ${msgs.join('; ')}`);
}

/**
 * One zod issue as "KEY VALUE: expected …", KEY the issue's dotted path (as `name` spells it) and VALUE
 * the offending value read from `raw`, for errors that also name the file.
 */
export function issueText(iss: z.core.$ZodIssue, raw: unknown, name: (key: string) => string = (k) => k): string {
  const at = (k: string): string => name([...iss.path.map(String), k].filter((p) => p !== '').join('.'));
  if (iss.code === 'unrecognized_keys') return iss.keys.map((k) => `unknown key '${at(k)}'`).join('; ');
  const value = iss.path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), raw);
  return value === undefined ? `${at('')} is missing (${describeIssue(iss)})` : `${at('')} ${JSON.stringify(value)}: ${describeIssue(iss)}`;
}

function describeIssue(iss: z.core.$ZodIssue): string {
  switch (iss.code) {
    case 'invalid_value':
      return `expected one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      if (iss.origin === 'string') return 'expected a non-empty string';
      if (iss.origin === 'array') return `expected at least ${String(iss.minimum)} value${Number(iss.minimum) === 1 ? '' : 's'}`;
      return `expected a value ${iss.inclusive === false ? '>' : '>='} ${String(iss.minimum)}`;
    case 'too_big':
      return `expected a value ${iss.inclusive === false ? '<' : '<='} ${String(iss.maximum)}`;
    case 'invalid_type':
      return `expected ${iss.expected === 'int' ? 'an integer' : `${/^[aeiou]/.test(iss.expected) ? 'an' : 'a'} ${iss.expected}`}`;
    default:
      return iss.message;
  }
}

/** Reads a JSON or YAML config file. A run directory's resolved config.json is accepted too. */
export function readConfigFile(file: string): Partial<TrainConfig> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read the config file (${(e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'} (${(e as Error).message})`);
  }
  if (raw && typeof raw === 'object' && 'train' in raw && typeof (raw as { train: unknown }).train === 'object') raw = (raw as { train: unknown }).train;
  if (raw && typeof raw === 'object' && 'resolved' in raw) {
    // a run directory's config.json: its `resolved` block (run-dir.ts) is what the settings became, not a setting
    const { resolved: _, ...settings } = raw as Record<string, unknown>;
    raw = settings;
  }
  return validatePartial(raw, path.resolve(file));
}

/** Parses a flag's string value into the type its setting expects (numbers, booleans, JSON objects). */
export function coerceFlag(key: SettingKey, value: string | boolean): unknown {
  const d = SETTINGS[key].default;
  if (typeof value === 'boolean') return value;
  if (typeof d === 'number') {
    const n = Number(value);
    return value.trim() !== '' && Number.isFinite(n) ? n : value;
  }
  if (typeof d === 'boolean') return !['false', '0', 'no'].includes(value);
  if (Array.isArray(d)) {
    const xs = value.split(',').map((v) => Number(v.trim()));
    if (xs.some((x) => !Number.isFinite(x))) throw new ConfigError(`flags: --${flagName(key)} ${value}: expected comma-separated numbers`);
    return xs;
  }
  if (typeof d === 'object') {
    try {
      return JSON.parse(value);
    } catch {
      throw new ConfigError(`flags: --${flagName(key)} ${value}: expected a JSON object`);
    }
  }
  return value;
}

/** Merges layers over the defaults and checks the whole (cross-field rules included). */
export function resolveConfig(...layers: Partial<TrainConfig>[]): TrainConfig {
  const cfg = defaults();
  for (const l of layers) for (const [k, v] of Object.entries(l)) if (v !== undefined) (cfg as Record<string, unknown>)[k] = v;
  const r = configSchema.safeParse(cfg);
  if (!r.success) throw new ConfigError(`config: ${r.error.issues.map((i) => `${String(i.path[0])}: ${describeIssue(i)}`).join('; ')}`);
  if (!cfg.data) throw new ConfigError('config: data is missing (give --data DIR, a preset with a dataset, or data in the config file)');
  if ((cfg.evalHeight === 0) !== (cfg.evalWidth === 0)) throw new ConfigError(`config: evalHeight ${cfg.evalHeight} / evalWidth ${cfg.evalWidth}: give both or neither (0 = the training size)`);
  if (cfg.beta1 >= 1 || cfg.beta2 >= 1) throw new ConfigError(`config: beta1 ${cfg.beta1} / beta2 ${cfg.beta2}: expected values < 1`);
  return cfg;
}
