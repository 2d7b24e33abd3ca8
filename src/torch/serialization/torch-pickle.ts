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
// an allowed global is interpreted by pickle-globals.ts, not by any interpreter (the unpickler is
// unpickle.ts, the Python values it builds pickle-values.ts).
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
import { PyDict, PyGlobal, PyTuple, STORAGE_DTYPES, TensorValue, describe, type StorageRef } from './pickle-values.js';
import { byteswap, toInt } from './pickle-globals.js';
import { dtypeSize, type RawTensor } from './types.js';
import { restrictedUnpickle } from './unpickle.js';

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
