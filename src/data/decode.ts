// Decoding one frame: image file -> RGB HWC uint8, label file -> HW class ids. Only plain-data inputs
// (SampleRef, LabelDecoding, ClassInfo), so it runs unchanged inside worker threads.
//
// sharp is used with `ignoreIcc: true` so pixel values are the stored ones (as PIL returns them), never
// colour-managed; labels must be bit-exact. Every failure is an Error whose message starts with the file.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { colorKey, colorLut, formatColor } from './palette.js';
import { checkPngChunks, decodePaletteIndices, readPngHeader } from './png.js';
import type { ClassInfo, DecodedSample, LabelDecoding, SampleRef } from './types.js';

/** An error about one data file; `file` is the offending path (also at the start of the message). */
export class DataError extends Error {
  override name = 'DataError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

async function readBytes(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new DataError(file, `${what} file not found`);
    throw new DataError(file, `cannot read ${what}: ${err.message}`);
  }
}

function isPng(buf: Uint8Array): boolean {
  return buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47;
}

async function rawPixels(
  buf: Buffer,
  file: string,
  what: string,
  rgb: boolean,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  if (buf.length === 0) throw new DataError(file, `${what} file is empty`);
  let bitDepth = 8;
  if (isPng(buf)) {
    try {
      bitDepth = readPngHeader(buf).bitDepth;
      checkPngChunks(buf);
    } catch (e) {
      throw new DataError(file, `cannot decode ${what}: ${(e as Error).message}`);
    }
  }
  try {
    let s = sharp(buf, { failOn: 'warning', ignoreIcc: true });
    if (rgb) s = s.removeAlpha().toColourspace('srgb');
    else if (bitDepth === 16) s = s.toColourspace('srgb');
    const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
    if (data.length !== info.width * info.height * info.channels) {
      throw new Error(`unexpected raw size ${data.length} for ${info.width}x${info.height}x${info.channels}`);
    }
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch (e) {
    const msg = (e as Error).message.replace(/\s+/g, ' ').trim();
    throw new DataError(file, `cannot decode ${what} (corrupt or truncated?): ${msg}`);
  }
}

/** Decodes an image file to RGB HWC uint8 (alpha dropped, grayscale expanded). */
export async function decodeImage(file: string): Promise<{ width: number; height: number; data: Uint8Array }> {
  const buf = await readBytes(file, 'image');
  const r = await rawPixels(buf, file, 'image', true);
  if (r.channels !== 3) throw new DataError(file, `image decoded to ${r.channels} channels, expected 3`);
  return { width: r.width, height: r.height, data: new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.length) };
}

export interface DecodedLabel {
  width: number;
  height: number;
  label: Uint8Array;
  /** Pixels mapped to ignoreIndex because their colour/id was unknown (unknown: 'ignore'). */
  unknownPixels: number;
}

/** Decodes a label file to HW class ids according to `decoding`; see LabelDecoding for the rules. */
export async function decodeLabel(file: string, decoding: LabelDecoding, classes: ClassInfo): Promise<DecodedLabel> {
  const buf = await readBytes(file, 'label');
  if (decoding.kind === 'index') return decodeIndexLabel(buf, file, decoding, classes);
  return decodeColorLabel(buf, file, decoding, classes);
}

