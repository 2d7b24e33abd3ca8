// Static int8 convolutions (Int8Options.convs): QuantizeLinear → QLinearConv → DequantizeLinear, the
// activations uint8 per tensor at calibrated ranges (calibrate.ts), the weights int8 per output channel with
// any batch norm folded in first, the bias int32 at scale x_scale·w_scale. onnxruntime runs QLinearConv in
// MLAS's integer GEMM kernels (VNNI on x86 CPUs that have it; 128-bit WASM SIMD in browsers, where it is
// about 2.6× faster than the fp32 Conv it replaces: docs/benchmarks.md, the web app) and lays it out NHWC
// itself.
import { DataType } from './proto.js';
import { quantizePerChannel, type GraphBuilder, type Range } from './graph.js';
import type { BatchNorm2d, Conv2d } from '../torch/index.js';

/** uint8 quantisation of one tensor: real = (q − zeroPoint) · scale. */
export interface Uint8Params {
  scale: number;
  zeroPoint: number;
}

/**
 * Asymmetric uint8 parameters covering `r` widened to hold 0 (so zero padding and ReLU's zeros are exact):
 * scale = (max − min) / 255, zeroPoint = round(−min / scale). A degenerate range gets scale 1.
 */
export function uint8Params(r: Range): Uint8Params {
  if (!Number.isFinite(r.min) || !Number.isFinite(r.max) || r.min > r.max) throw new RangeError(`uint8Params: range [${r.min}, ${r.max}] is not a finite interval`);
  const lo = Math.min(r.min, 0);
  const hi = Math.max(r.max, 0);
  const scale = hi > lo ? Math.fround((hi - lo) / 255) : 1;
  return { scale, zeroPoint: Math.max(0, Math.min(255, Math.round(-lo / scale))) };
}

/** An eval-mode batch norm as y = x·scale + shift per channel: scale = γ/√(σ² + ε), shift = β − μ·scale. */
export function batchNormAffine(bn: BatchNorm2d): { scale: Float64Array; shift: Float64Array } {
  const [gamma, beta, mean, variance] = [bn.weight, bn.bias, bn.runningMean, bn.runningVar].map((t) => t.toArray() as Float32Array) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const scale = Float64Array.from(gamma, (g, o) => g / Math.sqrt(variance[o]! + bn.eps));
  return { scale, shift: Float64Array.from(beta, (b, o) => b - mean[o]! * scale[o]!) };
}

/** A conv's weight [out, in/groups, k, k] and bias [out] with its eval-mode batch norm folded in, as arrays. */
export function foldedArrays(c: Conv2d, bn: BatchNorm2d | null): { w: Float32Array; b: Float32Array } {
  const w = Float32Array.from(c.weight.contiguous().toArray() as Float32Array);
  const b = c.bias ? Float32Array.from(c.bias.toArray() as Float32Array) : new Float32Array(c.outChannels);
  if (!bn) return { w, b };
  const { scale, shift } = batchNormAffine(bn);
  const inner = w.length / c.outChannels;
  for (let o = 0; o < c.outChannels; o++) {
    for (let i = o * inner; i < (o + 1) * inner; i++) w[i] = w[i]! * scale[o]!;
    b[o] = b[o]! * scale[o]! + shift[o]!;
  }
  return { w, b };
}

/** Conv/QLinearConv attributes of `c`'s geometry; `pads` [top, left, bottom, right] replaces its own. */
export function convAttrs(c: Conv2d, pads?: number[]) {
  const { kernelSize: k, stride: s, padding: p, dilation: d, groups } = c;
  return { kernel_shape: [k, k], strides: [s, s], pads: pads ?? [p, p, p, p], dilations: [d, d], group: groups };
}

/**
 * The conv `key` (a checkpoint prefix) with weight `w` (`c`'s shape, any batch norm already folded) and bias
 * `b` (null: none) on `x` (`o.dims`: the weight's shape when it is a slice of `c`'s; `o.pads` as convAttrs). Calibration graph: an fp32 Conv on the int8-rounded weights, its input and output
 * observed as `key:input` / `key:output`. Otherwise the QLinearConv sandwich at the calibrated ranges.
 */
export function staticConv(g: GraphBuilder, x: string, key: string, c: Conv2d, w: Float32Array, b: Float32Array | null, o: { pads?: number[]; dims?: number[] } = {}): string {
  const convs = g.int8?.convs;
  if (!convs) throw new Error(`staticConv '${key}': the builder does not quantise convolutions`);
  const dims = o.dims ?? c.weight.shape;
  const qw = quantizePerChannel(w, dims, 0, g.int8!.reduceRange ? 63 : 127);
  const attrs = convAttrs(c, o.pads);
  if (convs === 'observe') {
    const inputs = [x, g.initializer(`${key}.weight_folded`, qw.dequantized, dims)];
    if (b) inputs.push(g.initializer(`${key}.bias_folded`, b, [b.length]));
    const y = g.node('Conv', inputs, attrs);
    g.observe(`${key}:input`, x);
    g.observe(`${key}:output`, y);
    return y;
  }
  const ranges = convs.get(key);
  if (!ranges) throw new Error(`staticConv '${key}': no calibrated range for this convolution (calibrate on the same model)`);
  const px = uint8Params(ranges.input);
  const py = uint8Params(ranges.output);
  const scalar = (p: Uint8Params) => [g.floats([p.scale], []), g.typed('zero_point', DataType.UINT8, [], new Uint8Array([p.zeroPoint]))] as const;
  const [xs, xz] = scalar(px);
  const [ys, yz] = scalar(py);
  const xq = g.node('QuantizeLinear', [x, xs, xz]);
  const out = dims[0]!;
  const inputs = [
    xq, xs, xz,
    g.typed(`${key}.weight_int8`, DataType.INT8, dims, new Uint8Array(qw.q.buffer)),
    g.initializer(`${key}.weight_scale`, qw.scale, [out]),
    g.typed('zero_point_int8', DataType.INT8, [], new Uint8Array(1)),
    ys, yz,
  ];
  if (b) {
    const bq = Int32Array.from(b, (v, i) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(v / (px.scale * qw.scale[i]!)))));
    inputs.push(g.typed(`${key}.bias_int32`, DataType.INT32, [out], new Uint8Array(bq.buffer)));
  }
  g.qlinearConvs++;
  return g.node('DequantizeLinear', [g.node('QLinearConv', inputs, attrs), ys, yz]);
}
