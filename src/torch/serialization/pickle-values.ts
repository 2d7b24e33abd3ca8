// The Python values the restricted unpickler builds (tuples, dicts, allowed globals, devices, storages,
// rebuilt tensors), and their names in error messages.
import type { DType, RawTensor } from './types.js';

export class PyTuple {
  constructor(readonly items: unknown[]) {}
}

export class PyDict {
  readonly map = new Map<unknown, unknown>();
  /** attributes set via BUILD (e.g. the `_metadata` of a state_dict OrderedDict); ignored */
  attrs: unknown = undefined;
  constructor(readonly ordered: boolean) {}
}

export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

export class PyDevice {
  constructor(readonly spec: string) {}
}

export interface StorageRef {
  key: string;
  dtype: DType;
  location: string;
  numel: number;
  /** little-endian bytes, exactly numel * dtypeSize(dtype) */
  bytes: Uint8Array;
}

export class TensorValue {
  constructor(readonly tensor: RawTensor) {}
}

/** torch's typed storage classes and their dtypes. */
export const STORAGE_DTYPES: Record<string, DType> = {
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

/** The Python type of a value, for error messages. */
export function describe(v: unknown): string {
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
