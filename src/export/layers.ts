// ONNX subgraphs for the layers every family shares (Linear, LayerNorm, GELU, layout changes). Weights
// enter under their checkpoint names in PyTorch's layout; the layout work on them (transposes, folded
// scales) is graph ops on constants, which onnxruntime folds once when the session loads.
import { f, type GraphBuilder } from './graph.js';
import type { Conv2d, Tensor } from '../torch/index.js';

export interface EmitOptions {
  /** 'erf': x·½(1+erf(x/√2)) in standard ops (ORT fuses it to Gelu); 'com.microsoft': ORT's Gelu op. */
  gelu?: 'erf' | 'com.microsoft';
}

/** NCHW ↔ NHWC. */
export const toNHWC = (g: GraphBuilder, x: string): string => g.node('Transpose', [x], { perm: [0, 2, 3, 1] });
export const toNCHW = (g: GraphBuilder, x: string): string => g.node('Transpose', [x], { perm: [0, 3, 1, 2] });

/**
 * x[M, in] · Wᵀ + b as one Gemm (transB: the weight stays in its checkpoint layout [out, in]); `c`
 * replaces the bias with a full [M, out] addend (Gemm's C), as torch's addmm.
 */
export function linear(g: GraphBuilder, x: string, prefix: string, lin: { weight: Tensor; bias: Tensor | null }, c?: string): string {
  const inputs = [x, g.weight(`${prefix}.weight`, lin.weight, 0)];
  const addend = c ?? (lin.bias ? g.initializer(`${prefix}.bias`, lin.bias) : null);
  if (addend) inputs.push(addend);
  return g.node('Gemm', inputs, { transB: 1 });
}

/** Gemm of x[M, in] with an already-built [out, in] weight value and optional bias/addend. */
export function gemm(g: GraphBuilder, x: string, w: string, c?: string): string {
  return g.node('Gemm', c ? [x, w, c] : [x, w], { transB: 1 });
}

/** A Conv2d module (NCHW), geometry from the module. */
export function conv2d(g: GraphBuilder, x: string, prefix: string, c: Conv2d): string {
  const { kernelSize: k, stride: s, padding: p, dilation: d, groups } = c;
  const inputs = [x, g.weight(`${prefix}.weight`, c.weight, 0)];
  if (c.bias) inputs.push(g.initializer(`${prefix}.bias`, c.bias));
  return g.node('Conv', inputs, { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p], dilations: [d, d], group: groups });
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
