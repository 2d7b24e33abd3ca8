// The Tensor handle and operator calls through the dispatcher (defOp/callOp). Every op is a boxed ATen
// call: autograd and kernels are libtorch's; this file only adapts types. Memory scopes are in
// memory.ts, factories in factories.ts, grad mode and threads in modes.ts.
import { native, type DType, type NativeTensor, type TypedArray } from './native.js';
import * as aten from './generated/aten.js';
import { track } from './memory.js';

export type { DType, TypedArray };

/** A Scalar that must stay floating point even when integral (JS cannot tell 2 from 2.0). */
export interface FloatScalar {
  float: number;
}
export const float = (x: number): FloatScalar => ({ float: x });
export type Scalar = number | boolean | bigint | FloatScalar;

// ------------------------------------------------------------------------------------------------
// Operator calls.

export interface OpFn {
  (args: unknown[], kwargs?: Record<string, unknown>): unknown;
  readonly qualifiedName: string;
  schema(): string;
}

/**
 * An ATen operator by name and overload, resolved once on first use. It stays a function declaration:
 * generated/aten.ts calls it while this module is still being evaluated (the two import each other).
 */
export function defOp(name: string, overload = ''): OpFn {
  let id = -1;
  const qualifiedName = overload ? `${name}.${overload}` : name;
  const resolve = (): number => (id >= 0 ? id : (id = native.resolveOp(name, overload)));
  const fn = ((args: unknown[], kwargs?: Record<string, unknown>): unknown => {
    const raw = native.callOp(resolve(), args.map(unwrapArg), kwargs && unwrapKwargs(kwargs));
    const out = wrapResult(raw, args);
    if (opObserver) opObserver(qualifiedName, args, kwargs, out);
    return out;
  }) as OpFn;
  Object.defineProperty(fn, 'qualifiedName', { value: qualifiedName });
  (fn as { schema: () => string }).schema = () => native.opSchema(resolve());
  return fn;
}

/** Sees every op called from TypeScript after it ran: name ("conv2d", "add.Tensor"), its arguments and result. */
export type OpObserver = (qualifiedName: string, args: unknown[], kwargs: Record<string, unknown> | undefined, result: unknown) => void;
let opObserver: OpObserver | null = null;
/**
 * Installs (or, with null, removes) the op observer; returns the previous one. Every op of ours passes
 * defOp, so this is the one place a FLOP counter (flops.ts) sees the graph as it executes; ops that
 * libtorch runs inside a composite op or in autograd's backward are not seen here.
 */
export function setOpObserver(o: OpObserver | null): OpObserver | null {
  const prev = opObserver;
  opObserver = o;
  return prev;
}

const opCache = new Map<string, OpFn>();
/** Calls any ATen operator by schema name ("aten::add.Tensor" or "add.Tensor"). */
export function callOp(qualified: string, args: unknown[], kwargs?: Record<string, unknown>): unknown {
  let f = opCache.get(qualified);
  if (!f) {
    const bare = qualified.replace(/^aten::/, '');
    const dot = bare.indexOf('.');
    f = dot >= 0 ? defOp(bare.slice(0, dot), bare.slice(dot + 1)) : defOp(bare, '');
    opCache.set(qualified, f);
  }
  return f(args, kwargs);
}

function unwrapArg(a: unknown): unknown {
  if (a instanceof Tensor) return a.native;
  if (Array.isArray(a) && a.length > 0 && (a[0] instanceof Tensor || a.some((x) => x instanceof Tensor))) {
    return a.map((x) => (x instanceof Tensor ? x.native : x));
  }
  return a;
}

function unwrapKwargs(kw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in kw) if (kw[k] !== undefined) out[k] = unwrapArg(kw[k]);
  return out;
}

function wrapResult(raw: unknown, args: unknown[]): unknown {
  if (raw instanceof native.NativeTensor) {
    for (const a of args) if (a instanceof Tensor && a.native === raw) return a; // in-place: same handle
    return new Tensor(raw as NativeTensor);
  }
  if (Array.isArray(raw)) return raw.map((r) => wrapResult(r, args));
  return raw;
}

const ElemScalar = (x: Tensor | Scalar): x is Scalar => !(x instanceof Tensor);

// ------------------------------------------------------------------------------------------------

export class Tensor {
  /** The native handle; undefined behaviour begins where users touch it. */
  readonly native: NativeTensor;

  constructor(h: NativeTensor) {
    this.native = h;
    track(this);
  }

