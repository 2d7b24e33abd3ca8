// Train/val splits: a seeded random split (the tutorial's 80/20 with seed 42 by default) or list files.
//
// The random split shuffles sample indices with our own PRNG (src/util/random.ts: mulberry32 + Fisher–Yates),
// so it is reproducible across machines and Node versions, but it is NOT the same partition a Python
// tutorial gets from sklearn/torch with seed 42 (different generators). Save it with writeSplitList to pin it.
import * as fs from 'node:fs';
import { writeFileAtomic } from '../util/fs.js';
import { permutation, rng } from '../util/random.js';
import type { DatasetSpec, SampleRef } from './types.js';

export interface RandomSplitOptions {
  /** Fraction of samples for validation, default 0.2. The val count is ceil(n * valFraction) (sklearn's rule). */
  valFraction?: number;
  /** Default 42. */
  seed?: number;
}

/** Partitions items at random; each side keeps the items' original order. */
export function randomSplit<T>(items: readonly T[], opts: RandomSplitOptions = {}): { train: T[]; val: T[] } {
  const frac = opts.valFraction ?? 0.2;
  if (!(frac >= 0 && frac <= 1)) throw new RangeError(`randomSplit: valFraction must be in [0, 1], got ${frac}`);
  const n = items.length;
  const nVal = Math.min(n, Math.ceil(n * frac - 1e-9));
  const perm = permutation(n, rng(opts.seed ?? 42));
  const isVal = new Uint8Array(n);
  for (let i = 0; i < nVal; i++) isVal[perm[i]!] = 1;
  const train: T[] = [];
  const val: T[] = [];
  items.forEach((it, i) => (isVal[i] ? val : train).push(it));
  return { train, val };
}

/** randomSplit applied to a dataset's samples, giving two specs with the same classes and decoding. */
export function splitDataset(spec: DatasetSpec, opts: RandomSplitOptions = {}): { train: DatasetSpec; val: DatasetSpec } {
  const { train, val } = randomSplit(spec.samples, opts);
  return { train: { ...spec, samples: train }, val: { ...spec, samples: val } };
}

/** Writes sample ids, one per line (atomically). */
export function writeSplitList(file: string, samples: readonly SampleRef[]): void {
  writeFileAtomic(file, samples.map((s) => s.id).join('\n') + '\n');
}

/**
 * Selects the samples named in a list file: one sample id per line (blank lines and '#' comments skipped).
 * Lines may also be image paths or "image label" pairs; the id is then the image's file stem. Unknown and
 * duplicate ids are errors naming file:line; an empty list is an error.
 */
export function readSplitList(file: string, spec: DatasetSpec): DatasetSpec {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read split list: ${(e as Error).message}`);
  }
  const byId = new Map(spec.samples.map((s) => [s.id, s]));
  const picked: SampleRef[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const first = line.split(/\s+/)[0]!;
    const id = byId.has(first) ? first : first.replace(/^.*[/\\]/, '').replace(/\.[^.]+$/, '');
    const s = byId.get(id);
    if (!s) throw new Error(`${file}:${i + 1}: no sample "${id}" in ${spec.root}`);
    if (seen.has(id)) throw new Error(`${file}:${i + 1}: sample "${id}" listed twice`);
    seen.add(id);
    picked.push(s);
  });
  if (picked.length === 0) throw new Error(`${file}: empty split list`);
  return { ...spec, samples: picked };
}
