// Tensor-free representation of serialized tensors, shared by the safetensors and torch.save readers.

export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

export const DTYPES: readonly DType[] = [
  'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool',
];

/**
 * A tensor as bytes: little-endian, C-contiguous (row-major), `data.byteLength ===
 * numel(shape) * dtypeSize(dtype)`. `data` may be a view aliasing a larger buffer (e.g. the file
 * it was read from); copy it before mutating if you do not own that buffer.
 */
export interface RawTensor {
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

const SIZES: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** Bytes per element. */
export function dtypeSize(d: DType): number {
  const s = SIZES[d];
  if (s === undefined) throw new Error(`unknown dtype ${String(d)}`);
  return s;
}

export function isDType(s: unknown): s is DType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(SIZES, s);
}

/** Number of elements (1 for a 0-d tensor, 0 if any dimension is 0). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Byte length of a C-contiguous tensor of this dtype and shape. */
export function byteLength(dtype: DType, shape: readonly number[]): number {
  return numel(shape) * dtypeSize(dtype);
}

/** C-contiguous strides (in elements) for a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

const TO_SAFETENSORS: Record<DType, string> = {
  float32: 'F32', float64: 'F64', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32',
  int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const FROM_SAFETENSORS: Record<string, DType> = Object.fromEntries(
  Object.entries(TO_SAFETENSORS).map(([k, v]) => [v, k as DType]),
);

/** safetensors dtype tag ("F32", "I64", ...) for a DType. */
export function toSafetensorsDType(d: DType): string {
  const s = TO_SAFETENSORS[d];
  if (s === undefined) throw new Error(`unknown dtype ${String(d)}`);
  return s;
}

/** DType for a safetensors dtype tag, or undefined for tags we do not support (U16, F8_E4M3, ...). */
export function fromSafetensorsDType(s: string): DType | undefined {
  return Object.prototype.hasOwnProperty.call(FROM_SAFETENSORS, s) ? FROM_SAFETENSORS[s] : undefined;
}

/**
 * A typed-array view of a tensor's bytes for reading values (float16/bfloat16 come back as their
 * raw Uint16 bit patterns, bool as Uint8). Copies only when `data` is not aligned for the element
 * type (e.g. a view into a file buffer at an odd offset). Assumes a little-endian host.
 */
export function typedView(t: RawTensor):
  | Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array {
  const size = dtypeSize(t.dtype);
  let d = t.data;
  if (d.byteOffset % size !== 0) d = d.slice();
  const n = d.byteLength / size;
  switch (t.dtype) {
    case 'float32': return new Float32Array(d.buffer, d.byteOffset, n);
    case 'float64': return new Float64Array(d.buffer, d.byteOffset, n);
    case 'float16':
    case 'bfloat16': return new Uint16Array(d.buffer, d.byteOffset, n);
    case 'int64': return new BigInt64Array(d.buffer, d.byteOffset, n);
    case 'int32': return new Int32Array(d.buffer, d.byteOffset, n);
    case 'int16': return new Int16Array(d.buffer, d.byteOffset, n);
    case 'int8': return new Int8Array(d.buffer, d.byteOffset, n);
    case 'uint8':
    case 'bool': return new Uint8Array(d.buffer, d.byteOffset, n);
  }
}
