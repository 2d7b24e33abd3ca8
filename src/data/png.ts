// Just enough PNG to (a) read a header cheaply and (b) read the raw indices of a palette (colour type 3)
// PNG. sharp expands palettes to RGB and offers no way to get the indices, but index masks saved by many
// tools (VOC-style) are palette PNGs whose index *is* the class id. Everything else is decoded by sharp.
import { inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA */
  colorType: number;
  interlace: number;
}

/** Parses the signature and IHDR. Throws a plain Error (the caller adds the file name) if it is not a PNG. */
export function readPngHeader(buf: Uint8Array): PngHeader {
  if (buf.length < 33) throw new Error(`not a PNG (file is ${buf.length} bytes)`);
  for (let i = 0; i < 8; i++) if (buf[i] !== SIGNATURE[i]) throw new Error('not a PNG (bad signature)');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const type = String.fromCharCode(buf[12]!, buf[13]!, buf[14]!, buf[15]!);
  if (type !== 'IHDR') throw new Error('corrupt PNG (first chunk is not IHDR)');
  const h: PngHeader = {
    width: dv.getUint32(16),
    height: dv.getUint32(20),
    bitDepth: buf[24]!,
    colorType: buf[25]!,
    interlace: buf[28]!,
  };
  if (h.width === 0 || h.height === 0) throw new Error(`corrupt PNG (size ${h.width}x${h.height})`);
  return h;
}

/**
 * Walks the chunk list: every chunk must fit in the file, and the file must end with IEND. Catches
 * truncated files even where a decoder would accept them because the pixel data happened to be complete.
 * Does not inflate anything (cheap); CRCs are not checked.
 */
export function checkPngChunks(buf: Uint8Array): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 8;
  let idat = false;
  while (pos < buf.length) {
    if (pos + 12 > buf.length) throw new Error(`truncated PNG (chunk header cut off at byte ${pos} of ${buf.length})`);
    const len = dv.getUint32(pos);
    const type = String.fromCharCode(buf[pos + 4]!, buf[pos + 5]!, buf[pos + 6]!, buf[pos + 7]!);
    if (!/^[A-Za-z]{4}$/.test(type)) throw new Error(`corrupt PNG (bad chunk type at byte ${pos})`);
    if (pos + 12 + len > buf.length) throw new Error(`truncated PNG (${type} chunk at byte ${pos} needs ${len} bytes, file ends at ${buf.length})`);
    if (type === 'IDAT') idat = true;
    if (type === 'IEND') {
      if (!idat) throw new Error('corrupt PNG (no image data)');
      return;
    }
    pos += 12 + len;
  }
  throw new Error('truncated PNG (no IEND chunk)');
}

/** True if the bytes are a palette PNG (colour type 3). */
export function isPalettePng(buf: Uint8Array): boolean {
  return buf.length >= 26 && buf[25] === 3 && buf[0] === 0x89 && buf[1] === 0x50;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Reverses the PNG scanline filters of one (sub)image in place; returns the unfiltered rows (no filter bytes). */
function unfilter(data: Uint8Array, offset: number, rowBytes: number, rows: number, bpp: number): Uint8Array {
  const out = new Uint8Array(rowBytes * rows);
  for (let y = 0; y < rows; y++) {
    const f = data[offset + y * (rowBytes + 1)];
    const src = offset + y * (rowBytes + 1) + 1;
    const o = y * rowBytes;
    const p = o - rowBytes;
    for (let x = 0; x < rowBytes; x++) {
      const raw = data[src + x]!;
      const a = x >= bpp ? out[o + x - bpp]! : 0;
      const b = y > 0 ? out[p + x]! : 0;
      let v: number;
      switch (f) {
        case 0: v = raw; break;
        case 1: v = raw + a; break;
        case 2: v = raw + b; break;
        case 3: v = raw + ((a + b) >> 1); break;
        case 4: v = raw + paeth(a, b, x >= bpp && y > 0 ? out[p + x - bpp]! : 0); break;
        default: throw new Error(`corrupt PNG (unknown filter type ${f} on row ${y})`);
      }
      out[o + x] = v & 255;
    }
  }
  return out;
}

/**
 * Decodes a palette PNG to its raw indices (one byte per pixel, row-major), for bit depths 1/2/4/8 and
 * Adam7 interlacing. Verifies chunk lengths and that the image data is complete; CRCs are not checked
 * (zlib's own checksum covers the pixel data).
 */
export function decodePaletteIndices(buf: Uint8Array): { width: number; height: number; indices: Uint8Array } {
  const h = readPngHeader(buf);
  if (h.colorType !== 3) throw new Error(`not a palette PNG (colour type ${h.colorType})`);
  if (![1, 2, 4, 8].includes(h.bitDepth)) throw new Error(`corrupt PNG (palette bit depth ${h.bitDepth})`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const idat: Uint8Array[] = [];
  let pos = 8;
  let sawEnd = false;
  while (pos < buf.length) {
    if (pos + 12 > buf.length) throw new Error('truncated PNG (chunk header cut off)');
    const len = dv.getUint32(pos);
    const type = String.fromCharCode(buf[pos + 4]!, buf[pos + 5]!, buf[pos + 6]!, buf[pos + 7]!);
    if (pos + 12 + len > buf.length) throw new Error(`truncated PNG (${type} chunk cut off)`);
    if (type === 'IDAT') idat.push(buf.subarray(pos + 8, pos + 8 + len));
    pos += 12 + len;
    if (type === 'IEND') {
      sawEnd = true;
      break;
    }
  }
  if (!sawEnd) throw new Error('truncated PNG (no IEND chunk)');
  if (idat.length === 0) throw new Error('corrupt PNG (no image data)');
  let data: Uint8Array;
  try {
    data = inflateSync(Buffer.concat(idat));
  } catch (e) {
    throw new Error(`corrupt PNG (image data does not inflate: ${(e as Error).message})`);
  }
  const { width, height, bitDepth } = h;
  const indices = new Uint8Array(width * height);
  const perByte = 8 / bitDepth;
  const mask = (1 << bitDepth) - 1;
  // Adam7 passes: [xStart, yStart, xStep, yStep]; a non-interlaced image is one pass covering everything.
  const passes = h.interlace
    ? [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]]
    : [[0, 0, 1, 1]];
  let off = 0;
  for (const [x0, y0, dx, dy] of passes as [number, number, number, number][]) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const rowBytes = Math.ceil(pw / perByte);
    const need = (rowBytes + 1) * ph;
    if (off + need > data.length) throw new Error('truncated PNG (image data ends early)');
    const rows = unfilter(data, off, rowBytes, ph, 1);
    off += need;
    for (let y = 0; y < ph; y++) {
      const r = y * rowBytes;
      const o = (y0 + y * dy) * width;
      for (let x = 0; x < pw; x++) {
        let v: number;
        if (bitDepth === 8) v = rows[r + x]!;
        else {
          const byte = rows[r + Math.floor(x / perByte)]!;
          const shift = 8 - bitDepth * ((x % perByte) + 1);
          v = (byte >> shift) & mask;
        }
        indices[o + x0 + x * dx] = v;
      }
    }
  }
  return { width, height, indices };
}
