// A FLOP counter read off the graph as it executes: every op called from TypeScript passes defOp
// (tensor.ts), whose observer sees its name, arguments and result. GEMM-type ops (conv2d, linear, matmul,
// mm, addmm, bmm, baddbmm) are counted exactly from their shapes; their backward is not visible from here
// (libtorch's autograd runs natively), so it is derived: each GEMM operand that requires grad costs one
// more GEMM of the same size (grad input = g·Wᵀ, grad weight = xᵀ·g), which is the usual 2× where both
// do and 1× where the input is data (the stem conv). Every other op counts its bytes (tensor arguments
// and results at full size, views excluded) and, as a rough figure, one FLOP per output element.
import { native } from './native.js';
import { setOpObserver, Tensor } from './tensor.js';

/** A tensor argument as the replay needs it: shape, whether autograd tracks it, and its layout. */
export interface TensorSpec {
  shape: number[];
  requiresGrad: boolean;
  /** 'transposed': the last two dims swapped of a contiguous tensor (k.transpose(-1, -2)); 'strided': anything else. */
  layout: 'contiguous' | 'channels_last' | 'transposed' | 'strided';
}
export type ArgSpec = { tensor: TensorSpec } | { tensors: TensorSpec[] } | { value: unknown };

/** One GEMM-type call site shape: the op, its arguments, how often it ran and its FLOPs (all calls). */
export interface GemmShape {
  op: string;
  key: string;
  calls: number;
  fwdFlops: number;
  bwdFlops: number;
  /** Operands whose gradient backward computes (of input/weight or a/b): 2 normally, 1 for the stem, 0 under noGrad. */
  gradOperands: number;
  args: ArgSpec[];
  kwargs: Record<string, ArgSpec>;
}

export interface OtherOp {
  op: string;
  calls: number;
  bytes: number;
  flops: number;
}

export interface FlopCount {
  /** GEMM-type FLOPs of the ops seen: forward exactly, backward derived (above). */
  gemm: { fwd: number; bwd: number };
  /** Everything else, forward (and optimizer) only: one FLOP per output element, bytes in + out. */
  other: { flops: number; bytes: number; calls: number };
  /** Per phase named by `mark` (e.g. forward, optimizer): GEMM forward FLOPs and other bytes. */
  phases: Record<string, { gemmFlops: number; otherBytes: number; otherFlops: number; calls: number }>;
  /** By total (fwd + bwd) FLOPs, largest first. */
  shapes: GemmShape[];
  /** By bytes, largest first. */
  otherOps: OtherOp[];
}

const prod = (xs: number[]): number => xs.reduce((a, b) => a * b, 1);

