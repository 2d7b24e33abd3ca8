// Sharded checkpoints as transformers writes them: `model.safetensors.index.json` (or
// `pytorch_model.bin.index.json`) = {"metadata": {...}, "weight_map": {tensor: shard file}}, the shards
// beside it. Shard names come from a file someone else wrote (a download), so each one is checked to be a
// plain relative name that stays inside the checkpoint's folder before anything opens it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RawTensor } from './types.js';

/** The index file names, in the order a checkpoint directory is searched for them. */
export const SHARD_INDEX_FILES = ['model.safetensors.index.json', 'pytorch_model.bin.index.json'] as const;

export const isShardIndex = (file: string): boolean => file.endsWith('.index.json');

/**
 * Checks a file name from a checkpoint index or a server: relative, '/'-separated, no empty, '.' or '..'
 * parts, no backslash, no NUL or control characters, not hidden, at most 255 bytes a part. Returns it.
 */
export function checkRelativeFileName(name: unknown, where: string): string {
  const bad = (why: string): never => {
    throw new Error(`${where}: unsafe file name ${JSON.stringify(name)} (${why}; expected a relative path inside the checkpoint)`);
  };
  if (typeof name !== 'string' || name.length === 0) return bad('not a non-empty string');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\:]/.test(name)) bad('a backslash, colon or control character');
  if (name.startsWith('/') || path.isAbsolute(name)) bad('an absolute path');
  for (const part of name.split('/')) {
    if (part === '' || part === '.' || part === '..') bad(`a "${part}" path part`);
    if (part.startsWith('.')) bad('a hidden path part');
    if (Buffer.byteLength(part) > 255) bad('a part longer than 255 bytes');
  }
  return name;
}

export interface ShardIndex {
  /** Tensor name → shard file (relative to the index's folder), as listed. */
  weightMap: Map<string, string>;
  /** The distinct shard files, in first-mention order. */
  shards: string[];
}

/** Parses and checks an index file's text; `file` names it in errors. */
export function parseShardIndex(text: string, file: string): ShardIndex {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: invalid JSON (${(e as Error).message})`);
  }
  const wm = (raw as { weight_map?: unknown } | null)?.weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) throw new Error(`${file}: expected a JSON object with a "weight_map" object {tensor name: shard file}`);
  const weightMap = new Map<string, string>();
  for (const [k, v] of Object.entries(wm as Record<string, unknown>)) weightMap.set(k, checkRelativeFileName(v, `${file}: weight_map["${k}"]`));
  if (weightMap.size === 0) throw new Error(`${file}: "weight_map" is empty`);
  return { weightMap, shards: [...new Set(weightMap.values())] };
}

/**
 * Reads every shard of an index with `readShard` (safetensors or torch.save, by content) and checks the
 * index against them: each listed tensor is in its shard, and no shard holds a tensor the index does not
 * give to it (a stale or mixed-up index is an error, not a silent partial load).
 */
export function readShardedStateDict(indexFile: string, readShard: (file: string) => Map<string, RawTensor>): Map<string, RawTensor> {
  const index = parseShardIndex(fs.readFileSync(indexFile, 'utf8'), indexFile);
  const dir = path.dirname(indexFile);
  const out = new Map<string, RawTensor>();
  for (const shard of index.shards) {
    const file = path.join(dir, shard);
    if (!fs.existsSync(file)) throw new Error(`${indexFile}: shard ${shard} not found (expected ${file})`);
    for (const [name, t] of readShard(file)) {
      const listed = index.weightMap.get(name);
      if (listed !== shard) throw new Error(`${file}: holds tensor ${name}, which ${indexFile} ${listed ? `puts in ${listed}` : 'does not list'}`);
      out.set(name, t);
    }
  }
  const missing = [...index.weightMap.keys()].filter((k) => !out.has(k));
  if (missing.length) throw new Error(`${indexFile}: ${missing.length} tensors missing from their shards: ${missing.slice(0, 5).map((k) => `${k} (${index.weightMap.get(k)})`).join(', ')}${missing.length > 5 ? ', …' : ''}`);
  return out;
}

/** Bytes of a weights file; for an index, of the shards it lists (what the checkpoint weighs on disk). */
export function weightsBytes(file: string): number {
  if (!isShardIndex(file)) return fs.statSync(file).size;
  const dir = path.dirname(file);
  return parseShardIndex(fs.readFileSync(file, 'utf8'), file).shards.reduce((n, s) => n + fs.statSync(path.join(dir, s)).size, 0);
}
