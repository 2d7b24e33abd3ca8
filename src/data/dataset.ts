// Opening a dataset folder as a DatasetSpec (plain data: the file list, the classes and how to decode labels).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isCamseq01, openCamseq01 } from './camseq01.js';
import { isCamvid, openCamvid } from './camvid.js';
import { isFolderDataset, openFolder } from './folder.js';
import type { DatasetSpec } from './types.js';

export type DatasetFormat = DatasetSpec['format'];

export interface OpenOptions {
  /** Layout; auto-detected when omitted (see detectFormat). */
  format?: DatasetFormat;
  /** camvid: which split (list file / folder pair), default 'train'. folder: images/<split>, masks/<split>. camseq01: not used. */
  split?: string;
  /**
   * 'ignore' (default; the CamVid benchmark convention and the reference recipe): void is not a class and
   * decodes to ignoreIndex, giving the 11 CamVid classes. 'class': void is the last class (the tutorial's 12).
   */
  void?: 'class' | 'ignore';
  /** Label colours (or index values) outside the class list: 'error' (default) or map to ignoreIndex and count. */
  unknownColors?: 'error' | 'ignore';
  /**
   * Colour datasets: 'camvid11' (camseq01 default: label_colors11.txt, or the built-in CamVid grouping),
   * 'none' (one class per palette colour), or a path to a grouping file ("R G B Group" lines).
   */
  grouping?: 'camvid11' | 'none' | (string & {});
  /** Label value for ignored pixels, default 255. */
  ignoreIndex?: number;
}

/** Guesses the layout of root: camvid (<split>/ + <split>annot/), folder (images/ + masks/), camseq01 (*_L.png). */
export function detectFormat(root: string): DatasetFormat {
  if (!fs.existsSync(root)) throw new Error(`${root}: dataset folder not found`);
  if (!fs.statSync(root).isDirectory()) throw new Error(`${root}: not a folder`);
  if (isCamvid(root)) return 'camvid';
  if (isFolderDataset(root)) return 'folder';
  if (isCamseq01(root)) return 'camseq01';
  throw new Error(
    `${root}: cannot detect the dataset format: expected CamVid/SegNet (train/ + trainannot/), ` +
      'a folder dataset (images/ + masks/) or CamSeq01 (<frame>.png + <frame>_L.png); is it empty?',
  );
}

/** Opens a dataset folder. Throws (naming the file) on unpaired files, bad palette files or an empty dataset. */
export function openDataset(root: string, opts: OpenOptions = {}): DatasetSpec {
  root = path.resolve(root);
  const format = opts.format ?? detectFormat(root);
  if (!fs.existsSync(root)) throw new Error(`${root}: dataset folder not found`);
  switch (format) {
    case 'camseq01':
      return openCamseq01(root, opts);
    case 'camvid':
      return openCamvid(root, opts);
    case 'folder':
      return openFolder(root, opts);
    default:
      throw new Error(`unknown dataset format "${format as string}" (expected camseq01, camvid or folder)`);
  }
}

/** A copy of spec restricted to the given samples (e.g. one side of a split). */
export function withSamples(spec: DatasetSpec, samples: DatasetSpec['samples']): DatasetSpec {
  return { ...spec, samples: samples.slice() };
}
