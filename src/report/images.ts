// Sample pictures for the report: image | ground truth | prediction | error map, side by side in one PNG.
import sharp from 'sharp';
import { colorizeLabel } from '../data/palette.js';
import type { ReportSample, RGB } from './types.js';

/** Error-map colours: correct pixels dark, wrong ones red, ignored ones grey. */
export const ERROR_COLORS: { correct: RGB; wrong: RGB; ignore: RGB } = { correct: [20, 20, 20], wrong: [235, 40, 40], ignore: [150, 150, 150] };
/** Colour of ignored pixels in the ground-truth and prediction masks (CamVid's void colour). */
export const MASK_IGNORE: RGB = [0, 0, 0];

/** Throws a clear error if a sample's arrays do not match its size. */
export function checkSample(s: ReportSample, what: string): void {
  const where = `${what} "${s.id}"`;
  if (!Number.isInteger(s.width) || !Number.isInteger(s.height) || s.width < 1 || s.height < 1) {
    throw new Error(`${where}: width and height must be positive integers, got ${s.width}x${s.height}`);
  }
  const n = s.width * s.height;
  if (s.image.length !== n * 3) throw new Error(`${where}: image has ${s.image.length} bytes, expected ${n * 3} (${s.width}x${s.height} RGB)`);
  if (s.label.length !== n) throw new Error(`${where}: label has ${s.label.length} values, expected ${n} (${s.width}x${s.height})`);
  if (s.pred.length !== n) throw new Error(`${where}: pred has ${s.pred.length} values, expected ${n} (${s.width}x${s.height})`);
}

/** RGB error map: ignored truth pixels grey, prediction ≠ truth red, the rest dark. */
export function errorMap(label: Uint8Array, pred: Uint8Array, ignoreIndex: number): Uint8Array {
  if (label.length !== pred.length) throw new Error(`errorMap: label has ${label.length} pixels but pred has ${pred.length}`);
  const out = new Uint8Array(label.length * 3);
  for (let p = 0; p < label.length; p++) {
    const c = label[p] === ignoreIndex ? ERROR_COLORS.ignore : label[p] === pred[p] ? ERROR_COLORS.correct : ERROR_COLORS.wrong;
    out[p * 3] = c[0];
    out[p * 3 + 1] = c[1];
    out[p * 3 + 2] = c[2];
  }
  return out;
}

export interface StripOptions {
  /** Width of each of the four tiles (images wider than this are scaled down; default 320). */
  tileWidth?: number;
  /** White space between tiles (default 4). */
  gap?: number;
}

/** Tile and strip sizes of a sample's picture (the page uses them as the image's display size). */
export function stripSize(s: { width: number; height: number }, opts: StripOptions = {}): { tileWidth: number; tileHeight: number; gap: number; width: number; height: number } {
  const tileWidth = Math.min(s.width, opts.tileWidth ?? 320);
  const tileHeight = Math.max(1, Math.round((s.height * tileWidth) / s.width));
  const gap = opts.gap ?? 4;
  return { tileWidth, tileHeight, gap, width: 4 * tileWidth + 3 * gap, height: tileHeight };
}

async function resizeTile(rgb: Uint8Array, w: number, h: number, tw: number, th: number, nearest: boolean): Promise<Uint8Array> {
  if (tw === w && th === h) return rgb;
  // Masks keep exact palette colours (nearest); the photo is filtered.
  const buf = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .resize(tw, th, { fit: 'fill', kernel: nearest ? 'nearest' : 'lanczos3' })
    .raw()
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * One PNG with the sample's image, ground truth and prediction in the palette colours, and the error map,
 * left to right. `what` names the sample set in error messages ("sample", "worst image").
 */
export async function sampleStrip(s: ReportSample, palette: readonly RGB[], ignoreIndex: number, what = 'sample', opts: StripOptions = {}): Promise<Buffer> {
  checkSample(s, what);
  const w = s.width, h = s.height;
  const { tileWidth: tw, tileHeight: th, gap, width: W } = stripSize(s, opts);
  const tiles = await Promise.all([
    resizeTile(s.image, w, h, tw, th, false),
    resizeTile(colorizeLabel(s.label, palette, ignoreIndex, MASK_IGNORE, `${what} "${s.id}" label`), w, h, tw, th, true),
    resizeTile(colorizeLabel(s.pred, palette, ignoreIndex, MASK_IGNORE, `${what} "${s.id}" pred`), w, h, tw, th, true),
    resizeTile(errorMap(s.label, s.pred, ignoreIndex), w, h, tw, th, true),
  ]);
  const strip = new Uint8Array(W * th * 3).fill(255);
  tiles.forEach((t, i) => {
    const x0 = i * (tw + gap);
    for (let y = 0; y < th; y++) strip.set(t.subarray(y * tw * 3, (y + 1) * tw * 3), (y * W + x0) * 3);
  });
  return sharp(strip, { raw: { width: W, height: th, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
}
