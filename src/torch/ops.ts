// Typed functional ops (the torch.nn.functional of streetseg). Each is one boxed ATen call or a short
// composition of them, so autograd comes from libtorch.
import { defOp, float, rand, Tensor, type Scalar } from './tensor.js';

const O = {
  linear: defOp('linear'),
  conv2d: defOp('conv2d'),
  layerNorm: defOp('layer_norm'),
  batchNorm: defOp('batch_norm'),
  gelu: defOp('gelu'),
  relu: defOp('relu'),
  softmax: defOp('softmax', 'int'),
  logSoftmax: defOp('log_softmax', 'int'),
  dropout: defOp('dropout'),
  upBilinear: defOp('upsample_bilinear2d', 'vec'),
  upNearest: defOp('upsample_nearest2d', 'vec'),
  crossEntropy: defOp('cross_entropy_loss'),
  nllLoss: defOp('nll_loss_nd'),
  cat: defOp('cat'),
  stack: defOp('stack'),
  bmm: defOp('bmm'),
  matmul: defOp('matmul'),
  addmm: defOp('addmm'),
  where: defOp('where', 'self'),
  maskedFill: defOp('masked_fill', 'Scalar'),
  floor: defOp('floor'),
  chunk: defOp('chunk'),
  split: defOp('split', 'Tensor'),
  maxPool2d: defOp('max_pool2d'),
  avgPool2d: defOp('avg_pool2d'),
  adaptiveAvgPool2d: defOp('adaptive_avg_pool2d'),
  oneHot: defOp('one_hot'),
  gather: defOp('gather'),
  bincount: defOp('bincount'),
  mse: defOp('mse_loss'),
};

const T = (x: unknown): Tensor => x as Tensor;
const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

/** y = x Wᵀ + b. x: (*, in), weight: (out, in). */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return T(O.linear([x, weight, bias]));
}

export interface Conv2dOpts {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}
/** 2-D convolution, NCHW; groups = C for depthwise. */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOpts = {}): Tensor {
  return T(O.conv2d([x, weight, bias, pair(o.stride ?? 1), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.groups ?? 1]));
}

export function layerNorm(x: Tensor, normalizedShape: number[], weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  return T(O.layerNorm([x, normalizedShape, weight, bias, float(eps)]));
}

/** Batch norm over dim 1. In training mode the running statistics are updated in place. */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  training: boolean,
  momentum = 0.1,
  eps = 1e-5,
): Tensor {
  return T(O.batchNorm([x, weight, bias, runningMean, runningVar, training, float(momentum), float(eps), false]));
}

/** GELU; 'none' is the exact erf form (HF's "gelu"), 'tanh' the approximation. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return T(O.gelu([x], { approximate }));
}
export function relu(x: Tensor): Tensor {
  return T(O.relu([x]));
}
export function softmax(x: Tensor, dim: number): Tensor {
  return T(O.softmax([x, dim, null]));
}
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return T(O.logSoftmax([x, dim, null]));
}

/** Inverted dropout (scales kept values by 1/(1-p)); identity when not training or p = 0. */
export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  if (!training || p === 0) return x;
  return T(O.dropout([x, float(p), true]));
}

/**
 * Stochastic depth per sample, as timm/HF: keep each sample's residual branch with probability 1-p and
 * scale kept ones by 1/(1-p). Identity when not training.
 */
export function dropPath(x: Tensor, p: number, training: boolean): Tensor {
  if (!training || p === 0) return x;
  const keepProb = 1 - p;
  const shape = [x.shape[0]!, ...x.shape.slice(1).map(() => 1)];
  const mask = T(O.floor([rand(shape, { dtype: x.dtype }).add(float(keepProb))]));
  return x.div(float(keepProb)).mul(mask);
}

