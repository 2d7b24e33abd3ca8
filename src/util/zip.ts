// ZIP reading for torch.save checkpoints (pytorch_model.bin) and dataset archives.
//
// DEFLATE decoding is fflate's (its streaming Inflate, so a size budget can stop a zip bomb early);
// zips are written with fflate's zipSync (tests). The central-directory reader below stays
// hand-written because fflate 0.8's readers cannot give what callers rely on (checked against 0.8.3):
//  - unzipSync never verifies CRC-32: a flipped byte in a stored entry comes back silently.
//  - it inflates into a buffer of the *declared* size and drops the rest, so a lying header yields
//    silently truncated data, and decodes the whole stream anyway (a 1 MiB bomb costs ~1 s of CPU
//    per GiB it expands to before returning).
//  - it exposes no entry list with data offsets or CRCs: reading one entry (its `filter` option)
//    re-walks the whole directory and copies stored entries, where we return views of the buffer
//    (a 300 MB checkpoint is not duplicated) and look entries up by name.
//  - on truncated or malformed input it throws "invalid zip data" (or reads past the end) without
//    saying which file or structure is bad; duplicate names silently overwrite each other, and
//    encrypted entries are not rejected.
//  - its streaming Unzip follows local headers, not the central directory, and checks no CRC either.
// So this file parses the end-of-central-directory record (with the ZIP64 record and locator that
// torch.save always writes), the central directory (ZIP64 extra fields included) and local headers.
// Not supported, and rejected with an error: encryption, multi-disk archives, methods other than
// stored (0) and deflate (8).
import * as zlib from 'node:zlib';
import { Inflate } from 'fflate';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;

const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;

/** Compressed bytes handed to the inflater per step: bounds the overshoot past a size budget. */
const INFLATE_CHUNK = 1 << 16;

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  /** offset of the local file header */
  localHeaderOffset: number;
}

let crcTable: Uint32Array | undefined;

/**
 * CRC-32 (IEEE, as in zip/gzip/PNG). fflate keeps its CRC private, so this uses zlib.crc32, with a
 * table fallback for Node 20 releases before 20.15 (package.json allows any Node 20).
 */