  get shape(): number[] {
    return this.native.shape;
  }
  get dtype(): DType {
    return this.native.dtype;
  }
  get device(): string {
    return this.native.device;
  }
  get numel(): number {
    return this.native.numel;
  }
  get ndim(): number {
    return this.native.dim;
  }
  get requiresGrad(): boolean {
    return this.native.requiresGrad;
  }
  get isLeaf(): boolean {
    return this.native.isLeaf;
  }
  get isDisposed(): boolean {
    return this.native.isDisposed;
  }
  size(dim: number): number {
    const s = this.shape;
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) throw new RangeError(`size(${dim}): tensor has ${s.length} dimensions`);
    return s[d]!;
  }

  setRequiresGrad(v = true): this {
    this.native.setRequiresGrad(v);
    return this;
  }
  /** The accumulated gradient (a new handle on it, tracked by the current scope), or null. */
  get grad(): Tensor | null {
    const g = this.native.grad();
    return g ? new Tensor(g) : null;
  }
  set grad(g: Tensor | null) {
    this.native.setGrad(g ? g.native : null);
  }
  backward(grad?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    this.native.backward(grad?.native ?? null, opts.retainGraph ?? false);
  }
  detach(): Tensor {
    return new Tensor(this.native.detach());
  }
  item(): number {
    const v = this.native.item();
    return typeof v === 'number' ? v : Number(v);
  }
  /** A copy of the data as a typed array (int64 → BigInt64Array, bool → Uint8Array). */
  toArray(): TypedArray {
    return this.native.toArray();
  }
  /** Data as plain numbers (float64 precision), for tests and small tensors. */
  toList(): number[] {
    return Array.from(this.toArray() as ArrayLike<number | bigint>, (v) => Number(v));
  }
  dispose(): void {
    this.native.dispose();
  }
  isContiguous(format?: 'channels_last'): boolean {
    return this.native.isContiguous(format);
  }
  toString(): string {
    return `Tensor(shape=[${this.shape}], dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // Arithmetic (broadcasting; numbers become Scalars: integral numbers are ints, use float(x) to force).
  // alpha 1 is the schema default: leaving it out spares the dispatcher a kwargs object to walk.
  add(o: Tensor | Scalar, alpha: Scalar = 1): Tensor {
    if (ElemScalar(o)) return alpha === 1 ? aten.add_Scalar(this, o) : aten.add_Scalar(this, o, { alpha });
    return alpha === 1 ? aten.add_Tensor(this, o) : aten.add_Tensor(this, o, { alpha });
  }
  sub(o: Tensor | Scalar, alpha: Scalar = 1): Tensor {
    if (ElemScalar(o)) return alpha === 1 ? aten.sub_Scalar(this, o) : aten.sub_Scalar(this, o, { alpha });
    return alpha === 1 ? aten.sub_Tensor(this, o) : aten.sub_Tensor(this, o, { alpha });
  }
  mul(o: Tensor | Scalar): Tensor {
    return ElemScalar(o) ? aten.mul_Scalar(this, o) : aten.mul_Tensor(this, o);
  }
  div(o: Tensor | Scalar): Tensor {
    return ElemScalar(o) ? aten.div_Scalar(this, o) : aten.div_Tensor(this, o);
  }
  pow(e: Tensor | Scalar): Tensor {
    return ElemScalar(e) ? aten.pow_Tensor_Scalar(this, e) : aten.pow_Tensor_Tensor(this, e);
  }
  neg(): Tensor {
    return aten.neg(this);
  }
  exp(): Tensor {
    return aten.exp(this);
  }
  log(): Tensor {
    return aten.log(this);
  }
  sqrt(): Tensor {
    return aten.sqrt(this);
  }
  rsqrt(): Tensor {
    return aten.rsqrt(this);
  }
  abs(): Tensor {
    return aten.abs(this);
  }
  sigmoid(): Tensor {
    return aten.sigmoid(this);
  }
  tanh(): Tensor {
    return aten.tanh(this);
  }
  relu(): Tensor {
    return aten.relu(this);
  }
  clamp(min: Scalar | null, max: Scalar | null = null): Tensor {
    return aten.clamp(this, { min, max });
  }
  matmul(o: Tensor): Tensor {
    return aten.matmul(this, o);
  }
  eq(o: Tensor | Scalar): Tensor {
    return ElemScalar(o) ? aten.eq_Scalar(this, o) : aten.eq_Tensor(this, o);
  }
  ne(o: Scalar): Tensor {
    return aten.ne_Scalar(this, o);
  }
  lt(o: Scalar): Tensor {
    return aten.lt_Scalar(this, o);
  }
  gt(o: Scalar): Tensor {
    return aten.gt_Scalar(this, o);
  }

  // Shape and layout.
  reshape(shape: number[]): Tensor {
    return aten.reshape(this, shape);
  }
  view(shape: number[]): Tensor {
    return aten.view(this, shape);
  }
  permute(dims: number[]): Tensor {
    return aten.permute(this, dims);
  }
  transpose(a: number, b: number): Tensor {
    return aten.transpose_int(this, a, b);
  }
  flatten(start = 0, end = -1): Tensor {
    return aten.flatten_using_ints(this, { start_dim: start, end_dim: end });
  }
  squeeze(dim: number): Tensor {
    return aten.squeeze_dim(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return aten.unsqueeze(this, dim);
  }
  expand(shape: number[]): Tensor {
    return aten.expand(this, shape);
  }
  contiguous(format: 'contiguous' | 'channels_last' = 'contiguous'): Tensor {
    return format === 'contiguous' ? aten.contiguous(this) : aten.contiguous(this, { memory_format: format });
  }
  /** Converts dtype (a copy unless already that dtype). */
  to(dtype: DType): Tensor {
    return aten.to_dtype(this, dtype);
  }
  toDevice(device: string): Tensor {
    return aten.to_device(this, device, this.dtype);
  }
  float(): Tensor {
    return this.to('float32');
  }
  double(): Tensor {
    return this.to('float64');
  }
  long(): Tensor {
    return this.to('int64');
  }
  clone(format?: 'contiguous' | 'channels_last' | 'preserve'): Tensor {
    return aten.clone(this, format ? { memory_format: format } : undefined);
  }
  /** Python's t[..., start:end:step] along dim. */
  slice(dim: number, start: number | null = null, end: number | null = null, step = 1): Tensor {
    return aten.slice_Tensor(this, { dim, start, end, step });
  }
  select(dim: number, index: number): Tensor {
    return aten.select_int(this, dim, index);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return aten.narrow(this, dim, start, length);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return aten.index_select(this, dim, index);
  }

  // Reductions.
  sum(dims?: number | number[], keepdim = false): Tensor {
    return dims === undefined ? aten.sum(this) : aten.sum_dim_IntList(this, { dim: dims, keepdim });
  }
  mean(dims?: number | number[], keepdim = false): Tensor {
    return dims === undefined ? aten.mean(this) : aten.mean_dim(this, { dim: dims, keepdim });
  }
  amax(dims: number | number[] = [], keepdim = false): Tensor {
    return aten.amax(this, { dim: dims, keepdim });
  }
  amin(dims: number | number[] = [], keepdim = false): Tensor {
    return aten.amin(this, { dim: dims, keepdim });
  }
  max(): Tensor {
    return aten.max(this);
  }
  min(): Tensor {
    return aten.min(this);
  }
  argmax(dim: number | null = null, keepdim = false): Tensor {
    return aten.argmax(this, { dim, keepdim });
  }
  /** The 2-norm over all elements (or the p-norm). */
  norm(p: number = 2): Tensor {
    return aten.linalg_vector_norm(this, { ord: float(p) });
  }

  // In-place (no autograd on leaves that require grad; used by optimizers under noGrad).
  add_(o: Tensor | Scalar, alpha: Scalar = 1): this {
    ElemScalar(o) ? aten.add__Scalar(this, o, { alpha }) : aten.add__Tensor(this, o, { alpha });
    return this;
  }
  sub_(o: Tensor, alpha: Scalar = 1): this {
    aten.sub__Tensor(this, o, { alpha });
    return this;
  }
  mul_(o: Tensor | Scalar): this {
    ElemScalar(o) ? aten.mul__Scalar(this, o) : aten.mul__Tensor(this, o);
    return this;
  }
  div_(o: Scalar): this {
    aten.div__Scalar(this, o);
    return this;
  }
  addcmul_(a: Tensor, b: Tensor, value: Scalar = 1): this {
    aten.addcmul_(this, a, b, { value });
    return this;
  }
  addcdiv_(a: Tensor, b: Tensor, value: Scalar = 1): this {
    aten.addcdiv_(this, a, b, { value });
    return this;
  }
  lerp_(end: Tensor, weight: Scalar): this {
    aten.lerp__Scalar(this, end, weight);
    return this;
  }
  sqrt_(): this {
    aten.sqrt_(this);
    return this;
  }
  zero_(): this {
    aten.zero_(this);
    return this;
  }
  fill_(v: Scalar): this {
    aten.fill__Scalar(this, v);
    return this;
  }
  copy_(src: Tensor): this {
    aten.copy_(this, src);
    return this;
  }
  relu_(): this {
    aten.relu_(this);
    return this;
  }
  clampMax_(v: Scalar): this {
    aten.clamp_max_(this, v);
    return this;
  }
  /**
   * Overwrites the data from a typed array of the same dtype and element count, in logical (row-major)
   * order whatever the layout. Not recorded by autograd, but it counts as an in-place change: a tensor
   * saved for backward then makes backward fail instead of giving wrong gradients.
   */
  copyFromArray(a: TypedArray): this {
    this.native.copyFromArray(a);
    return this;
  }
}
