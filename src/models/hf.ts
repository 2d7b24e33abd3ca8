// HuggingFace checkpoint directories, for any registered family: config.json (its model_type picks
// the family) + model.safetensors (or sharded: model.safetensors.index.json + its shards; or legacy
// pytorch_model.bin, whole or sharded). Loading accepts full checkpoints,
// foreign ones the family adapts (SegFormer: encoder-only nvidia/mit-b*), and a different label set
// (the classifier is re-initialised); anything else that does not fit is an error listing the keys.
// Saving writes what HF's from_pretrained loads unchanged.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dispose, loadTensors, noGrad, saveTensors, SHARD_INDEX_FILES, StateDictError } from '../torch/index.js';
import { readJsonObject, writeJsonAtomic } from '../util/fs.js';
import { labelMaps, lacksHead, type BaseSegConfig, type SegmentationModel } from './contract.js';
import type { Checkpoint } from './checkpoint.js';
import { getFamily } from './registry.js';
import './families.js';

export interface LoadOptions {
  /** Class names for the head; if they differ in number from the checkpoint's, the classifier is re-initialised. */
  labels?: string[];
  /** A specific weights file inside the directory (default: model.safetensors, else pytorch_model.bin). */
  weights?: string;
  /** Where log lines go (default console.error). */
  log?: (line: string) => void;
}

export interface LoadResult {
  model: SegmentationModel;
  /** What was initialised rather than loaded, for the run log. */
  initialised: string[];
  dropped: string[];
  weightsFile: string;
}

/** The checked config.json of a checkpoint directory, parsed by the family its model_type names. */
export function readConfig(dir: string): BaseSegConfig {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new Error(`${file}: not found (a checkpoint directory needs config.json)`);
  const raw = readJsonObject(file);
  const type = (raw as { model_type?: unknown }).model_type;
  if (type === undefined) throw new TypeError(`${file}: model_type is missing`);
  let family;
  try {
    family = getFamily(String(type));
  } catch (e) {
    throw new TypeError(`${file}: ${(e as Error).message}`);
  }
  return family.parseConfig(raw, file);
}

/** The weights files a checkpoint directory is searched for, in order (as transformers does). */
export const WEIGHTS_FILES = ['model.safetensors', SHARD_INDEX_FILES[0], 'pytorch_model.bin', SHARD_INDEX_FILES[1]] as const;

export function findWeights(dir: string): string {
  for (const f of WEIGHTS_FILES) {
    const p = path.join(dir, f);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`${dir}: no ${WEIGHTS_FILES.join(', ')}`);
}

/** Loads a model of any registered family from an HF checkpoint directory, or one already opened (openCheckpoint). */
export function loadPretrained(src: string | Checkpoint, opts: LoadOptions = {}): LoadResult {
  const log = opts.log ?? ((l: string) => console.error(l));
  const opened = typeof src === 'string' ? null : src;
  const dir = opened?.dir ?? (src as string);
  let cfg = opened?.config ?? readConfig(dir);
  const family = getFamily(cfg.model_type);
  const ckptLabels = Object.keys(cfg.id2label).length;
  if (opts.labels) cfg = { ...cfg, ...labelMaps(opts.labels) };
  const weightsFile = opts.weights ? path.resolve(dir, opts.weights) : (opened?.weightsFile ?? findWeights(dir));
  const sd = loadTensors(weightsFile);
  try {
    // Weights come from the file; only what it lacks gets HF's initialisation (below).
    const model = family.build(cfg, { init: false });
    try {
      const initialised: string[] = [];
      const { dropped, headMissing } = family.adaptStateDict?.(sd, model) ?? { dropped: [], headMissing: lacksHead(sd, model) };
      const own = model.stateDict();
      if (headMissing) {
        const head = [...own.keys()].filter((k) => k.startsWith(`${model.headPrefix}.`));
        initialised.push(...head);
        model.initWeights(model.submodule(model.headPrefix));
        log(`${weightsFile}: encoder-only checkpoint; the head ${model.headPrefix} (${head.length} tensors) is initialised`);
      }
      const cls = model.classifierPrefix;
      const clsW = sd.get(`${cls}.weight`);
      if (!headMissing && clsW && clsW.size(0) !== model.numLabels) {
        log(`${weightsFile}: checkpoint has ${clsW.size(0)} labels (${ckptLabels} in its config), model has ${model.numLabels}; ${cls} is re-initialised`);
        model.initWeights(model.submodule(cls));
        for (const k of [...sd.keys()].filter((k) => k.startsWith(`${cls}.`))) {
          sd.get(k)!.dispose();
          sd.delete(k);
        }
        initialised.push(...[...own.keys()].filter((k) => k.startsWith(`${cls}.`)));
      }
      const skip = new Set(initialised);
      const report = model.loadStateDict(sd, { strict: false });
      const missing = report.missing.filter((k) => !skip.has(k));
      if (missing.length || report.unexpected.length || report.mismatched.length) {
        throw new StateDictError({ missing, unexpected: report.unexpected, mismatched: report.mismatched }, `${weightsFile} does not fit ${dir}/config.json`);
      }
      if (dropped.length) log(`${weightsFile}: dropped the image-classification head (${dropped.join(', ')})`);
      return { model, initialised, dropped, weightsFile };
    } catch (e) {
      model.dispose();
      throw e;
    }
  } finally {
    dispose([...sd.values()]);
  }
}

/** Saves config.json (with id2label/label2id) + model.safetensors, each written atomically. */
export function savePretrained(model: SegmentationModel, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  noGrad(() => saveTensors(path.join(dir, 'model.safetensors'), model.stateDict(), { format: 'pt' }));
  const { family } = model;
  const dtype = model.parameters()[0]?.dtype ?? 'float32';
  writeJsonAtomic(path.join(dir, 'config.json'), { ...model.config, architectures: [family.architecture], model_type: family.modelType, torch_dtype: dtype });
}