export function crc32(data: Uint8Array): number {
  const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  if (typeof native === 'function') return native(data) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function hex32(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

/** Thrown from the inflater's data callback to stop decoding once the budget is exceeded. */
class OverBudget extends Error {}

/**
 * Inflates raw DEFLATE data that must decode to exactly `size` bytes. Input goes in INFLATE_CHUNK
 * slices and output is counted as it arrives, so a stream expanding past `size` is stopped within
 * one slice's output instead of being decoded to the end.
 */
function inflateExactly(raw: Uint8Array, size: number, fail: (msg: string) => never, name: string): Uint8Array {
  const out = new Uint8Array(size);
  let got = 0;
  const inflater = new Inflate((chunk) => {
    if (got + chunk.length > size) throw new OverBudget();
    out.set(chunk, got);
    got += chunk.length;
  });
  try {
    let i = 0;
    do {
      const end = Math.min(i + INFLATE_CHUNK, raw.length);
      inflater.push(raw.subarray(i, end), end === raw.length);
      i = end;
    } while (i < raw.length);
  } catch (err) {
    if (err instanceof OverBudget) fail(`entry "${name}" inflates to more than its declared ${size} bytes`);
    fail(`cannot inflate "${name}": ${(err as Error).message}`);
  }
  if (got !== size) fail(`entry "${name}" inflated to ${got} bytes, expected ${size}`);
  return out;
}

/**
 * Lazy ZIP reader: parses the central directory on construction, extracts entries on demand.
 * `file` is only used in error messages.
 */
export class ZipReader {
  readonly file: string;
  private readonly buf: Uint8Array;
  private readonly dv: DataView;
  private readonly byName = new Map<string, ZipEntry>();
  private readonly list: ZipEntry[] = [];

  constructor(buf: Uint8Array, file: string) {
    this.buf = buf;
    this.file = file;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.parseCentralDirectory();
  }

  private fail(msg: string): never {
    throw new Error(`${this.file}: corrupt zip: ${msg}`);
  }

  private u64(off: number, what: string): number {
    const v = this.dv.getBigUint64(off, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} ${v} is too large`);
    return Number(v);
  }

  private findEocd(): number {
    const buf = this.buf;
    if (buf.length < 22) this.fail(`file is truncated (${buf.length} bytes, too small for an end-of-central-directory record)`);
    // The EOCD is 22 bytes plus a comment of at most 65535 bytes, at the very end of the file.
    const stop = Math.max(0, buf.length - 22 - 0xffff);
    for (let i = buf.length - 22; i >= stop; i--) {
      if (buf[i] === 0x50 && buf[i + 1] === 0x4b && buf[i + 2] === 0x05 && buf[i + 3] === 0x06) {
        const commentLen = this.dv.getUint16(i + 20, true);
        if (i + 22 + commentLen === buf.length) return i;
      }
    }
    this.fail('end-of-central-directory record not found (not a zip file, or truncated)');
  }

  private parseCentralDirectory(): void {
    const dv = this.dv;
    const eocd = this.findEocd();
    let count = dv.getUint16(eocd + 10, true);
    let cdSize = dv.getUint32(eocd + 12, true);
    let cdOffset = dv.getUint32(eocd + 16, true);

    const loc = eocd - 20;
    if (loc >= 0 && dv.getUint32(loc, true) === SIG_ZIP64_LOCATOR) {
      const z64 = this.u64(loc + 8, 'zip64 end-of-central-directory offset');
      if (z64 + 56 > loc) this.fail(`zip64 end-of-central-directory offset ${z64} is out of range`);
      if (dv.getUint32(z64, true) !== SIG_ZIP64_EOCD) this.fail(`bad zip64 end-of-central-directory signature at offset ${z64}`);
      if (dv.getUint32(z64 + 16, true) !== 0 || dv.getUint32(z64 + 20, true) !== 0) this.fail('multi-disk archives are not supported');
      count = this.u64(z64 + 32, 'entry count');
      cdSize = this.u64(z64 + 40, 'central directory size');
      cdOffset = this.u64(z64 + 48, 'central directory offset');
    } else {
      if (dv.getUint16(eocd + 4, true) !== 0 || dv.getUint16(eocd + 6, true) !== 0) this.fail('multi-disk archives are not supported');
      if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
        this.fail('zip64 values are used but the zip64 end-of-central-directory locator is missing');
      }
    }
    if (cdOffset + cdSize > this.buf.length) {
      this.fail(`central directory (offset ${cdOffset}, ${cdSize} bytes) extends beyond the end of the file (${this.buf.length} bytes): truncated?`);
    }

    const dec = new TextDecoder('utf-8');
    let p = cdOffset;
    const end = cdOffset + cdSize;
    for (let i = 0; i < count; i++) {
      if (p + 46 > end) this.fail(`central directory is truncated at entry ${i} of ${count}`);
      if (dv.getUint32(p, true) !== SIG_CENTRAL) this.fail(`bad central directory signature at offset ${p} (entry ${i})`);
      const flags = dv.getUint16(p + 8, true);
      const method = dv.getUint16(p + 10, true);
      const crc = dv.getUint32(p + 16, true);
      let csize = dv.getUint32(p + 20, true);
      let usize = dv.getUint32(p + 24, true);
      const nameLen = dv.getUint16(p + 28, true);
      const extraLen = dv.getUint16(p + 30, true);
      const commentLen = dv.getUint16(p + 32, true);
      let diskStart = dv.getUint16(p + 34, true);
      let lho = dv.getUint32(p + 42, true);
      const varEnd = p + 46 + nameLen + extraLen + commentLen;
      if (varEnd > end) this.fail(`central directory entry ${i} is truncated`);
      const name = dec.decode(this.buf.subarray(p + 46, p + 46 + nameLen));

      // zip64 extended information extra field (id 0x0001): only the fields that are saturated
      // in the fixed header are present, in this order.
      let e = p + 46 + nameLen;
      const eEnd = e + extraLen;
      while (e + 4 <= eEnd) {
        const id = dv.getUint16(e, true);
        const len = dv.getUint16(e + 2, true);
        if (e + 4 + len > eEnd) this.fail(`extra field of entry "${name}" is truncated`);
        if (id === 0x0001) {
          let q = e + 4;
          const need = (n: number): void => {
            if (q + n > e + 4 + len) this.fail(`zip64 extra field of entry "${name}" is too short`);
          };
          if (usize === 0xffffffff) { need(8); usize = this.u64(q, `size of "${name}"`); q += 8; }
          if (csize === 0xffffffff) { need(8); csize = this.u64(q, `compressed size of "${name}"`); q += 8; }
          if (lho === 0xffffffff) { need(8); lho = this.u64(q, `offset of "${name}"`); q += 8; }
          if (diskStart === 0xffff) { need(4); diskStart = dv.getUint32(q, true); q += 4; }
        }
        e += 4 + len;
      }
      if (flags & 1) this.fail(`entry "${name}" is encrypted (not supported)`);
      if (diskStart !== 0) this.fail(`entry "${name}" starts on disk ${diskStart} (multi-disk archives are not supported)`);
      if (method !== METHOD_STORED && method !== METHOD_DEFLATE) this.fail(`entry "${name}" uses unsupported compression method ${method}`);
      if (method === METHOD_STORED && csize !== usize) this.fail(`stored entry "${name}" has compressed size ${csize} != size ${usize}`);
      if (this.byName.has(name)) this.fail(`duplicate entry "${name}"`);
      const entry: ZipEntry = { name, method, compressedSize: csize, size: usize, crc32: crc, localHeaderOffset: lho };
      this.byName.set(name, entry);
      this.list.push(entry);
      p = varEnd;
    }
  }

  /** All entries, in central-directory order. */
  entries(): readonly ZipEntry[] {
    return this.list;
  }

  names(): string[] {
    return this.list.map((e) => e.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  entry(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /**
   * The uncompressed bytes of entry `name`, CRC-checked. Stored entries are views aliasing the
   * zip buffer (do not mutate them unless you own that buffer); deflated ones are new buffers.
   */
  read(name: string): Uint8Array {
    const ent = this.byName.get(name);
    if (!ent) throw new Error(`${this.file}: zip has no entry "${name}"`);
    const dv = this.dv;
    const p = ent.localHeaderOffset;
    if (p + 30 > this.buf.length) this.fail(`local header of "${name}" at offset ${p} is beyond the end of the file (truncated?)`);
    if (dv.getUint32(p, true) !== SIG_LOCAL) this.fail(`bad local header signature for "${name}" at offset ${p}`);
    const nameLen = dv.getUint16(p + 26, true);
    const extraLen = dv.getUint16(p + 28, true);
    const localName = new TextDecoder('utf-8').decode(this.buf.subarray(p + 30, p + 30 + nameLen));
    if (localName !== name) this.fail(`local header name "${localName}" does not match central directory name "${name}"`);
    const start = p + 30 + nameLen + extraLen;
    const stop = start + ent.compressedSize;
    if (stop > this.buf.length) {
      this.fail(`data of "${name}" (${ent.compressedSize} bytes at offset ${start}) extends beyond the end of the file (${this.buf.length} bytes): truncated?`);
    }
    const raw = this.buf.subarray(start, stop);
    const out = ent.method === METHOD_STORED ? raw : inflateExactly(raw, ent.size, (m) => this.fail(m), name);
    const c = crc32(out);
    if (c !== ent.crc32) this.fail(`CRC mismatch for "${name}": computed ${hex32(c)}, expected ${hex32(ent.crc32)}`);
    return out;
  }
}
