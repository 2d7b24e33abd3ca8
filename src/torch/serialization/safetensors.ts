// safetensors reader/writer (https://github.com/huggingface/safetensors), no tensor dependency.
//
// Layout: u64 LE header length N, N bytes of UTF-8 JSON
//   {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}
// (offsets relative to the start of the data section, i.e. byte 8 + N), then the data section.
//
// Validation follows the reference Rust implementation: the tensors' byte ranges must exactly
// tile the data section (no overlaps, no holes, no trailing bytes) and each range must be exactly
// numel(shape) * dtype size bytes.
import * as fs from 'node:fs';
import { writeFileAtomic } from '../../util/fs.js';
import {
  type DType, type RawTensor, dtypeSize, fromSafetensorsDType, isDType, toSafetensorsDType,
} from './types.js';

/** Same limit as the reference implementation (100 MB of header JSON). */
const MAX_HEADER_SIZE = 100_000_000;

export interface SafetensorsFile {
  /** In data order (ascending offsets). Each `data` is a view that ALIASES the parsed buffer. */
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Assign an own property even for names like "__proto__". */
function setOwn<T>(obj: Record<string, T>, k: string, v: T): void {
  Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parse a safetensors file held in memory. `file` names the file in error messages. The returned
 * tensors' `data` are subarray views into `buf` (no copy): mutating them mutates `buf`, and they
 * keep `buf` alive.
 */
export function parseSafetensors(buf: Uint8Array, file: string): SafetensorsFile {
  const fail = (msg: string): never => {
    throw new Error(`${file}: invalid safetensors file: ${msg}`);
  };
  if (buf.byteLength < 8) fail(`truncated: ${buf.byteLength} bytes, too small for the 8-byte header length`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(buf.byteLength - 8)) {
    fail(`header length ${n64} exceeds the ${buf.byteLength - 8} bytes after the length field (truncated file?)`);
  }
  const n = Number(n64);
  if (n > MAX_HEADER_SIZE) fail(`header length ${n} exceeds the ${MAX_HEADER_SIZE}-byte limit`);
  if (n < 2) fail(`header length ${n} is too small for a JSON object`);

  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n));
  } catch {
    fail('header is not valid UTF-8');
  }
  if (text[0] !== '{') fail(`header does not start with "{" (got ${JSON.stringify(text.slice(0, 16))})`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(header)) fail('header JSON is not an object');
  const h = header as Record<string, unknown>;

  const metadata: Record<string, string> = {};
  if (Object.prototype.hasOwnProperty.call(h, '__metadata__')) {
    const m = h['__metadata__'];
    if (!isPlainObject(m)) fail('"__metadata__" is not an object of strings');
    for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(`"__metadata__" value for "${k}" is not a string`);
      setOwn(metadata, k, v as string);
    }
  }

  const dataStart = 8 + n;
  const dataLen = buf.byteLength - dataStart;
  interface Info { name: string; dtype: DType; shape: number[]; begin: number; end: number }
  const infos: Info[] = [];
  for (const [name, raw] of Object.entries(h)) {
    if (name === '__metadata__') continue;
    const bad = (msg: string): never => fail(`tensor "${name}": ${msg}`);
    if (!isPlainObject(raw)) bad('entry is not an object');
    const e = raw as Record<string, unknown>;
    const tag = e['dtype'];
    if (typeof tag !== 'string') bad('missing or non-string "dtype"');
    const dtype = fromSafetensorsDType(tag as string);
    if (dtype === undefined) bad(`unknown or unsupported dtype ${JSON.stringify(tag)}`);
    const shape = e['shape'];
    if (!Array.isArray(shape)) bad('missing or non-array "shape"');
    for (const d of shape as unknown[]) {
      if (!isNonNegInt(d)) bad(`shape ${JSON.stringify(shape)} has a dimension that is not a non-negative integer`);
    }
    const offs = e['data_offsets'];
    if (!Array.isArray(offs) || offs.length !== 2 || !isNonNegInt(offs[0]) || !isNonNegInt(offs[1])) {
      bad(`"data_offsets" ${JSON.stringify(offs)} is not a pair of non-negative integers`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) bad(`data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLen) bad(`data_offsets [${begin}, ${end}] are out of range: the data section is ${dataLen} bytes`);
    // numel * size with an overflow check (BigInt; shapes are small arrays)
    let bytes = BigInt(dtypeSize(dtype!));
    for (const d of shape as number[]) bytes *= BigInt(d);
    if (bytes !== BigInt(end - begin)) {
      bad(`shape ${JSON.stringify(shape)} x ${tag} (${dtypeSize(dtype!)} bytes) needs ${bytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    infos.push({ name, dtype: dtype!, shape: (shape as number[]).slice(), begin, end });
  }

  // The byte ranges must tile [0, dataLen) exactly.
  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: Info | undefined;
  for (const t of infos) {
    if (t.begin < pos) {
      fail(`tensor "${t.name}" data_offsets [${t.begin}, ${t.end}] overlap tensor "${prev!.name}" [${prev!.begin}, ${prev!.end}]`);
    }
    if (t.begin > pos) {
      fail(`tensor "${t.name}" data_offsets [${t.begin}, ${t.end}] leave a hole: bytes [${pos}, ${t.begin}) belong to no tensor`);
    }
    pos = t.end;
    prev = t;
  }
  if (pos !== dataLen) {
    fail(`data section is ${dataLen} bytes but the tensors cover only ${pos} (trailing bytes)`);
  }

  const tensors = new Map<string, RawTensor>();
  for (const t of infos) {
    tensors.set(t.name, { dtype: t.dtype, shape: t.shape, data: buf.subarray(dataStart + t.begin, dataStart + t.end) });
  }
  return { tensors, metadata };
}

/** Read and parse a .safetensors file (the tensors alias one buffer holding the whole file). */
export function readSafetensors(file: string): SafetensorsFile {
  return parseSafetensors(fs.readFileSync(file), file);
}

const enc = new TextEncoder();

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Encode tensors as safetensors, returned as chunks (header, then each tensor's bytes, not copied)
 * to be written in sequence. Order matches HF's writer: dtype size descending, then name (byte
 * order), so every tensor is aligned to its element size given the 8-byte-padded header. The
 * header JSON is compact, "__metadata__" first (omitted when empty), padded with spaces.
 */
export function encodeSafetensors(
  tensors: Map<string, RawTensor> | Record<string, RawTensor>,
  metadata?: Record<string, string>,
): Uint8Array[] {
  const entries: [string, RawTensor][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, t] of entries) {
    const bad = (msg: string): never => {
      throw new Error(`encodeSafetensors: tensor "${name}": ${msg}`);
    };
    if (name === '__metadata__') bad('"__metadata__" is a reserved name');
    if (!isDType(t.dtype)) bad(`unknown dtype ${JSON.stringify(t.dtype)}`);
    if (!Array.isArray(t.shape) || !t.shape.every(isNonNegInt)) bad(`shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`);
    let bytes = dtypeSize(t.dtype);
    for (const d of t.shape) bytes *= d;
    if (!(t.data instanceof Uint8Array)) bad('data is not a Uint8Array');
    if (t.data.byteLength !== bytes) bad(`data is ${t.data.byteLength} bytes but shape ${JSON.stringify(t.shape)} x ${t.dtype} needs ${bytes}`);
  }
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`encodeSafetensors: metadata value for "${k}" is not a string`);
    }
  }
  entries.sort((a, b) => dtypeSize(b[1].dtype) - dtypeSize(a[1].dtype) || compareUtf8(a[0], b[0]));

  // Built by hand rather than via an object so names like "__proto__" survive.
  const parts: string[] = [];
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    const m = Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`"__metadata__":{${m.join(',')}}`);
  }
  let off = 0;
  for (const [name, t] of entries) {
    const end = off + t.data.byteLength;
    const info = { dtype: toSafetensorsDType(t.dtype), shape: t.shape, data_offsets: [off, end] };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    off = end;
  }
  const json = enc.encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + padded);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  head.fill(0x20, 8 + json.length);
  return [head, ...entries.map(([, t]) => t.data)];
}

/** Write a .safetensors file atomically (temp file + fsync + rename). */
export function writeSafetensors(
  file: string,
  tensors: Map<string, RawTensor> | Record<string, RawTensor>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}
