// An HF checkpoint directory opened once: config.json parsed and checked by the family its model_type
// names, and everything the commands derive from it (class names, inference scales, the weights file)
// read in the same pass. eval, predict, compare, export and the app take this value, so config.json is
// parsed once per command and every error about it names the file. A Hub repo id is turned into a local
// directory first (hub/checkpoint.ts resolveCheckpoint); this module only sees directories.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkpointEvalScales, type BaseSegConfig } from './contract.js';
import { findWeights, readConfig } from './hf.js';
import { getFamily, type ModelFamily } from './registry.js';

export interface Checkpoint {
  /** The directory, as given. */
  readonly dir: string;
  /** dir/config.json, the file every error about the config names. */
  readonly configFile: string;
  /** config.json, checked by the family's schema. */
  readonly config: BaseSegConfig;
  readonly family: ModelFamily;
  /** Class names in id order (config.json's id2label). */
  readonly labels: readonly string[];
  /** The input scales it is evaluated at (streetseg_eval_scales; [1] when absent). */
  readonly evalScales: readonly number[];
  /** The single inference scale predict and the app use: evalScales' one entry, else 1 (several are TTA, an eval option). */
  readonly scale: number;
  /** The weights file (model.safetensors, sharded, or pytorch_model.bin), or null when the directory has none (an ONNX-only Hub download). */
  readonly weightsFile: string | null;
}

/** Opens `dir`: a missing directory, config.json or a malformed field is an error naming the path and what was expected. */
export function openCheckpoint(dir: string): Checkpoint {
  if (!fs.existsSync(dir)) throw new Error(`${dir}: checkpoint directory not found (expected a directory with config.json and weights)`);
  if (!fs.statSync(dir).isDirectory()) throw new Error(`${dir}: not a directory (expected a checkpoint directory with config.json)`);
  const configFile = path.join(dir, 'config.json');
  const config = readConfig(dir);
  const labels = Array.from({ length: Object.keys(config.id2label).length }, (_, i) => config.id2label[String(i)]!);
  const evalScales = checkpointEvalScales(config, configFile);
  let weightsFile: string | null;
  try {
    weightsFile = findWeights(dir);
  } catch {
    weightsFile = null;
  }
  return { dir, configFile, config, family: getFamily(config.model_type), labels, evalScales, scale: evalScales.length === 1 ? evalScales[0]! : 1, weightsFile };
}
