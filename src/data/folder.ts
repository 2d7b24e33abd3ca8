// Generic folder layout:
//   root/images/<name>.<png|jpg|jpeg|webp|tif|tiff>   RGB frames
//   root/masks/<name>.png   (or root/labels/)         labels, paired with images by file stem
//   root/label_colors.txt (or palette.txt)            "R G B Name" lines: masks are colour PNGs
//   root/classes.txt                                  otherwise: masks are 8-bit class-id PNGs (grayscale or
//                                                     palette PNG, raw index), one class name per line (id =
//                                                     line order), optionally "R G B Name" to give colours
// With opts.split, images/<split>/ and masks/<split>/ are used instead. A class named Void/Unlabelled is
// the void class: with void 'ignore' it is dropped from the list and decodes to the ignore index.
// Mask value 255 (the ignore index) is always accepted in index masks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OpenOptions } from './dataset.js';
import { defaultPalette, groupedClasses, IGNORE_INDEX, isVoidName, paletteClasses, parsePaletteText } from './palette.js';
import type { DatasetSpec, LabelDecoding, RGB, SampleRef } from './types.js';

const IMAGE_EXT = /\.(png|jpe?g|webp|tiff?)$/i;
const MASK_DIRS = ['masks', 'labels'];
const PALETTE_FILES = ['label_colors.txt', 'palette.txt'];

export function isFolderDataset(root: string): boolean {
  return fs.existsSync(path.join(root, 'images')) && MASK_DIRS.some((d) => fs.existsSync(path.join(root, d)));
}

function stem(f: string): string {
  return f.replace(/\.[^.]+$/, '');
}

export function listFolderSamples(root: string, split?: string): SampleRef[] {
  const mdirName = MASK_DIRS.find((d) => fs.existsSync(path.join(root, d)));
  if (!fs.existsSync(path.join(root, 'images')) || !mdirName) {
    throw new Error(`${root}: not a folder dataset (expected images/ and masks/ or labels/)`);
  }
  const idir = split ? path.join(root, 'images', split) : path.join(root, 'images');
  const mdir = split ? path.join(root, mdirName, split) : path.join(root, mdirName);
  for (const d of [idir, mdir]) if (!fs.existsSync(d)) throw new Error(`${d}: folder not found`);
  const masks = new Map<string, string>();
  for (const f of fs.readdirSync(mdir).sort()) {
    if (!/\.png$/i.test(f)) continue;
    const s = stem(f);
    if (masks.has(s)) throw new Error(`${path.join(mdir, f)}: two masks for "${s}"`);
    masks.set(s, f);
  }
  const samples: SampleRef[] = [];
  const seen = new Set<string>();
  for (const f of fs.readdirSync(idir).sort()) {
    if (!IMAGE_EXT.test(f)) continue;
    const s = stem(f);
    if (seen.has(s)) throw new Error(`${path.join(idir, f)}: two images for "${s}"`);
    seen.add(s);
    const m = masks.get(s);
    if (!m) throw new Error(`${path.join(idir, f)}: image has no label (expected ${path.join(mdir, s + '.png')})`);
    masks.delete(s);
    samples.push({ id: s, image: path.join(idir, f), label: path.join(mdir, m) });
  }
  for (const [s, m] of masks) throw new Error(`${path.join(mdir, m)}: label has no image (expected ${path.join(idir, s)}.<png|jpg>)`);
  if (samples.length === 0) throw new Error(`${idir}: empty dataset: no images found`);
  return samples;
}

export function openFolder(root: string, opts: OpenOptions = {}): DatasetSpec {
  root = path.resolve(root);
  const samples = listFolderSamples(root, opts.split);
  const voidMode = opts.void ?? 'ignore';
  const unknown = opts.unknownColors ?? 'error';
  const ignoreIndex = opts.ignoreIndex ?? IGNORE_INDEX;
  const palFile = PALETTE_FILES.map((f) => path.join(root, f)).find((f) => fs.existsSync(f));
  if (palFile) {
    const palette = parsePaletteText(fs.readFileSync(palFile, 'utf8'), palFile);
    let cc;
    const g = opts.grouping;
    const gfile = g && g !== 'none' ? (g === 'camvid11' ? path.join(root, 'label_colors11.txt') : path.resolve(g)) : null;
    if (gfile) {
      if (!fs.existsSync(gfile)) throw new Error(`${gfile}: grouping file not found`);
      cc = groupedClasses(palette, parsePaletteText(fs.readFileSync(gfile, 'utf8'), gfile), gfile, voidMode, unknown, ignoreIndex);
    } else cc = paletteClasses(palette, palFile, voidMode, unknown, ignoreIndex);
    return { format: 'folder', root, classes: cc.classes, samples, label: cc.label };
  }
  const clsFile = path.join(root, 'classes.txt');
  if (!fs.existsSync(clsFile)) {
    throw new Error(`${root}: folder dataset needs label_colors.txt/palette.txt (colour masks) or classes.txt (index masks)`);
  }
  // classes.txt: "Name" or "R G B Name" per line.
  const lines = fs.readFileSync(clsFile, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/);
  const entries: { name: string; color?: RGB }[] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(\d+)[ \t,]+(\d+)[ \t,]+(\d+)[ \t]+(\S.*)$/.exec(line);
    if (m) {
      const c = [Number(m[1]), Number(m[2]), Number(m[3])] as RGB;
      if (c.some((v) => v > 255)) throw new Error(`${clsFile}:${i + 1}: colour component above 255`);
      entries.push({ name: m[4]!.trim(), color: c });
    } else entries.push({ name: line });
  });
  if (entries.length === 0) throw new Error(`${clsFile}: no classes`);
  const fallback = defaultPalette(entries.length);
  const lut = Array.from({ length: 256 }, (_, v) => v);
  const names: string[] = [];
  const palette: RGB[] = [];
  let next = 0;
  entries.forEach((e, id) => {
    if (voidMode === 'ignore' && isVoidName(e.name)) {
      lut[id] = ignoreIndex;
      return;
    }
    lut[id] = next++;
    names.push(e.name);
    palette.push(e.color ?? fallback[id]!);
  });
  // Raw values past the class list keep their value (identity): they are >= names.length, so the decoder
  // reports them as beyond the class list (255 = ignore index stays valid).
  if (names.length === 0) throw new Error(`${clsFile}: no classes left after removing void`);
  if (names.length > ignoreIndex) throw new Error(`${clsFile}: ${names.length} classes do not fit below the ignore index ${ignoreIndex}`);
  const label: LabelDecoding = { kind: 'index', lut, unknown };
  return { format: 'folder', root, classes: { names, palette, ignoreIndex }, samples, label };
}