export interface InterpolateOpts {
  size?: [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'bilinear' | 'nearest';
  alignCorners?: boolean;
}
/** Resizes NCHW spatially. Bilinear honours alignCorners (default false, like PyTorch). */
export function interpolate(x: Tensor, o: InterpolateOpts): Tensor {
  const mode = o.mode ?? 'bilinear';
  if (!o.size && o.scaleFactor === undefined) throw new TypeError('interpolate: give size or scaleFactor');
  const size = o.size ?? null;
  const scales = o.size ? null : pair(o.scaleFactor as number | [number, number]).map((s) => float(s));
  if (mode === 'bilinear') return T(O.upBilinear([x, size, o.alignCorners ?? false, scales]));
  if (o.alignCorners) throw new TypeError("interpolate: alignCorners only applies to mode 'bilinear'");
  return T(O.upNearest([x, size, scales]));
}

export interface CrossEntropyOpts {
  weight?: Tensor | null;
  ignoreIndex?: number;
  labelSmoothing?: number;
  reduction?: 'mean' | 'sum' | 'none';
}
/**
 * Cross-entropy of logits (N, C, ...) against class ids (N, ...). With class weights and mean reduction
 * it is the weighted mean: Σ w[y]·nll / Σ w[y] over non-ignored targets (PyTorch semantics).
 */
export function crossEntropy(logits: Tensor, target: Tensor, o: CrossEntropyOpts = {}): Tensor {
  return T(
    O.crossEntropy([logits, target, o.weight ?? null, o.reduction ?? 'mean', o.ignoreIndex ?? -100, float(o.labelSmoothing ?? 0)]),
  );
}

/** Negative log-likelihood of log-probabilities (N, C, ...) with the same weighting rules. */
export function nllLoss(logProbs: Tensor, target: Tensor, o: Omit<CrossEntropyOpts, 'labelSmoothing'> = {}): Tensor {
  return T(O.nllLoss([logProbs, target, o.weight ?? null, o.reduction ?? 'mean', o.ignoreIndex ?? -100]));
}

export function mseLoss(a: Tensor, b: Tensor, reduction: 'mean' | 'sum' | 'none' = 'mean'): Tensor {
  return T(O.mse([a, b, reduction]));
}

export function cat(tensors: Tensor[], dim = 0): Tensor {
  return T(O.cat([tensors, dim]));
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return T(O.stack([tensors, dim]));
}
export function matmul(a: Tensor, b: Tensor): Tensor {
  return T(O.matmul([a, b]));
}
/** c + a @ b for 2-D a, b (c broadcast). */
export function addmm(c: Tensor, a: Tensor, b: Tensor): Tensor {
  return T(O.addmm([c, a, b]));
}
export function bmm(a: Tensor, b: Tensor): Tensor {
  return T(O.bmm([a, b]));
}
/** Elementwise cond ? a : b. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  return T(O.where([cond, a, b]));
}
export function maskedFill(x: Tensor, mask: Tensor, value: Scalar): Tensor {
  return T(O.maskedFill([x, mask, value]));
}
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  return O.chunk([x, chunks, dim]) as Tensor[];
}
export function split(x: Tensor, size: number, dim = 0): Tensor[] {
  return O.split([x, size, dim]) as Tensor[];
}
export function maxPool2d(x: Tensor, kernel: number, stride = kernel, padding = 0): Tensor {
  return T(O.maxPool2d([x, pair(kernel), pair(stride), pair(padding), [1, 1], false]));
}
export function avgPool2d(x: Tensor, kernel: number, stride = kernel, padding = 0): Tensor {
  return T(O.avgPool2d([x, pair(kernel), pair(stride), pair(padding), false, true, null]));
}
export function adaptiveAvgPool2d(x: Tensor, size: [number, number]): Tensor {
  return T(O.adaptiveAvgPool2d([x, size]));
}
export function oneHot(x: Tensor, numClasses: number): Tensor {
  return T(O.oneHot([x, numClasses]));
}
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  return T(O.gather([x, dim, index]));
}
/** Counts of each non-negative integer value in a 1-D int tensor. */
export function bincount(x: Tensor, minlength = 0): Tensor {
  return T(O.bincount([x, null, minlength]));
}
