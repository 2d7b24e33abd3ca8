// Reader for PyTorch `torch.save` checkpoints in the zip format (torch >= 1.6), e.g. HF
// `pytorch_model.bin`. Layout:
//   <prefix>/data.pkl      pickle of the state_dict; tensors reference storages by persistent id
//   <prefix>/data/<key>    raw storage bytes
//   <prefix>/byteorder     "little" | "big" (absent before torch 2.1: little)
//   <prefix>/version       format version
//
// The unpickler is restricted: it only builds plain values (None, bools, ints, floats, strings,
// bytes, tuples, lists, dicts) and recognises a short allowlist of globals (OrderedDict, the torch
// tensor/parameter rebuild functions, the typed storage classes, torch.device). Any other global
// is refused the moment it is named (before any REDUCE), and nothing is ever executed: "calling"
// an allowed global is interpreted by this module, not by any interpreter.
//
// Result policy: the top-level object must be a dict mapping string keys to tensors. A
// non-tensor value (nested dict such as {'state_dict': ...}, a number, ...) is an error naming
// the key, not silently skipped, because a loader that drops entries would produce a model with
// missing weights that is only detected later (or never).
//
// Tensors whose (offset, strides) describe a C-contiguous block are returned as views ALIASING
// the zip buffer (tensors sharing a storage alias the same bytes); others are copied into a new
// C-contiguous buffer. Storages written big-endian are byte-swapped into new buffers.
import * as fs from 'node:fs';
import { ZipReader } from '../../util/zip.js';
import { type DType, type RawTensor, contiguousStrides, dtypeSize, numel } from './types.js';

// ---------------------------------------------------------------- Python value model

class PyTuple {
  constructor(readonly items: unknown[]) {}
}

class PyDict {
  readonly map = new Map<unknown, unknown>();
  /** attributes set via BUILD (e.g. the `_metadata` of a state_dict OrderedDict); ignored */
  attrs: unknown = undefined;
  constructor(readonly ordered: boolean) {}
}

class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

class PyDevice {
  constructor(readonly spec: string) {}
}

interface StorageRef {
  key: string;
  dtype: DType;
  location: string;
  numel: number;
  /** little-endian bytes, exactly numel * dtypeSize(dtype) */
  bytes: Uint8Array;
}

class TensorValue {
  constructor(readonly tensor: RawTensor) {}
}


const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

const ALLOWED_GLOBALS = new Set<string>([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._tensor._rebuild_from_type_v2',
  'torch.Tensor',
  'torch.nn.parameter.Parameter',
  'torch.device',
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
]);

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PyTuple) return 'tuple';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyDict) return v.ordered ? 'OrderedDict' : 'dict';
  if (v instanceof PyGlobal) return `global ${v.qualname}`;
  if (v instanceof PyDevice) return `torch.device(${JSON.stringify(v.spec)})`;
  if (v instanceof TensorValue) return 'tensor';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'boolean') return 'bool';
  if (v && typeof v === 'object' && 'dtype' in v && 'location' in v) return 'storage';
  return typeof v;
}

// ---------------------------------------------------------------- unpickler

