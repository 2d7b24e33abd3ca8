// ONNX subgraphs for the layers every family shares (Linear, LayerNorm, GELU, layout changes). Weights
// enter under their checkpoint names in PyTorch's layout; the layout work on them (transposes, folded
// scales) is graph ops on constants, which onnxruntime folds once when the session loads.
import { f, type GraphBuilder } from './graph.js';
import { convAttrs, foldedArrays, staticConv } from './qconv.js';
import type { BatchNorm2d, Conv2d, Linear, Tensor } from '../torch/index.js';

export interface EmitOptions {
  /** 'erf': x·½(1+erf(x/√2)) in standard ops (ORT fuses it to Gelu); 'com.microsoft': ORT's Gelu op. */
  gelu?: 'erf' | 'com.microsoft';
  /**
   * 'matmul': attention as MatMul, Softmax, MatMul in standard ops; 'com.microsoft': onnxruntime's fused
   * MultiHeadAttention (one kernel per layer: no head transposes, softmax in place). Used by MobileViT.
   */
  attention?: 'matmul' | 'com.microsoft';
}

/** NCHW ↔ NHWC. */
export const toNHWC = (g: GraphBuilder, x: string): string => g.node('Transpose', [x], { perm: [0, 2, 3, 1] });
export const toNCHW = (g: GraphBuilder, x: string): string => g.node('Transpose', [x], { perm: [0, 3, 1, 2] });

/**
 * x[M, in] · Wᵀ + b as one Gemm (transB: the weight stays in its checkpoint layout [out, in]); `c`
 * replaces the bias with a full [M, out] addend (Gemm's C), as torch's addmm.
 */
export function linear(g: GraphBuilder, x: string, prefix: string, lin: { weight: Tensor; bias: Tensor | null }, c?: string): string {
  const bias = !c && lin.bias ? g.initializer(`${prefix}.bias`, lin.bias) : '';
  const q = g.dynamicLinear(x, `${prefix}.weight`, lin.weight, bias);
  if (q) return c ? g.node('Add', [q, c]) : q;
  const inputs = [x, g.weight(`${prefix}.weight`, lin.weight, 0)];
  const addend = c ?? (bias || null);
  if (addend) inputs.push(addend);
  return g.node('Gemm', inputs, { transB: 1 });
}

/** Gemm of x[M, in] with an already-built [out, in] weight value and optional bias/addend. */
export function gemm(g: GraphBuilder, x: string, w: string, c?: string): string {
  return g.node('Gemm', c ? [x, w, c] : [x, w], { transB: 1 });
}

/** A Conv2d module (NCHW), geometry from the module. */
export function conv2d(g: GraphBuilder, x: string, prefix: string, c: Conv2d): string {
  if (g.quantizesConv(c.weight.numel)) {
    const { w, b } = foldedArrays(c, null);
    return staticConv(g, x, prefix, c, w, c.bias ? b : null);
  }
  return convNode(g, x, c, g.weight(`${prefix}.weight`, c.weight, 0), c.bias ? g.initializer(`${prefix}.bias`, c.bias) : '');
}

/** A conv layer as both mobile families name it: `convolution` then an optional `normalization`. */
export interface ConvBnModule {
  convolution: Conv2d;
  normalization: BatchNorm2d | null;
}

/**
 * A conv layer's weight and bias with its eval-mode BatchNorm (running statistics) folded in: W·s and
 * (b − μ)·s + β with s = γ/√(σ² + ε), graph ops on the checkpoint's constants that onnxruntime folds at
 * load (in int8 mode the fold applies to the dequantised weight, as the libtorch check does). b is ''
 * for a conv with neither bias nor batch norm.
 */
