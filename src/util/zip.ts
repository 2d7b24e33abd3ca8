// Minimal ZIP reader/writer for checkpoint containers (torch.save zips, our own bundles).
//
// Reading is driven by the central directory (never by scanning local headers), supports the
// "stored" (0) and "deflate" (8) methods and ZIP64 (sizes/offsets in the zip64 extra field, the
// zip64 end-of-central-directory record and locator; torch.save always writes the zip64 records).
// Not supported, and rejected with an error: encryption, multi-disk archives, other methods.
//
// Stored entries are returned as subarray views that ALIAS the input buffer (no copy); deflated
// entries are freshly inflated buffers. Every entry's CRC-32 is verified when it is extracted.
import * as zlib from 'node:zlib';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;

const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;

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

// ---------------------------------------------------------------- CRC-32

let crcTable: Uint32Array | undefined;
function crc32Table(): Uint32Array {
  if (crcTable) return crcTable;
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  crcTable = t;
  return t;
}

/** CRC-32 (IEEE, as used by zip/gzip). Uses zlib.crc32 when the runtime has it (Node >= 20.15). */
export function crc32(data: Uint8Array): number {
  const native = (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
  if (typeof native === 'function') return native(data) >>> 0;
  const t = crc32Table();
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------- reading

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function u64(dv: DataView, off: number, file: string, what: string): number {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${file}: corrupt zip: ${what} ${v} is too large`);
  return Number(v);
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
    this.dv = view(buf);
    this.parseCentralDirectory();
  }

  private fail(msg: string): never {
    throw new Error(`${this.file}: corrupt zip: ${msg}`);
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
    const diskNo = dv.getUint16(eocd + 4, true);
    const cdDisk = dv.getUint16(eocd + 6, true);
    let count = dv.getUint16(eocd + 10, true);
    let cdSize = dv.getUint32(eocd + 12, true);
    let cdOffset = dv.getUint32(eocd + 16, true);

    const loc = eocd - 20;
    if (loc >= 0 && dv.getUint32(loc, true) === SIG_ZIP64_LOCATOR) {
      const z64 = u64(dv, loc + 8, this.file, 'zip64 end-of-central-directory offset');
      if (z64 + 56 > loc) this.fail(`zip64 end-of-central-directory offset ${z64} is out of range`);
      if (dv.getUint32(z64, true) !== SIG_ZIP64_EOCD) this.fail(`bad zip64 end-of-central-directory signature at offset ${z64}`);
      if (dv.getUint32(z64 + 16, true) !== 0 || dv.getUint32(z64 + 20, true) !== 0) this.fail('multi-disk archives are not supported');
      count = u64(dv, z64 + 32, this.file, 'entry count');
      cdSize = u64(dv, z64 + 40, this.file, 'central directory size');
      cdOffset = u64(dv, z64 + 48, this.file, 'central directory offset');
    } else {
      if (diskNo !== 0 || cdDisk !== 0) this.fail('multi-disk archives are not supported');
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
          if (usize === 0xffffffff) { need(8); usize = u64(dv, q, this.file, `size of "${name}"`); q += 8; }
          if (csize === 0xffffffff) { need(8); csize = u64(dv, q, this.file, `compressed size of "${name}"`); q += 8; }
          if (lho === 0xffffffff) { need(8); lho = u64(dv, q, this.file, `offset of "${name}"`); q += 8; }
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
   * zip buffer; do not mutate them unless you own that buffer.
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
    let out: Uint8Array;
    if (ent.method === METHOD_STORED) {
      out = raw;
    } else {
      try {
        // Bounded by the declared size, so a lying header (a zip bomb) fails before allocating the rest.
        out = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, ent.size) });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
          this.fail(`entry "${name}" inflates to more than its declared ${ent.size} bytes`);
        }
        this.fail(`cannot inflate "${name}": ${(err as Error).message}`);
      }
      if (out.length !== ent.size) this.fail(`entry "${name}" inflated to ${out.length} bytes, expected ${ent.size}`);
    }
    const c = crc32(out);
    if (c !== ent.crc32) {
      this.fail(`CRC mismatch for "${name}": computed ${hex32(c)}, expected ${hex32(ent.crc32)}`);
    }
    return out;
  }
}

function hex32(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

/** List the entries of a zip buffer without extracting anything. */
export function listZip(buf: Uint8Array, name: string): ZipEntry[] {
  return [...new ZipReader(buf, name).entries()];
}

/**
 * Extract every entry of a zip held in memory (CRC-checked). `name` is the file name used in
 * error messages. Stored entries alias `buf` (see ZipReader.read).
 */
export function readZip(buf: Uint8Array, name: string): Map<string, Uint8Array> {
  const z = new ZipReader(buf, name);
  const out = new Map<string, Uint8Array>();
  for (const e of z.entries()) out.set(e.name, z.read(e.name));
  return out;
}

// ---------------------------------------------------------------- writing

export interface ZipWriteEntry {
  name: string;
  data: Uint8Array;
  /** deflate the entry (default false: stored) */
  compress?: boolean;
}

export interface ZipWriteOptions {
  /**
   * Always write zip64 records (extra fields and zip64 end of central directory), as torch.save
   * does. Zip64 is used automatically whenever a size, offset or the entry count needs it.
   */
  forceZip64?: boolean;
  /** Align the data of stored entries to this many bytes (padding in the local extra field). */
  align?: number;
}

const U32_MAX = 0xffffffff;

/** Build a zip archive in memory. Entry names must be unique. */
export function writeZip(entries: ZipWriteEntry[], opts: ZipWriteOptions = {}): Uint8Array {
  const enc = new TextEncoder();
  const seen = new Set<string>();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const align = opts.align ?? 0;
  // DOS date 1980-01-01 00:00 so output is deterministic.
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;

  for (const ent of entries) {
    if (seen.has(ent.name)) throw new Error(`writeZip: duplicate entry name "${ent.name}"`);
    seen.add(ent.name);
    const nameBytes = enc.encode(ent.name);
    if (nameBytes.length > 0xffff) throw new Error(`writeZip: entry name too long: "${ent.name.slice(0, 64)}..."`);
    const crc = crc32(ent.data);
    const method = ent.compress ? METHOD_DEFLATE : METHOD_STORED;
    const payload = ent.compress ? zlib.deflateRawSync(ent.data) : ent.data;
    const usize = ent.data.length;
    const csize = payload.length;
    const lho = offset;
    const zip64 = opts.forceZip64 || usize >= U32_MAX || csize >= U32_MAX || lho >= U32_MAX;

    // local header; its zip64 extra carries both sizes (required when either is saturated)
    let localExtraLen = zip64 ? 20 : 0;
    let pad = 0;
    if (align > 1 && method === METHOD_STORED) {
      const dataStart = offset + 30 + nameBytes.length + localExtraLen;
      pad = (align - ((dataStart + 4) % align)) % align; // +4 for the padding field's own header
      localExtraLen += 4 + pad;
    }
    const local = new Uint8Array(30 + nameBytes.length + localExtraLen);
    const ldv = view(local);
    ldv.setUint32(0, SIG_LOCAL, true);
    ldv.setUint16(4, zip64 ? 45 : 20, true);
    ldv.setUint16(6, 0x0800, true); // UTF-8 names
    ldv.setUint16(8, method, true);
    ldv.setUint16(10, dosTime, true);
    ldv.setUint16(12, dosDate, true);
    ldv.setUint32(14, crc, true);
    ldv.setUint32(18, zip64 ? U32_MAX : csize, true);
    ldv.setUint32(22, zip64 ? U32_MAX : usize, true);
    ldv.setUint16(26, nameBytes.length, true);
    ldv.setUint16(28, localExtraLen, true);
    local.set(nameBytes, 30);
    let q = 30 + nameBytes.length;
    if (zip64) {
      ldv.setUint16(q, 0x0001, true);
      ldv.setUint16(q + 2, 16, true);
      ldv.setBigUint64(q + 4, BigInt(usize), true);
      ldv.setBigUint64(q + 12, BigInt(csize), true);
      q += 20;
    }
    if (align > 1 && method === METHOD_STORED) {
      ldv.setUint16(q, 0x4246, true); // "FB", the padding id torch's writer uses
      ldv.setUint16(q + 2, pad, true);
    }
    parts.push(local, payload);
    offset += local.length + payload.length;

    // central directory header
    const cExtraLen = zip64 ? 28 : 0;
    const cen = new Uint8Array(46 + nameBytes.length + cExtraLen);
    const cdv = view(cen);
    cdv.setUint32(0, SIG_CENTRAL, true);
    cdv.setUint16(4, zip64 ? 45 : 20, true);
    cdv.setUint16(6, zip64 ? 45 : 20, true);
    cdv.setUint16(8, 0x0800, true);
    cdv.setUint16(10, method, true);
    cdv.setUint16(12, dosTime, true);
    cdv.setUint16(14, dosDate, true);
    cdv.setUint32(16, crc, true);
    cdv.setUint32(20, zip64 ? U32_MAX : csize, true);
    cdv.setUint32(24, zip64 ? U32_MAX : usize, true);
    cdv.setUint16(28, nameBytes.length, true);
    cdv.setUint16(30, cExtraLen, true);
    cdv.setUint16(32, 0, true);
    cdv.setUint16(34, 0, true);
    cdv.setUint16(36, 0, true);
    cdv.setUint32(38, 0, true);
    cdv.setUint32(42, zip64 ? U32_MAX : lho, true);
    cen.set(nameBytes, 46);
    if (zip64) {
      const r = 46 + nameBytes.length;
      cdv.setUint16(r, 0x0001, true);
      cdv.setUint16(r + 2, 24, true);
      cdv.setBigUint64(r + 4, BigInt(usize), true);
      cdv.setBigUint64(r + 12, BigInt(csize), true);
      cdv.setBigUint64(r + 20, BigInt(lho), true);
    }
    central.push(cen);
  }

  const cdOffset = offset;
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  parts.push(...central);
  offset += cdSize;
  const count = entries.length;
  const zip64End = opts.forceZip64 || count >= 0xffff || cdSize >= U32_MAX || cdOffset >= U32_MAX;
  if (zip64End) {
    const rec = new Uint8Array(56 + 20);
    const rdv = view(rec);
    rdv.setUint32(0, SIG_ZIP64_EOCD, true);
    rdv.setBigUint64(4, 44n, true); // size of the remaining record
    rdv.setUint16(12, 45, true);
    rdv.setUint16(14, 45, true);
    rdv.setUint32(16, 0, true);
    rdv.setUint32(20, 0, true);
    rdv.setBigUint64(24, BigInt(count), true);
    rdv.setBigUint64(32, BigInt(count), true);
    rdv.setBigUint64(40, BigInt(cdSize), true);
    rdv.setBigUint64(48, BigInt(cdOffset), true);
    rdv.setUint32(56, SIG_ZIP64_LOCATOR, true);
    rdv.setUint32(60, 0, true);
    rdv.setBigUint64(64, BigInt(offset), true);
    rdv.setUint32(72, 1, true);
    parts.push(rec);
    offset += rec.length;
  }
  const eocd = new Uint8Array(22);
  const edv = view(eocd);
  edv.setUint32(0, SIG_EOCD, true);
  edv.setUint16(8, Math.min(count, 0xffff), true);
  edv.setUint16(10, Math.min(count, 0xffff), true);
  edv.setUint32(12, zip64End ? U32_MAX : cdSize, true);
  edv.setUint32(16, zip64End ? U32_MAX : cdOffset, true);
  parts.push(eocd);
  offset += 22;

  const out = new Uint8Array(offset);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