interface UnpickleContext {
  /** for error messages */
  file: string;
  /** resolves a persistent id (BINPERSID) */
  persistentLoad(pid: unknown): unknown;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

/**
 * Restricted unpickler for protocols 2-5 (and the protocol-0/1 opcodes torch never emits are
 * rejected). Exported for testing.
 */
export function restrictedUnpickle(data: Uint8Array, ctx: UnpickleContext): unknown {
  const file = ctx.file;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (msg: string): never => {
    throw new Error(`${file}: cannot unpickle: ${msg}`);
  };
  const need = (n: number): void => {
    if (pos + n > data.length) fail(`truncated pickle (needed ${n} bytes at offset ${pos}, only ${data.length - pos} left)`);
  };
  const u8 = (): number => {
    need(1);
    return data[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = dv.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is too large`);
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => {
    need(n);
    const b = data.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const line = (): string => {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0) fail(`truncated pickle (unterminated text line at offset ${pos})`);
    const s = latin1.decode(data.subarray(pos, nl));
    pos = nl + 1;
    return s;
  };
  const str = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      return fail('invalid UTF-8 in a string');
    }
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail(`stack underflow at offset ${pos - 1}`);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail(`stack underflow at offset ${pos - 1}`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (prev === undefined) fail(`MARK expected at offset ${pos - 1}`);
    stack = prev!;
    return items;
  };
  const memoPut = (idx: number): void => {
    memo.set(idx, top());
  };
  const memoGet = (idx: number): void => {
    if (!memo.has(idx)) fail(`memo key ${idx} not found`);
    stack.push(memo.get(idx));
  };
  const global = (module: string, name: string): PyGlobal => {
    const q = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(q)) {
      throw new Error(`refusing to unpickle global ${q} in ${file}: only tensor rebuilds and plain containers are allowed`);
    }
    return new PyGlobal(module, name);
  };
  const dictKey = (k: unknown): unknown => {
    if (k instanceof PyDict || Array.isArray(k)) fail(`unhashable dict key (${describe(k)})`);
    return k;
  };
  const setItems = (target: unknown, kv: unknown[]): void => {
    if (!(target instanceof PyDict)) fail(`SETITEM(S) on ${describe(target)}, expected a dict`);
    if (kv.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < kv.length; i += 2) (target as PyDict).map.set(dictKey(kv[i]), kv[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target)) fail(`APPEND(S) on ${describe(target)}, expected a list`);
    (target as unknown[]).push(...items);
  };
  const signedLE = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    const opPos = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const p = u8();
        if (p > 5) fail(`unsupported pickle protocol ${p}`);
        break;
      }
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: { // STOP '.'
        const v = pop();
        return v;
      }
      case 0x28: // MARK '('
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP '0'
        if (stack.length > 0) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK '1'
        popMark();
        break;
      case 0x32: // DUP '2'
        stack.push(top());
        break;
      case 0x7d: // EMPTY_DICT '}'
        stack.push(new PyDict(false));
        break;
      case 0x5d: // EMPTY_LIST ']'
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE ')'
        stack.push(new PyTuple([]));
        break;
      case 0x64: { // DICT 'd'
        const items = popMark();
        const d = new PyDict(false);
        setItems(d, items);
        stack.push(d);
        break;
      }
      case 0x6c: { // LIST 'l'
        const items = popMark(); // (popMark replaces `stack`: evaluate before stack.push)
        stack.push(items);
        break;
      }
      case 0x74: { // TUPLE 't'
        const items = popMark();
        stack.push(new PyTuple(items));
        break;
      }
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case 0x71: // BINPUT 'q'
        memoPut(u8());
        break;
      case 0x72: // LONG_BINPUT 'r'
        memoPut(u32());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size);
        break;
      case 0x70: { // PUT 'p'
        const n = Number(line());
        if (!Number.isSafeInteger(n)) fail('bad PUT index');
        memoPut(n);
        break;
      }
      case 0x68: // BINGET 'h'
        memoGet(u8());
        break;
      case 0x6a: // LONG_BINGET 'j'
        memoGet(u32());
        break;
      case 0x67: { // GET 'g'
        const n = Number(line());
        if (!Number.isSafeInteger(n)) fail('bad GET index');
        memoGet(n);
        break;
      }
      case 0x4a: // BININT 'J'
        stack.push(i32());
        break;
      case 0x4b: // BININT1 'K'
        stack.push(u8());
        break;
      case 0x4d: // BININT2 'M'
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(signedLE(bytes(u8())));
        break;
      case 0x8b: { // LONG4
        const n = i32();
        if (n < 0) fail('negative LONG4 length');
        stack.push(signedLE(bytes(n)));
        break;
      }
      case 0x49: { // INT 'I' (protocol 0; "01"/"00" are True/False)
        const s = line();
        if (s === '01') stack.push(true);
        else if (s === '00') stack.push(false);
        else {
          if (!/^[+-]?\d+$/.test(s)) fail(`bad INT literal ${JSON.stringify(s)}`);
          const b = BigInt(s);
          stack.push(b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b);
        }
        break;
      }
      case 0x4c: { // LONG 'L'
        const s = line().replace(/L$/, '');
        if (!/^[+-]?\d+$/.test(s)) fail(`bad LONG literal ${JSON.stringify(s)}`);
        const b = BigInt(s);
        stack.push(b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b);
        break;
      }
      case 0x47: { // BINFLOAT 'G' (big-endian double)
        need(8);
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x46: { // FLOAT 'F'
        const s = line();
        const f = Number(s);
        if (s.trim() === '' || Number.isNaN(f) && !/nan/i.test(s)) fail(`bad FLOAT literal ${JSON.stringify(s)}`);
        stack.push(f);
        break;
      }
      case 0x8c: // SHORT_BINUNICODE
        stack.push(str(bytes(u8())));
        break;
      case 0x58: // BINUNICODE 'X'
        stack.push(str(bytes(u32())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(str(bytes(u64())));
        break;
      case 0x54: { // BINSTRING 'T' (py2 str; torch/numpy write these as latin-1)
        const n = i32();
        if (n < 0) fail('negative BINSTRING length');
        stack.push(latin1.decode(bytes(n)));
        break;
      }
      case 0x55: // SHORT_BINSTRING 'U'
        stack.push(latin1.decode(bytes(u8())));
        break;
      case 0x42: // BINBYTES 'B'
        stack.push(bytes(u32()));
        break;
      case 0x43: // SHORT_BINBYTES 'C'
        stack.push(bytes(u8()));
        break;
      case 0x8e: // BINBYTES8
        stack.push(bytes(u64()));
        break;
      case 0x96: // BYTEARRAY8
        stack.push(bytes(u64()).slice());
        break;
      case 0x73: { // SETITEM 's'
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS 'u'
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND 'a'
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS 'e'
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4e: // NONE 'N'
        stack.push(null);
        break;
      case 0x63: { // GLOBAL 'c'
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE 'R'
        const args = pop();
        const fn = pop();
        if (!(args instanceof PyTuple)) fail(`REDUCE arguments are ${describe(args)}, expected a tuple`);
        stack.push(callGlobal(fn, (args as PyTuple).items, file));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const cls = pop();
        if (!(args instanceof PyTuple)) fail('NEWOBJ arguments are not a tuple');
        if (!(cls instanceof PyGlobal) || cls.qualname !== 'collections.OrderedDict') {
          fail(`NEWOBJ of ${describe(cls)} is not supported`);
        }
        stack.push(new PyDict(true));
        break;
      }
      case 0x62: { // BUILD 'b'
        const state = pop();
        const obj = top();
        if (obj instanceof PyDict) obj.attrs = state; // e.g. OrderedDict._metadata: ignored
        else if (obj instanceof TensorValue) {
          // state from _rebuild_from_type_v2 / parameter subclasses (requires_grad etc.): ignored
        } else fail(`BUILD on ${describe(obj)} is not supported`);
        break;
      }
      case 0x51: { // BINPERSID 'Q'
        const pid = pop();
        stack.push(ctx.persistentLoad(pid));
        break;
      }
      case 0x50: // PERSID 'P' (text persistent id; torch never writes it)
        fail('text persistent ids (PERSID) are not supported');
        break;
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at offset ${opPos}` +
          (op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : ''));
    }
  }
}

