// The files written per image: NAME.png (8-bit grey, value = class id), NAME_color.png (the class colours),
// NAME_overlay.png (the image blended with the colours). PNGs are encoded by sharp and each file is written
// atomically, so an interrupted run never leaves a truncated PNG under a final name.
import * as path from 'node:path';
import sharp from 'sharp';
import { colorizeLabel } from '../data/palette.js';
import type { RGB } from '../data/types.js';
import { writeFileAtomic } from '../util/fs.js';
import { blendOverlay } from './colors.js';

/** PNG bytes of raw HWC uint8 pixels (1 channel = grey, 3 = RGB). */
export async function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<Buffer> {
  let s = sharp(pixels, { raw: { width, height, channels } });
  // without b-w, sharp writes one raw channel as an RGB PNG
  if (channels === 1) s = s.toColourspace('b-w');
  return s.png({ compressionLevel: 6, adaptiveFiltering: false }).toBuffer();
}

/** The colour mask of a class-id map (ids must be below palette.length). */
export function colorMask(ids: Uint8Array, palette: readonly RGB[], what: string): Uint8Array {
  // -1: predictions have no ignore index, so every value must be a class id
  return colorizeLabel(ids, palette, -1, [0, 0, 0], what);
}

export interface ImageResult {
  name: string;
  width: number;
  height: number;
  /** RGB HWC uint8 of the input at its own size. */
  image: Uint8Array;
  /** Class ids, width·height. */
  ids: Uint8Array;
}

/** Writes NAME.png, NAME_color.png and (alpha given) NAME_overlay.png into dir; returns their paths. */
export async function writeImageOutputs(dir: string, r: ImageResult, palette: readonly RGB[], overlayAlpha: number | null): Promise<string[]> {
  const color = colorMask(r.ids, palette, r.name);
  const files: [string, Promise<Buffer>][] = [
    [path.join(dir, `${r.name}.png`), encodePng(r.ids, r.width, r.height, 1)],
    [path.join(dir, `${r.name}_color.png`), encodePng(color, r.width, r.height, 3)],
  ];
  if (overlayAlpha !== null) files.push([path.join(dir, `${r.name}_overlay.png`), encodePng(blendOverlay(r.image, color, overlayAlpha), r.width, r.height, 3)]);
  const bytes = await Promise.all(files.map(([, p]) => p));
  files.forEach(([f], i) => writeFileAtomic(f, bytes[i]!));
  return files.map(([f]) => f);
}
