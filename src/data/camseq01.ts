// CamSeq01 layout: a flat folder of `<frame>.png` images and `<frame>_L.png` colour labels in the 32-class
// CamVid palette, with `label_colors.txt` (32 classes) and optionally `label_colors11.txt` (the 11-class
// grouping + Void). Missing palette files fall back to the built-in CamVid tables (identical content).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OpenOptions } from './dataset.js';
import { CAMVID11_GROUPING, CAMVID32, groupedClasses, paletteClasses, parsePaletteText, type PaletteEntry } from './palette.js';
import type { DatasetSpec, SampleRef } from './types.js';

const LABEL_SUFFIX = '_L.png';

/** True if `root` looks like a CamSeq01 folder (has at least one `*_L.png`). */
export function isCamseq01(root: string): boolean {
  try {
    return fs.readdirSync(root).some((f) => f.endsWith(LABEL_SUFFIX));
  } catch {
    return false;
  }
}

function readPalette(file: string): PaletteEntry[] {
  return parsePaletteText(fs.readFileSync(file, 'utf8'), file);
}

/** Pairs `<frame>.png` with `<frame>_L.png`; an unpaired file on either side is an error. Sorted by id. */
export function listCamseq01Samples(root: string): SampleRef[] {
  let files: string[];
  try {
    files = fs.readdirSync(root);
  } catch (e) {
    throw new Error(`${root}: cannot list dataset folder: ${(e as Error).message}`);
  }
  const set = new Set(files);
  const samples: SampleRef[] = [];
  for (const f of files.sort()) {
    if (!f.toLowerCase().endsWith('.png')) continue;
    if (f.endsWith(LABEL_SUFFIX)) {
      const img = f.slice(0, -LABEL_SUFFIX.length) + '.png';
      if (!set.has(img)) throw new Error(`${path.join(root, f)}: label has no image (expected ${path.join(root, img)})`);
      continue;
    }
    const id = f.slice(0, -4);
    const lab = id + LABEL_SUFFIX;
    if (!set.has(lab)) throw new Error(`${path.join(root, f)}: image has no label (expected ${path.join(root, lab)})`);
    samples.push({ id, image: path.join(root, f), label: path.join(root, lab) });
  }
  if (samples.length === 0) throw new Error(`${root}: empty dataset: no <frame>.png + <frame>${LABEL_SUFFIX} pairs found`);
  return samples;
}

/**
 * Opens a CamSeq01 folder. grouping: 'camvid11' (default; `label_colors11.txt` or the built-in grouping ->
 * 11 classes + Void), 'none' (the 32 classes of label_colors.txt), or a path to a grouping file.
 */
export function openCamseq01(root: string, opts: OpenOptions = {}): DatasetSpec {
  root = path.resolve(root);
  const samples = listCamseq01Samples(root);
  const palFile = path.join(root, 'label_colors.txt');
  const palette = fs.existsSync(palFile) ? readPalette(palFile) : CAMVID32;
  const voidMode = opts.void ?? 'ignore';
  const unknown = opts.unknownColors ?? 'error';
  const g = opts.grouping ?? 'camvid11';
  let cc;
  if (g === 'none') {
    cc = paletteClasses(palette, fs.existsSync(palFile) ? palFile : '<built-in CamVid 32-class palette>', voidMode, unknown, opts.ignoreIndex);
  } else {
    let gfile = g === 'camvid11' ? path.join(root, 'label_colors11.txt') : path.resolve(g);
    let grouping: readonly PaletteEntry[];
    if (fs.existsSync(gfile)) grouping = readPalette(gfile);
    else if (g === 'camvid11') {
      grouping = CAMVID11_GROUPING;
      gfile = '<built-in CamVid 11-class grouping>';
    } else throw new Error(`${gfile}: grouping file not found`);
    cc = groupedClasses(palette, grouping, gfile, voidMode, unknown, opts.ignoreIndex);
  }
  return { format: 'camseq01', root, classes: cc.classes, samples, label: cc.label };
}