// ---------------------------------------------------------------- allowed "calls"

function toInt(v: unknown, what: string, file: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new Error(`${file}: cannot unpickle: ${what} is ${describe(v)} ${String(v)}, expected an integer`);
}

function toIntTuple(v: unknown, what: string, file: string): number[] {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : undefined;
  if (!items) throw new Error(`${file}: cannot unpickle: ${what} is ${describe(v)}, expected a tuple of integers`);
  return items.map((x, i) => toInt(x, `${what}[${i}]`, file));
}

function isStorage(v: unknown): v is StorageRef {
  return typeof v === 'object' && v !== null && (v as StorageRef).bytes instanceof Uint8Array && 'location' in v;
}

function callGlobal(fn: unknown, args: unknown[], file: string): unknown {
  const fail = (msg: string): never => {
    throw new Error(`${file}: cannot unpickle: ${msg}`);
  };
  if (!(fn instanceof PyGlobal)) return fail(`REDUCE of ${describe(fn)} (not a callable global)`);
  switch (fn.qualname) {
    case 'collections.OrderedDict': {
      const d = new PyDict(true);
      if (args.length === 1 && args[0] !== null) {
        const pairs = args[0];
        const list = pairs instanceof PyTuple ? pairs.items : Array.isArray(pairs) ? pairs : fail('OrderedDict(...) argument is not a list of pairs');
        for (const p of list as unknown[]) {
          const kv = p instanceof PyTuple ? p.items : Array.isArray(p) ? p : [];
          if (kv.length !== 2) fail('OrderedDict(...) argument is not a list of pairs');
          d.map.set(kv[0], kv[1]);
        }
      } else if (args.length > 1) fail(`OrderedDict() takes at most 1 argument (${args.length} given)`);
      return d;
    }
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2': {
      // v2: (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      // v1: (storage, storage_offset, size, stride)
      if (args.length < 4) fail(`${fn.name} needs at least 4 arguments, got ${args.length}`);
      const storage = args[0];
      if (!isStorage(storage)) return fail(`${fn.name}: first argument is ${describe(storage)}, expected a storage`);
      const offset = toInt(args[1], 'storage_offset', file);
      const size = toIntTuple(args[2], 'size', file);
      const stride = toIntTuple(args[3], 'stride', file);
      return new TensorValue(materialize(storage, offset, size, stride, file));
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state': {
      // (data, requires_grad, backward_hooks[, state]): the parameter is its data
      if (!(args[0] instanceof TensorValue)) fail(`${fn.name}: data is ${describe(args[0])}, expected a tensor`);
      return args[0];
    }
    case 'torch._tensor._rebuild_from_type_v2': {
      // (func, new_type, args, state): the result is func(*args), retyped (ignored)
      if (args.length < 3) fail(`_rebuild_from_type_v2 needs 3 or 4 arguments, got ${args.length}`);
      const [inner, newType, innerArgs] = args;
      if (!(newType instanceof PyGlobal)) fail('_rebuild_from_type_v2: new_type is not a class');
      if (!(innerArgs instanceof PyTuple)) fail('_rebuild_from_type_v2: args is not a tuple');
      const r = callGlobal(inner, (innerArgs as PyTuple).items, file);
      if (!(r instanceof TensorValue)) fail('_rebuild_from_type_v2 did not rebuild a tensor');
      return r;
    }
    case 'torch.device': {
      const spec = args.map((a) => String(a)).join(':');
      return new PyDevice(spec);
    }
    default:
      return fail(`calling ${fn.qualname} is not supported`);
  }
}