async function decodeIndexLabel(
  buf: Buffer,
  file: string,
  decoding: Extract<LabelDecoding, { kind: 'index' }>,
  classes: ClassInfo,
): Promise<DecodedLabel> {
  let width: number, height: number, values: Uint8Array, stride: number;
  if (isPng(buf) && buf.length > 25 && buf[25] === 3) {
    // Palette PNG: the raw index is the class id (sharp would expand it to colours).
    try {
      const d = decodePaletteIndices(buf);
      ({ width, height } = d);
      values = d.indices;
      stride = 1;
    } catch (e) {
      throw new DataError(file, `cannot decode label: ${(e as Error).message}`);
    }
  } else {
    if (isPng(buf)) {
      let h;
      try {
        h = readPngHeader(buf);
      } catch (e) {
        throw new DataError(file, `cannot decode label: ${(e as Error).message}`);
      }
      if (h.bitDepth === 16) throw new DataError(file, 'index label is a 16-bit PNG; expected 8-bit class ids');
    }
    const r = await rawPixels(buf, file, 'label', false);
    ({ width, height } = r);
    values = r.data;
    stride = r.channels;
    if (r.channels === 3 || r.channels === 4) {
      // Accept gray stored as RGB (R = G = B); anything else is a colour label.
      const d = r.data;
      for (let i = 0, p = 0; p < width * height; p++, i += stride) {
        if (d[i] !== d[i + 1] || d[i] !== d[i + 2]) {
          throw new DataError(
            file,
            `index label has colour pixels, e.g. ${formatColor([d[i]!, d[i + 1]!, d[i + 2]!])} at (x=${p % width}, y=${Math.floor(p / width)}); ` +
              'expected a single-channel class-id PNG (is this a colour label? give the dataset a palette file)',
          );
        }
      }
    }
  }
  const n = classes.names.length;
  const ignore = classes.ignoreIndex;
  const lut = decoding.lut;
  if (lut && lut.length !== 256) throw new DataError(file, `index decoding lut has ${lut.length} entries, expected 256`);
  // final[v]: the id to store for raw value v, or -1 if v is not a valid id after the remap.
  const final = new Int16Array(256);
  for (let v = 0; v < 256; v++) {
    const m = lut ? lut[v]! : v;
    final[v] = (m >= 0 && m < n) || m === ignore ? m : -1;
  }
  const out = new Uint8Array(width * height);
  let unknown = 0;
  const ignoreUnknown = decoding.unknown === 'ignore';
  for (let p = 0, i = 0; p < out.length; p++, i += stride) {
    const v = values[i]!;
    const f = final[v]!;
    if (f >= 0) out[p] = f;
    else if (ignoreUnknown) {
      out[p] = ignore;
      unknown++;
    } else {
      const mapped = lut && lut[v] !== v ? ` (remapped to ${lut[v]})` : '';
      throw new DataError(
        file,
        `class id ${v}${mapped} at pixel (x=${p % width}, y=${Math.floor(p / width)}) is beyond the ${n} classes ` +
          `(valid: 0..${n - 1}${ignore >= 0 && ignore < 256 ? ` and ignore ${ignore}` : ''})`,
      );
    }
  }
  return { width, height, label: out, unknownPixels: unknown };
}

async function decodeColorLabel(
  buf: Buffer,
  file: string,
  decoding: Extract<LabelDecoding, { kind: 'color' }>,
  classes: ClassInfo,
): Promise<DecodedLabel> {
  const r = await rawPixels(buf, file, 'label', false);
  const { width, height, channels } = r;
  const d = r.data;
  const { table, slotIds } = colorLut(decoding.colors, decoding.ids);
  const out = new Uint8Array(width * height);
  const ignore = classes.ignoreIndex;
  const ignoreUnknown = decoding.unknown === 'ignore';
  let unknown = 0;
  const gray = channels < 3;
  for (let p = 0, i = 0; p < out.length; p++, i += channels) {
    const k = gray ? colorKey(d[i]!, d[i]!, d[i]!) : (d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!;
    const s = table[k]!;
    if (s !== 0) out[p] = slotIds[s - 1]!;
    else if (ignoreUnknown) {
      out[p] = ignore;
      unknown++;
    } else {
      const c = gray ? [d[i]!, d[i]!, d[i]!] : [d[i]!, d[i + 1]!, d[i + 2]!];
      throw new DataError(
        file,
        `unknown label colour ${formatColor(c)} at pixel (x=${p % width}, y=${Math.floor(p / width)}); ` +
          `it is not one of the ${decoding.colors.length} palette colours (use unknownColors 'ignore' to map such pixels to ${ignore})`,
      );
    }
  }
  return { width, height, label: out, unknownPixels: unknown };
}

/** Decodes a frame: image and label in parallel, sizes checked against each other. */
export async function decodeSample(ref: SampleRef, decoding: LabelDecoding, classes: ClassInfo): Promise<DecodedSample> {
  const [img, lab] = await Promise.all([decodeImage(ref.image), decodeLabel(ref.label, decoding, classes)]);
  if (img.width !== lab.width || img.height !== lab.height) {
    throw new DataError(
      ref.label,
      `label is ${lab.width}x${lab.height} but its image ${ref.image} is ${img.width}x${img.height} (sample ${ref.id})`,
    );
  }
  return {
    id: ref.id,
    width: img.width,
    height: img.height,
    image: img.data,
    label: lab.label,
    unknownPixels: lab.unknownPixels,
  };
}