export function foldedConvBn(g: GraphBuilder, prefix: string, m: ConvBnModule): { w: string; b: string } {
  const c = m.convolution;
  let w = g.weight(`${prefix}.convolution.weight`, c.weight, 0);
  let b = c.bias ? g.initializer(`${prefix}.convolution.bias`, c.bias) : '';
  const bn = m.normalization;
  if (bn) {
    const n = `${prefix}.normalization`;
    const scale = g.node('Div', [
      g.initializer(`${n}.weight`, bn.weight),
      g.node('Sqrt', [g.node('Add', [g.initializer(`${n}.running_var`, bn.runningVar), g.floats([bn.eps], [])])]),
    ]);
    w = g.node('Mul', [w, g.node('Reshape', [scale, g.ints([-1, 1, 1, 1])])]);
    const mean = g.initializer(`${n}.running_mean`, bn.runningMean);
    const centred = b ? g.node('Sub', [b, mean]) : g.node('Neg', [mean]);
    b = g.node('Add', [g.node('Mul', [centred, scale]), g.initializer(`${n}.bias`, bn.bias)]);
  }
  return { w, b };
}

/** A Conv node with the geometry of `c` (`pads` [top, left, bottom, right] replaces its symmetric padding). */
export function convNode(g: GraphBuilder, x: string, c: Conv2d, w: string, b: string, pads?: number[]): string {
  return g.node('Conv', b ? [x, w, b] : [x, w], convAttrs(c, pads));
}

/**
 * Conv → eval-mode BatchNorm as one Conv (foldedConvBn). `pads` ([top, left, bottom, right]) replaces the
 * module's symmetric padding, e.g. with 0 after an explicit Pad.
 */
export function convBn(g: GraphBuilder, x: string, prefix: string, m: ConvBnModule, pads?: number[]): string {
  const c = m.convolution;
  if (g.quantizesConv(c.weight.numel)) {
    const { w, b } = foldedArrays(c, m.normalization);
    return staticConv(g, x, prefix, c, w, c.bias || m.normalization ? b : null, pads ? { pads } : {});
  }
  const { w, b } = foldedConvBn(g, prefix, m);
  return convNode(g, x, m.convolution, w, b, pads);
}

/** The activations of the conv layers: ReLU6 is Clip(0, 6) (onnxruntime fuses Conv+Clip and Conv+Relu). */
export function activation(g: GraphBuilder, x: string, act: 'relu' | 'relu6' | 'silu' | null): string {
  if (act === 'relu') return g.node('Relu', [x]);
  if (act === 'relu6') return g.node('Clip', [x, g.floats([0], []), g.floats([6], [])]);
  if (act === 'silu') return g.node('Mul', [x, g.node('Sigmoid', [x])]);
  return x;
}

type Projection = 'query' | 'key' | 'value';

/**
 * In dynamicLinear int8 mode: x times the stacked weights of the projections `names` (the query's scaled
 * by 1/√headDim, in fp32 as onnxruntime folds scaledQkv's Mul) as one DynamicQuantizeMatMul with the
 * stacked biases; null in every other mode, where the caller emits scaledQkv's Gemm.
 */
export function dynamicQkv(g: GraphBuilder, x: string, p: string, a: Record<Projection, Linear>, names: Projection[], headDim: number): string | null {
  const [rows, cols] = a[names[0]!].weight.shape as [number, number];
  if (!g.quantizesLinear(names.length * rows * cols)) return null;
  const s = Math.fround(1 / Math.sqrt(headDim));
  const scaled = (n: Projection, t: Tensor) => {
    const v = t.contiguous().toArray() as Float32Array;
    return n === 'query' ? v.map((e) => Math.fround(e * s)) : v;
  };
  const stack = (parts: Float32Array[]) => {
    const out = new Float32Array(parts.reduce((m, q) => m + q.length, 0));
    let at = 0;
    for (const q of parts) {
      out.set(q, at);
      at += q.length;
    }
    return out;
  };
  const w = stack(names.map((n) => scaled(n, a[n].weight)));
  const hasBias = names.every((n) => a[n].bias);
  const key = `${p}.${names.join('_')}`;
  const bias = hasBias ? g.initializer(`${key}.bias`, stack(names.map((n) => scaled(n, a[n].bias!))), [names.length * rows]) : '';
  return g.dynamicLinear(x, `${key}.weight`, w, bias, [names.length * rows, cols], { checkpointKey: false });
}