/** Copy or view `size`/`stride` elements starting at `offset` out of a storage, C-contiguous. */
function materialize(storage: StorageRef, offset: number, size: number[], stride: number[], file: string): RawTensor {
  const fail = (msg: string): never => {
    throw new Error(`${file}: storage "${storage.key}": ${msg}`);
  };
  if (size.length !== stride.length) fail(`size ${JSON.stringify(size)} and stride ${JSON.stringify(stride)} differ in rank`);
  if (offset < 0) fail(`negative storage offset ${offset}`);
  for (let i = 0; i < size.length; i++) {
    if (size[i]! < 0) fail(`negative size ${JSON.stringify(size)}`);
    if (stride[i]! < 0) fail(`negative stride ${JSON.stringify(stride)}`);
  }
  const dtype = storage.dtype;
  const es = dtypeSize(dtype);
  const n = numel(size);
  if (n === 0) return { dtype, shape: size, data: new Uint8Array(0) };
  let last = offset;
  for (let i = 0; i < size.length; i++) last += (size[i]! - 1) * stride[i]!;
  if (last >= storage.numel) {
    fail(`tensor (offset ${offset}, size ${JSON.stringify(size)}, stride ${JSON.stringify(stride)}) reaches element ${last} but the storage has ${storage.numel}`);
  }
  const cs = contiguousStrides(size);
  let contiguous = true;
  for (let i = 0; i < size.length; i++) if (size[i]! > 1 && stride[i] !== cs[i]) contiguous = false;
  if (contiguous) return { dtype, shape: size, data: storage.bytes.subarray(offset * es, (offset + n) * es) };

  // Strided gather, innermost dimension copied element by element (or as a run when stride 1).
  const out = new Uint8Array(n * es);
  const src = storage.bytes;
  const rank = size.length;
  const idx = new Array<number>(rank).fill(0);
  const inner = size[rank - 1]!;
  const innerStride = stride[rank - 1]!;
  let o = 0;
  for (;;) {
    let base = offset;
    for (let d = 0; d < rank - 1; d++) base += idx[d]! * stride[d]!;
    if (innerStride === 1) {
      out.set(src.subarray(base * es, (base + inner) * es), o);
      o += inner * es;
    } else {
      for (let j = 0; j < inner; j++) {
        const s = (base + j * innerStride) * es;
        for (let b = 0; b < es; b++) out[o++] = src[s + b]!;
      }
    }
    let d = rank - 2;
    while (d >= 0) {
      idx[d]!++;
      if (idx[d]! < size[d]!) break;
      idx[d] = 0;
      d--;
    }
    if (d < 0) break;
  }
  return { dtype, shape: size, data: out };
}

