// HuggingFace checkpoint directories: config.json + model.safetensors (or legacy pytorch_model.bin).
// Loading accepts full SegformerForSemanticSegmentation checkpoints, encoder-only ones (nvidia/mit-b*),
// and a different label set (the classifier is re-initialised); anything else that does not fit is an
// error listing the keys. Saving writes what HF's from_pretrained loads unchanged.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dispose, loadTensors, noGrad, saveTensors, StateDictError, type Tensor } from '../torch/index.js';
import { writeJsonAtomic } from '../util/fs.js';
import { SegformerForSemanticSegmentation, numLabels, validateConfig, type SegformerConfig } from './segformer.js';

export interface LoadOptions {
  /** Class names for the head; if they differ in number from the checkpoint's, the classifier is re-initialised. */
  labels?: string[];
  /** A specific weights file inside the directory (default: model.safetensors, else pytorch_model.bin). */
  weights?: string;
  /** Where log lines go (default console.error). */
  log?: (line: string) => void;
}

export interface LoadResult {
  model: SegformerForSemanticSegmentation;
  /** What was initialised rather than loaded, for the run log. */
  initialised: string[];
  dropped: string[];
  weightsFile: string;
}

export function readConfig(dir: string): SegformerConfig {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new Error(`${file}: not found (a checkpoint directory needs config.json)`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: invalid JSON (${(e as Error).message})`);
  }
  return validateConfig(raw as Partial<SegformerConfig>, file);
}

export function findWeights(dir: string): string {
  for (const f of ['model.safetensors', 'pytorch_model.bin']) {
    const p = path.join(dir, f);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`${dir}: no model.safetensors or pytorch_model.bin`);
}

/** Loads a SegFormer from an HF checkpoint directory. */
export function loadSegformer(dir: string, opts: LoadOptions = {}): LoadResult {
  const log = opts.log ?? ((l: string) => console.error(l));
  let cfg = readConfig(dir);
  const ckptLabels = numLabels(cfg);
  if (opts.labels) {
    cfg = { ...cfg, id2label: Object.fromEntries(opts.labels.map((l, i) => [String(i), l])), label2id: Object.fromEntries(opts.labels.map((l, i) => [l, i])) };
  }
  const weightsFile = opts.weights ? path.resolve(dir, opts.weights) : findWeights(dir);
  const sd = loadTensors(weightsFile);
  try {
    // Weights come from the file; only what it lacks gets HF's initialisation (below).
    const model = new SegformerForSemanticSegmentation(cfg, { init: false });
    const own = model.stateDict();
    const initialised: string[] = [];
    const dropped: string[] = [];
    // Encoder-only checkpoints: a bare SegformerModel (encoder.*) or an image classifier (segformer.* + classifier.*).
    const renamed = new Map<string, Tensor>();
    for (const [k, v] of sd) {
      if (k.startsWith('encoder.')) renamed.set(`segformer.${k}`, v);
      else if (k.startsWith('classifier.') && !own.has(k)) {
        dropped.push(k);
        v.dispose();
      } else renamed.set(k, v);
    }
    const hasHead = [...renamed.keys()].some((k) => k.startsWith('decode_head.'));
    if (!hasHead) {
      const head = [...own.keys()].filter((k) => k.startsWith('decode_head.'));
      initialised.push(...head);
      model.initWeights(model.decode_head);
      log(`${weightsFile}: encoder-only checkpoint; the decode head (${head.length} tensors) is initialised`);
    }
    const clsKeys = ['decode_head.classifier.weight', 'decode_head.classifier.bias'];
    const clsW = renamed.get(clsKeys[0]!);
    if (hasHead && clsW && clsW.size(0) !== model.numLabels) {
      log(`${weightsFile}: checkpoint has ${clsW.size(0)} labels (${ckptLabels} in its config), model has ${model.numLabels}; decode_head.classifier is re-initialised`);
      model.initWeights(model.decode_head.classifier);
      for (const k of clsKeys) {
        renamed.get(k)?.dispose();
        renamed.delete(k);
        initialised.push(k);
      }
    }
    const skip = new Set(initialised);
    const report = model.loadStateDict(renamed, { strict: false });
    const missing = report.missing.filter((k) => !skip.has(k));
    if (missing.length || report.unexpected.length || report.mismatched.length) {
      model.dispose();
      throw new StateDictError({ missing, unexpected: report.unexpected, mismatched: report.mismatched }, `${weightsFile} does not fit ${dir}/config.json`);
    }
    if (dropped.length) log(`${weightsFile}: dropped the image-classification head (${dropped.join(', ')})`);
    return { model, initialised, dropped, weightsFile };
  } finally {
    dispose([...sd.values()]);
  }
}

/** Saves config.json (with id2label/label2id) + model.safetensors, each written atomically. */
export function saveSegformer(model: SegformerForSemanticSegmentation, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  noGrad(() => saveTensors(path.join(dir, 'model.safetensors'), model.stateDict(), { format: 'pt' }));
  const cfg = { ...model.config, architectures: ['SegformerForSemanticSegmentation'], model_type: 'segformer', torch_dtype: 'float32' };
  writeJsonAtomic(path.join(dir, 'config.json'), cfg);
}