/** Query/key/value weights and biases (null without bias) with 1/√headDim folded into the query's. */
export function scaledQkv(g: GraphBuilder, p: string, a: { query: Linear; key: Linear; value: Linear }, headDim: number) {
  const scale = g.floats([1 / Math.sqrt(headDim)], []);
  const bias = (n: string, l: Linear) => (l.bias ? g.initializer(`${p}.${n}.bias`, l.bias) : null);
  const bq = bias('query', a.query);
  return {
    wq: g.node('Mul', [g.weight(`${p}.query.weight`, a.query.weight, 0), scale]),
    bq: bq ? g.node('Mul', [bq, scale]) : null,
    wk: g.weight(`${p}.key.weight`, a.key.weight, 0),
    wv: g.weight(`${p}.value.weight`, a.value.weight, 0),
    bk: bias('key', a.key),
    bv: bias('value', a.value),
  };
}

/**
 * Softmax attention of token matrices q [S·n, C] and k, v [S·n', C] (the 1/√d already in q), split into
 * heads by `headShape` = [S, n, heads, hd] (one entry -1); returns the context as [S·n, C]. With
 * o.attention 'com.microsoft' (self-attention only, n = n'), onnxruntime's MultiHeadAttention on
 * [S, n, C] with scale 1, since q carries it.
 */
export function multiHeadAttention(g: GraphBuilder, q: string, k: string, v: string, headShape: string, c: number, heads: number, o: EmitOptions = {}): string {
  if (o.attention === 'com.microsoft') {
    const seq = g.node('Concat', [g.node('Slice', [headShape, g.ints([0]), g.ints([2])]), g.ints([c])], { axis: 0 });
    const [q3, k3, v3] = [q, k, v].map((t) => g.node('Reshape', [t, seq])) as [string, string, string];
    const ctx = g.node('MultiHeadAttention', [q3, k3, v3], { num_heads: heads, scale: f(1) }, { domain: 'com.microsoft' });
    return g.node('Reshape', [ctx, g.ints([-1, c])]);
  }
  const split = (t: string, perm: number[]) => g.node('Transpose', [g.node('Reshape', [t, headShape])], { perm });
  // keys straight to (S, heads, hd, n') for the score GEMM
  const scores = g.node('MatMul', [split(q, [0, 2, 1, 3]), split(k, [0, 2, 3, 1])]);
  const ctx = g.node('MatMul', [g.node('Softmax', [scores], { axis: -1 }), split(v, [0, 2, 1, 3])]);
  // (S, heads, n, hd) → (S, n, heads, hd) → [S·n, C]
  return g.node('Reshape', [g.node('Transpose', [ctx], { perm: [0, 2, 1, 3] }), g.ints([-1, c])]);
}

/**
 * LayerNorm over the last axis. Opset 17 has LayerNormalization; below it, the mean/variance form
 * (ReduceMean, Sub, Pow, Sqrt, Div), which onnxruntime's LayerNormFusion recognises.
 */
export function layerNorm(g: GraphBuilder, x: string, prefix: string, ln: { weight: Tensor; bias: Tensor; eps: number }): string {
  const w = g.initializer(`${prefix}.weight`, ln.weight);
  const b = g.initializer(`${prefix}.bias`, ln.bias);
  if (g.opset >= 17) return g.node('LayerNormalization', [x, w, b], { axis: -1, epsilon: f(ln.eps) });
  const mean = g.node('ReduceMean', [x], { axes: [-1], keepdims: 1 });
  const d = g.node('Sub', [x, mean]);
  const v = g.node('ReduceMean', [g.node('Pow', [d, g.floats([2], [])])], { axes: [-1], keepdims: 1 });
  const n = g.node('Div', [d, g.node('Sqrt', [g.node('Add', [v, g.floats([ln.eps], [])])])]);
  return g.node('Add', [g.node('Mul', [n, w]), b]);
}

/** Exact (erf) GELU, as torch's F.gelu default. */
export function gelu(g: GraphBuilder, x: string, o: EmitOptions): string {
  if (o.gelu === 'com.microsoft') return g.node('Gelu', [x], {}, { domain: 'com.microsoft' });
  const e = g.node('Erf', [g.node('Div', [x, g.floats([Math.SQRT2], [])])]);
  return g.node('Mul', [g.node('Mul', [x, g.node('Add', [e, g.floats([1], [])])]), g.floats([0.5], [])]);
}