/** numpy-style broadcast of two batch shapes. */
function broadcast(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** 2·batch·M·K·N of torch.matmul's rules (1-D operands are a row / a column, batch dims broadcast). */
export function matmulFlops(a: number[], b: number[]): number {
  const A = a.length === 1 ? [1, a[0]!] : a;
  const B = b.length === 1 ? [b[0]!, 1] : b;
  const m = A[A.length - 2]!;
  const k = A[A.length - 1]!;
  const n = B[B.length - 1]!;
  return 2 * prod(broadcast(A.slice(0, -2), B.slice(0, -2))) * m * k * n;
}

/** 2·N·Cout·Hout·Wout·(Cin/groups)·kh·kw from the weight (Cout, Cin/groups, kh, kw) and the output's shape. */
export function convFlops(weight: number[], output: number[]): number {
  return 2 * prod(output) * prod(weight.slice(1));
}

const GEMM_OPS = new Set(['conv2d', 'convolution', 'linear', 'matmul', 'mm', 'addmm', 'bmm', 'baddbmm']);

const isTensor = (x: unknown): x is Tensor => x instanceof Tensor;

/**
 * Forward FLOPs of one GEMM-type call and the operands whose grads backward computes, or null for any
 * other op. `name` is the qualified op name ("addmm", "conv2d"); shapes come from the call itself.
 */
export function gemmCall(name: string, args: unknown[], result: unknown): { fwd: number; operands: Tensor[] } | null {
  const op = name.split('.')[0]!;
  if (!GEMM_OPS.has(op)) return null;
  const t = args.filter(isTensor);
  switch (op) {
    case 'conv2d':
    case 'convolution':
      if (!isTensor(result)) return null;
      return { fwd: convFlops(t[1]!.shape, result.shape), operands: [t[0]!, t[1]!] };
    case 'linear': {
      const [x, w] = t as [Tensor, Tensor];
      return { fwd: (2 * x.numel * w.shape[0]!), operands: [x, w] };
    }
    case 'addmm':
    case 'baddbmm':
      return { fwd: matmulFlops(t[1]!.shape, t[2]!.shape), operands: [t[1]!, t[2]!] };
    default: // matmul, mm, bmm
      return { fwd: matmulFlops(t[0]!.shape, t[1]!.shape), operands: [t[0]!, t[1]!] };
  }
}

// Ops that return a view (or metadata) and move no data.
const VIEW_OPS = new Set([
  'view', 'reshape', 'permute', 'transpose', 'expand', 'slice', 'select', 'narrow', 'unsqueeze', 'squeeze',
  'flatten', 'chunk', 'split', 't', 'detach', 'alias', 'as_strided', 'unflatten', 'view_as', 'expand_as',
]);

function spec(t: Tensor): TensorSpec {
  let layout: TensorSpec['layout'] = 'strided';
  if (t.isContiguous()) layout = 'contiguous';
  else if (t.ndim === 4 && t.isContiguous('channels_last')) layout = 'channels_last';
  else if (t.ndim >= 2) {
    // A view op: the observer is off while it runs (countFlops), and the view is freed at once.
    const tt = t.transpose(-1, -2);
    if (tt.isContiguous()) layout = 'transposed';
    tt.dispose();
  }
  return { shape: t.shape, requiresGrad: t.requiresGrad, layout };
}

function argSpec(a: unknown): ArgSpec {
  if (isTensor(a)) return { tensor: spec(a) };
  if (Array.isArray(a) && a.some(isTensor)) return { tensors: a.filter(isTensor).map(spec) };
  return { value: a };
}

function bytesOf(x: unknown): number {
  if (isTensor(x)) return x.native.nbytes;
  if (Array.isArray(x)) return x.reduce((s: number, y) => s + bytesOf(y), 0);
  return 0;
}

function elementsOf(x: unknown): number {
  if (isTensor(x)) return x.numel;
  if (Array.isArray(x)) return x.reduce((s: number, y) => s + elementsOf(y), 0);
  return 0;
}

/**
 * Runs fn with the counter on and returns its value and the count. fn gets `mark(phase)` to label the
 * ops that follow (default phase "forward"). Synchronous only, like profileOps.
 */
export function countFlops<T>(fn: (mark: (phase: string) => void) => T): { value: T; count: FlopCount } {
  const count: FlopCount = { gemm: { fwd: 0, bwd: 0 }, other: { flops: 0, bytes: 0, calls: 0 }, phases: {}, shapes: [], otherOps: [] };
  const shapes = new Map<string, GemmShape>();
  const others = new Map<string, OtherOp>();
  let phase = 'forward';
  const ph = () => (count.phases[phase] ??= { gemmFlops: 0, otherBytes: 0, otherFlops: 0, calls: 0 });
  const observe = (name: string, args: unknown[], kwargs: Record<string, unknown> | undefined, result: unknown): void => {
    const p = ph();
    p.calls++;
    const g = gemmCall(name, args, result);
    if (g) {
      // Autograd records the op only with grad mode on (noGrad, inference mode: no backward).
      const grads = native.isGradEnabled() ? g.operands.filter((o) => o.requiresGrad).length : 0;
      const a = args.map(argSpec);
      const kw: Record<string, ArgSpec> = {};
      for (const k in kwargs ?? {}) if (kwargs![k] !== undefined) kw[k] = argSpec(kwargs![k]);
      const key = `${name} ${JSON.stringify(a)} ${JSON.stringify(kw)}`;
      let s = shapes.get(key);
      if (!s) shapes.set(key, (s = { op: name, key, calls: 0, fwdFlops: 0, bwdFlops: 0, gradOperands: grads, args: a, kwargs: kw }));
      s.calls++;
      s.fwdFlops += g.fwd;
      s.bwdFlops += grads * g.fwd;
      count.gemm.fwd += g.fwd;
      count.gemm.bwd += grads * g.fwd;
      p.gemmFlops += g.fwd;
      return;
    }
    const op = name.split('.')[0]!;
    if (VIEW_OPS.has(op)) return;
    // An in-place op's result is its self argument: read once and written once, so both count.
    const bytes = bytesOf(args) + bytesOf(Object.values(kwargs ?? {})) + bytesOf(result);
    const flops = elementsOf(result);
    let o = others.get(name);
    if (!o) others.set(name, (o = { op: name, calls: 0, bytes: 0, flops: 0 }));
    o.calls++;
    o.bytes += bytes;
    o.flops += flops;
    count.other.calls++;
    count.other.bytes += bytes;
    count.other.flops += flops;
    p.otherBytes += bytes;
    p.otherFlops += flops;
  };
  // The observer itself calls ops (spec's transpose): those must not be counted, nor observed again.
  const prev = setOpObserver(function outer(name, args, kwargs, result) {
    setOpObserver(null);
    try {
      observe(name, args, kwargs, result);
    } finally {
      setOpObserver(outer);
    }
  });
  let value: T;
  try {
    value = fn((next) => void (phase = next));
  } finally {
    setOpObserver(prev);
  }
  count.shapes = [...shapes.values()].sort((a, b) => b.fwdFlops + b.bwdFlops - (a.fwdFlops + a.bwdFlops));
  count.otherOps = [...others.values()].sort((a, b) => b.bytes - a.bytes);
  return { value, count };
}
