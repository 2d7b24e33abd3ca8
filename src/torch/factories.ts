// Tensor factories: copies of typed arrays and JS numbers, and libtorch's constant and random
// constructors (random ones draw from the default generator, seeded by manualSeed).
import * as aten from './generated/aten.js';
import { native, type DType, type TypedArray } from './native.js';
import { Tensor, type Scalar } from './tensor.js';

export interface FactoryOpts {
  dtype?: DType;
  requiresGrad?: boolean;
}

function finish(t: Tensor, o?: FactoryOpts): Tensor {
  if (o?.requiresGrad) t.setRequiresGrad(true);
  return t;
}

const arrayDType = (a: TypedArray): DType => {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array) return 'uint8';
  throw new TypeError('unsupported typed array');
};

/** A tensor copied from a typed array (dtype from the array type, or given for uint8→bool, uint16→half). */
export function fromArray(data: TypedArray, shape: number[], dtype?: DType): Tensor {
  return new Tensor(native.fromArray(data, shape, dtype ?? arrayDType(data)));
}

/** A tensor from nested-free JS numbers. Default dtype float32. */
export function tensor(data: ArrayLike<number> | number, shape?: number[], o?: FactoryOpts): Tensor {
  const dtype = o?.dtype ?? 'float32';
  const values = typeof data === 'number' ? [data] : Array.from(data);
  const sh = shape ?? (typeof data === 'number' ? [] : [values.length]);
  let arr: TypedArray;
  switch (dtype) {
    case 'float32': arr = Float32Array.from(values); break;
    case 'float64': arr = Float64Array.from(values); break;
    case 'int32': arr = Int32Array.from(values); break;
    case 'int64': arr = BigInt64Array.from(values, (v) => BigInt(Math.trunc(v))); break;
    case 'int16': arr = Int16Array.from(values); break;
    case 'int8': arr = Int8Array.from(values); break;
    case 'uint8': case 'bool': arr = Uint8Array.from(values, (v) => (dtype === 'bool' ? (v ? 1 : 0) : v)); break;
    default: return tensor(values, sh, { dtype: 'float32' }).to(dtype);
  }
  return finish(fromArray(arr, sh, dtype), o);
}

export const zeros = (shape: number[], o?: FactoryOpts): Tensor => finish(aten.zeros(shape, { dtype: o?.dtype ?? 'float32' }), o);
export const ones = (shape: number[], o?: FactoryOpts): Tensor => finish(aten.ones(shape, { dtype: o?.dtype ?? 'float32' }), o);
export const full = (shape: number[], value: Scalar, o?: FactoryOpts): Tensor =>
  finish(aten.full(shape, value, { dtype: o?.dtype ?? 'float32' }), o);
export const empty = (shape: number[], o?: FactoryOpts): Tensor => finish(aten.empty_memory_format(shape, { dtype: o?.dtype ?? 'float32' }), o);
export const arange = (start: number, end: number, step = 1, o?: FactoryOpts): Tensor =>
  finish(aten.arange_start_step(start, end, { step, dtype: o?.dtype ?? 'int64' }), o);
/** Standard normal samples from libtorch's generator (seed with manualSeed). */
export const randn = (shape: number[], o?: FactoryOpts): Tensor => finish(aten.randn(shape, { dtype: o?.dtype ?? 'float32' }), o);
export const rand = (shape: number[], o?: FactoryOpts): Tensor => finish(aten.rand(shape, { dtype: o?.dtype ?? 'float32' }), o);
export const randint = (low: number, high: number, shape: number[], o?: FactoryOpts): Tensor =>
  aten.randint_low(low, high, shape, { dtype: o?.dtype ?? 'int64' });
export const eye = (n: number, o?: FactoryOpts): Tensor => finish(aten.eye(n, { dtype: o?.dtype ?? 'float32' }), o);
export const zerosLike = (t: Tensor): Tensor => aten.zeros_like(t);
export const onesLike = (t: Tensor): Tensor => aten.ones_like(t);
export const emptyLike = (t: Tensor): Tensor => aten.empty_like(t);
