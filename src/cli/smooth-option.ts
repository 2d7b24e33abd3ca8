// The --smooth option of eval, predict and bench smooth: `--smooth` alone (or `--smooth auto`) is the
// smoother measured best for the checkpoint (its config.json's streetseg_smooth, written by `bench smooth
// --record`; DEFAULT_SMOOTH when it has none), `--smooth METHOD[:PARAM=V,…]` a chosen one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AUTO_SMOOTH, configSmooth, DEFAULT_SMOOTH, formatSmoothSpec, parseSmoothSpec, SMOOTH_KEY, SMOOTH_METHODS, SmoothSpecError, type SmoothSpec } from '../temporal/index.js';
import { readJsonObject, writeJsonAtomic } from '../util/fs.js';
import { UsageError, type OptionSpec } from './command.js';

export function smoothOption(what: string): OptionSpec {
  return {
    name: 'smooth',
    type: 'string',
    bare: AUTO_SMOOTH,
    // a method name, with or without parameters; anything else after a bare --smooth is an input
    valuePattern: /^[A-Za-z]+(:|$)/,
    help: `smooth ${what} over time: METHOD[:PARAM=V,…] with METHOD one of ${Object.keys(SMOOTH_METHODS).join(', ')}; alone (or ${AUTO_SMOOTH}): the smoother measured best for the checkpoint (its config.json's ${SMOOTH_KEY}, else ${DEFAULT_SMOOTH}; docs/temporal.md)`,
  };
}

/** The checkpoint directory's config.json as an object ({} when it has none). */
function readConfig(checkpoint: string): { file: string; config: Record<string, unknown> } {
  const file = path.join(checkpoint, 'config.json');
  return { file, config: fs.existsSync(file) ? readJsonObject(file) : {} };
}

/** A --smooth value: "auto" resolves to the checkpoint's recorded smoother (configSmooth), anything else is parsed. */
export function resolveSmooth(value: string, checkpoint: string): SmoothSpec {
  if (value.trim() !== AUTO_SMOOTH) return parseSmoothSpec(value);
  const { file, config } = readConfig(checkpoint);
  return configSmooth(config, file);
}

/** The parsed --smooth value (undefined: not given), or a usage error naming the command. */
export function smoothSpecOf(command: string, value: unknown, checkpoint: string): SmoothSpec | undefined {
  if (value === undefined) return undefined;
  try {
    return resolveSmooth(String(value), checkpoint);
  } catch (e) {
    if (e instanceof SmoothSpecError) throw new UsageError(`streetseg ${command}: --smooth: ${e.message}`);
    throw e;
  }
}

/** Records `spec` as the checkpoint's own smoother (config.json's streetseg_smooth, written atomically). */
export function recordSmooth(checkpoint: string, spec: SmoothSpec): string {
  const { file, config } = readConfig(checkpoint);
  if (!fs.existsSync(file)) throw new SmoothSpecError(`${checkpoint}: no config.json to record the smoother in`);
  const text = formatSmoothSpec(spec);
  writeJsonAtomic(file, { ...config, [SMOOTH_KEY]: text });
  return text;
}
