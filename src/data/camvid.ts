// CamVid in the SegNet layout: `<split>/` RGB frames and `<split>annot/` 8-bit class-id labels, with
// `<split>.txt` list files of "image annotation" lines. Ids 0..10 are the 11 benchmark classes, 11 is void.
// With void 'ignore' (the benchmark convention) 11 is remapped to the ignore index and there are 11
// classes; with void 'class' it stays 11 and there are 12.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OpenOptions } from './dataset.js';
import { CAMVID11, IGNORE_INDEX } from './palette.js';
import type { ClassInfo, DatasetSpec, LabelDecoding, RGB, SampleRef } from './types.js';

export const CAMVID_VOID_ID = 11;

/** True if `root` looks like a SegNet CamVid folder. */
export function isCamvid(root: string): boolean {
  return camvidSplits(root).length > 0;
}

/** Splits available under root: names with a `<name>.txt` list or a `<name>/` + `<name>annot/` pair. */
export function camvidSplits(root: string): string[] {
  let files: string[];
  try {
    files = fs.readdirSync(root);
  } catch {
    return [];
  }
  const set = new Set(files);
  const out = new Set<string>();
  for (const f of files) {
    if (f.endsWith('annot') && set.has(f.slice(0, -5)) && f.length > 5) out.add(f.slice(0, -5));
    if (f.endsWith('.txt') && set.has(f.slice(0, -4) + 'annot')) out.add(f.slice(0, -4));
  }
  return [...out].sort();
}

/**
 * Resolves a path from a list file. SegNet's own lists hold absolute paths from their machine
 * (/SegNet/CamVid/train/x.png); those are tried as given, then relative to root, then as the last two
 * components (dir/file) under root.
 */
function resolveListed(root: string, p: string): string | null {
  const cands = [p, path.join(root, p.replace(/^[/\\]+/, ''))];
  const parts = p.split(/[/\\]+/).filter((s) => s.length > 0);
  if (parts.length >= 2) cands.push(path.join(root, parts[parts.length - 2]!, parts[parts.length - 1]!));
  for (const c of cands) if (path.isAbsolute(c) ? fs.existsSync(c) : false) return c;
  return null;
}

function idOf(file: string): string {
  return path.basename(file).replace(/\.[^.]+$/, '');
}

/** Reads `<split>.txt`; every listed file must exist. */
export function readCamvidList(root: string, listFile: string): SampleRef[] {
  const text = fs.readFileSync(listFile, 'utf8');
  const samples: SampleRef[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const parts = line.trim().split(/\s+/).filter((s) => s.length > 0);
    if (parts.length === 0) return;
    if (parts.length !== 2) throw new Error(`${listFile}:${i + 1}: expected "image annotation", got "${line.trim()}"`);
    const [ip, lp] = parts as [string, string];
    const image = resolveListed(root, ip);
    if (!image) throw new Error(`${path.join(root, ip.replace(/^[/\\]+/, ''))}: image file not found (listed in ${listFile}:${i + 1})`);
    const label = resolveListed(root, lp);
    if (!label) throw new Error(`${path.join(root, lp.replace(/^[/\\]+/, ''))}: label file not found (listed in ${listFile}:${i + 1})`);
    samples.push({ id: idOf(image), image, label });
  });
  return samples;
}

/** Pairs `<split>/<name>` with `<split>annot/<name>` by file name; unpaired files are errors. */
export function pairCamvidDirs(root: string, split: string): SampleRef[] {
  const idir = path.join(root, split);
  const ldir = path.join(root, split + 'annot');
  const imgs = fs.readdirSync(idir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
  const labs = new Set(fs.readdirSync(ldir).filter((f) => /\.png$/i.test(f)));
  const samples: SampleRef[] = [];
  for (const f of imgs) {
    const lf = labs.has(f) ? f : idOf(f) + '.png';
    if (!labs.has(lf)) throw new Error(`${path.join(idir, f)}: image has no label (expected ${path.join(ldir, lf)})`);
    labs.delete(lf);
    samples.push({ id: idOf(f), image: path.join(idir, f), label: path.join(ldir, lf) });
  }
  for (const lf of labs) throw new Error(`${path.join(ldir, lf)}: label has no image in ${idir}`);
  return samples;
}

/** The CamVid class list for a void policy: 11 classes (void ignored) or 12 (Void = 11). */
export function camvidClasses(voidMode: 'class' | 'ignore', ignoreIndex = IGNORE_INDEX): ClassInfo {
  const entries = voidMode === 'class' ? CAMVID11 : CAMVID11.slice(0, CAMVID_VOID_ID);
  return { names: entries.map((e) => e.name), palette: entries.map((e) => [...e.color] as RGB), ignoreIndex };
}

/** Opens one split (default 'train') of a SegNet CamVid folder. */
export function openCamvid(root: string, opts: OpenOptions = {}): DatasetSpec {
  root = path.resolve(root);
  const split = opts.split ?? 'train';
  const splits = camvidSplits(root);
  const listFile = path.join(root, `${split}.txt`);
  let samples: SampleRef[];
  if (fs.existsSync(listFile)) samples = readCamvidList(root, listFile);
  else if (fs.existsSync(path.join(root, split)) && fs.existsSync(path.join(root, split + 'annot'))) samples = pairCamvidDirs(root, split);
  else throw new Error(`${root}: CamVid split "${split}" not found (available: ${splits.join(', ') || 'none'})`);
  if (samples.length === 0) throw new Error(`${fs.existsSync(listFile) ? listFile : path.join(root, split)}: empty dataset: no samples in split "${split}"`);
  const voidMode = opts.void ?? 'ignore';
  const ignoreIndex = opts.ignoreIndex ?? IGNORE_INDEX;
  const classes = camvidClasses(voidMode, ignoreIndex);
  let label: LabelDecoding;
  if (voidMode === 'ignore') {
    const lut = Array.from({ length: 256 }, (_, v) => v);
    lut[CAMVID_VOID_ID] = ignoreIndex;
    label = { kind: 'index', lut, unknown: opts.unknownColors ?? 'error' };
  } else label = { kind: 'index', unknown: opts.unknownColors ?? 'error' };
  return { format: 'camvid', root, classes, samples, label };
}
