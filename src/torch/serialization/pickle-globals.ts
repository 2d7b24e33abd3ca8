// The allowlisted globals of a torch.save pickle and what "calling" them means: OrderedDict, the
// tensor and parameter rebuild functions (a tensor is a view of, or a copy out of, its storage) and
// torch.device. Interpreted here; nothing is ever executed.
import { contiguousStrides, dtypeSize, numel, type RawTensor } from './types.js';
import { PyDevice, PyDict, PyGlobal, PyTuple, STORAGE_DTYPES, TensorValue, describe, type StorageRef } from './pickle-values.js';

/** The only globals a checkpoint may name; any other is refused when named. */
export const ALLOWED_GLOBALS = new Set<string>([
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

/** An int (or bool) argument as a safe integer; anything else is an error naming `what`. */
export function toInt(v: unknown, what: string, file: string): number {
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

/** What "calling" an allowed global (REDUCE) means here: plain values and rebuilt tensors, nothing executed. */
export function callGlobal(fn: unknown, args: unknown[], file: string): unknown {
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

/** Reverses the byte order of each es-byte element (big-endian storages). */
export function byteswap(b: Uint8Array, es: number): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += es) for (let j = 0; j < es; j++) out[i + j] = b[i + es - 1 - j]!;
  return out;
}