function byteswap(b: Uint8Array, es: number): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += es) for (let j = 0; j < es; j++) out[i + j] = b[i + es - 1 - j]!;
  return out;
}

// ---------------------------------------------------------------- checkpoint reader

/**
 * Parse a torch.save zip checkpoint held in memory into its state_dict. `file` names the file in
 * error messages. See the module comment for aliasing and the non-tensor policy.
 */
export function parseTorchBin(buf: Uint8Array, file: string): Map<string, RawTensor> {
  if (buf.length >= 2 && buf[0] === 0x80 && buf[1]! <= 5) {
    throw new Error(`${file}: legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with a recent torch or convert it to safetensors`);
  }
  if (buf.length < 4 || buf[0] !== 0x50 || buf[1] !== 0x4b) {
    throw new Error(`${file}: not a torch.save checkpoint (no zip signature)`);
  }
  const zip = new ZipReader(buf, file);
  const pkls = zip.names().filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1) {
    throw new Error(`${file}: not a torch.save checkpoint: expected exactly one <prefix>/data.pkl entry, found ${pkls.length}`);
  }
  const prefix = pkls[0]!.slice(0, -'data.pkl'.length);
  let bigEndian = false;
  if (zip.has(`${prefix}byteorder`)) {
    const bo = new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim();
    if (bo === 'big') bigEndian = true;
    else if (bo !== 'little') throw new Error(`${file}: unknown byteorder ${JSON.stringify(bo)}`);
  }

  const storages = new Map<string, StorageRef>();
  const pklName = `${file} (${pkls[0]})`;
  const persistentLoad = (pid: unknown): StorageRef => {
    const fail = (msg: string): never => {
      throw new Error(`${pklName}: bad persistent id: ${msg}`);
    };
    if (!(pid instanceof PyTuple)) return fail(`${describe(pid)}, expected a tuple`);
    const [tag, type, key, location, count] = pid.items;
    if (tag !== 'storage' || pid.items.length !== 5) return fail(`expected ('storage', type, key, location, numel), got ${pid.items.length} items starting with ${JSON.stringify(tag)}`);
    if (!(type instanceof PyGlobal) || type.module !== 'torch' || !(type.name in STORAGE_DTYPES)) {
      return fail(`storage type is ${describe(type)}`);
    }
    if (typeof key !== 'string') return fail('storage key is not a string');
    const dtype = STORAGE_DTYPES[type.name]!;
    const n = toInt(count, `numel of storage "${key}"`, pklName);
    const cached = storages.get(key);
    if (cached) {
      if (cached.dtype !== dtype) fail(`storage "${key}" is used as both ${cached.dtype} and ${dtype}`);
      return cached;
    }
    const entry = `${prefix}data/${key}`;
    if (!zip.has(entry)) fail(`storage "${key}" has no entry ${entry} in the zip`);
    let bytes = zip.read(entry);
    const es = dtypeSize(dtype);
    if (bytes.length < n * es) {
      fail(`storage "${key}" holds ${bytes.length} bytes but ${n} x ${dtype} needs ${n * es}`);
    }
    bytes = bytes.subarray(0, n * es);
    if (bigEndian && es > 1) bytes = byteswap(bytes, es);
    const ref: StorageRef = { key, dtype, location: typeof location === 'string' ? location : String(location), numel: n, bytes };
    storages.set(key, ref);
    return ref;
  };

  const root = restrictedUnpickle(zip.read(pkls[0]!), { file: pklName, persistentLoad });
  if (!(root instanceof PyDict)) {
    throw new Error(`${file}: the checkpoint holds a ${describe(root)}, expected a state_dict (a dict of tensors)`);
  }
  const out = new Map<string, RawTensor>();
  for (const [k, v] of root.map) {
    if (typeof k !== 'string') throw new Error(`${file}: state_dict key ${String(k)} is a ${describe(k)}, expected a string`);
    if (!(v instanceof TensorValue)) {
      throw new Error(`${file}: state_dict entry "${k}" is not a tensor (got ${describe(v)}); ` +
        'only flat state_dicts of tensors are supported (save model.state_dict() itself)');
    }
    out.set(k, v.tensor);
  }
  return out;
}

/** Read a torch.save zip checkpoint (e.g. HF pytorch_model.bin) into name -> RawTensor. */
export function readTorchBin(file: string): Map<string, RawTensor> {
  return parseTorchBin(fs.readFileSync(file), file);
}
