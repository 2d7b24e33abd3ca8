// Typed functional ops (the torch.nn.functional of streetseg). Each is one boxed ATen call or a short
// composition of them, so autograd comes from libtorch.
import * as aten from './generated/aten.js';
import { rand } from './factories.js';
import { tidy } from './memory.js';
import { getMatmulPrecision } from './modes.js';
import { float, type Tensor, type Scalar } from './tensor.js';

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

// True where a float32 product should run in bfloat16 (setMatmulPrecision('bf16')).
const lowered = (x: Tensor): boolean => x.dtype === 'float32' && getMatmulPrecision() === 'bf16';

/** y = x Wᵀ + b. x: (*, in), weight: (out, in). */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  if (lowered(x)) {
    // The bias is added in float32: exact, and libtorch's float32 add is vectorised where bfloat16's is not.
    const y = aten.linear(x.to('bfloat16'), weight.to('bfloat16'), { bias: null }).to('float32');
    return bias ? y.add(bias) : y;
  }
  return aten.linear(x, weight, { bias });
}

export interface Conv2dOpts {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}
/** 2-D convolution, NCHW; groups = C for depthwise. */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOpts = {}): Tensor {
  return aten.conv2d(x, weight, { bias, stride: o.stride, padding: o.padding, dilation: o.dilation, groups: o.groups });
}

export function layerNorm(x: Tensor, normalizedShape: number[], weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  return aten.layer_norm(x, normalizedShape, { weight, bias, eps });
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
  return aten.batch_norm(x, momentum, eps, {
    weight,
    bias,
    running_mean: runningMean,
    running_var: runningVar,
    training,
    cudnn_enabled: false,
  });
}

/** GELU; 'none' is the exact erf form (HF's "gelu"), 'tanh' the approximation. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return aten.gelu(x, { approximate });
}
export function relu(x: Tensor): Tensor {
  return aten.relu(x);
}
const RELU6_BOUNDS = { min_val: float(0), max_val: float(6) };
/** ReLU6, min(max(x, 0), 6), as torch's (hardtanh with bounds 0 and 6); `inplace` overwrites x. */
export function relu6(x: Tensor, inplace = false): Tensor {
  return inplace ? aten.hardtanh_(x, RELU6_BOUNDS) : aten.hardtanh(x, RELU6_BOUNDS);
}
/** SiLU (swish), x·σ(x); `inplace` overwrites x. */
export function silu(x: Tensor, inplace = false): Tensor {
  return inplace ? aten.silu_(x) : aten.silu(x);
}
export function softmax(x: Tensor, dim: number): Tensor {
  return aten.softmax_int(x, dim);
}
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return aten.log_softmax_int(x, dim);
}

/**
 * Inverted dropout (scales kept values by 1/(1-p)); identity when not training or p = 0. An element is
 * kept when u ≥ p for u ~ U[0, 1) from the default generator. Not aten::dropout: libtorch 1.13's CPU
 * bernoulli_ is a serial loop that draws a 64-bit double per element (138 ms of a 1.58 s SegFormer-B0
 * training step, for the classifier's dropout on 8×256×90×120), while a float32 uniform_ draws one
 * 32-bit number and the threshold and scale are vectorised passes: the same distribution at half the
 * cost. Half-precision inputs draw in float32 too: a bfloat16 u would put p on a 1/256 grid.
 */
export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  return tidy(() => {
    const half = x.dtype === 'float16' || x.dtype === 'bfloat16';
    let keep = half ? aten.empty_like(x, { dtype: 'float32' }) : aten.empty_like(x);
    aten.uniform_(keep);
    aten.ge__Scalar(keep, float(p));
    aten.mul__Scalar(keep, float(1 / (1 - p)));
    if (half) keep = keep.to(x.dtype);
    return x.mul(keep);
  });
}

/**
 * nn.Dropout2d: zeroes whole channels of (N, C, H, W) with probability p and scales the kept ones by
 * 1/(1-p) (aten::feature_dropout); identity when not training or p = 0.
 */
export function dropout2d(x: Tensor, p: number, training: boolean): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout2d: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  return aten.feature_dropout(x, p, { train: true });
}

/**
 * Stochastic depth per sample, as timm/HF: keep each sample's residual branch with probability 1-p and
 * scale kept ones by 1/(1-p). Identity when not training.
 */
export function dropPath(x: Tensor, p: number, training: boolean): Tensor {
  if (!training || p === 0) return x;
  const keepProb = 1 - p;
  const shape = [x.shape[0]!, ...x.shape.slice(1).map(() => 1)];
  const mask = aten.floor(rand(shape, { dtype: x.dtype }).add(float(keepProb)));
  return x.div(float(keepProb)).mul(mask);
}

export interface InterpolateOpts {
  size?: [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'bilinear' | 'nearest';
  alignCorners?: boolean;
  /** bilinear only: low-pass filter when downscaling (PyTorch's antialias=True, PIL-like) */
  antialias?: boolean;
}
/** Resizes NCHW spatially. Bilinear honours alignCorners (default false, like PyTorch) and antialias. */
export function interpolate(x: Tensor, o: InterpolateOpts): Tensor {
  const mode = o.mode ?? 'bilinear';
  if (!o.size && o.scaleFactor === undefined) throw new TypeError('interpolate: give size or scaleFactor');
  const size = o.size ?? null;
  // float[] scale factors: the dispatcher reads each element as a double.
  const scales = o.size ? null : pair(o.scaleFactor as number | [number, number]);
  if (mode === 'bilinear') {
    const args = { output_size: size, align_corners: o.alignCorners ?? false, scale_factors: scales };
    if (o.antialias) return aten._upsample_bilinear2d_aa_vec(x, args);
    return aten.upsample_bilinear2d_vec(x, args);
  }
  if (o.alignCorners || o.antialias) throw new TypeError("interpolate: alignCorners and antialias only apply to mode 'bilinear'");
  return aten.upsample_nearest2d_vec(x, { output_size: size, scale_factors: scales });
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
  return aten.cross_entropy_loss(logits, target, {
    weight: o.weight,
    reduction: o.reduction,
    ignore_index: o.ignoreIndex,
    label_smoothing: o.labelSmoothing,
  });
}

/** Negative log-likelihood of log-probabilities (N, C, ...) with the same weighting rules. */
export function nllLoss(logProbs: Tensor, target: Tensor, o: Omit<CrossEntropyOpts, 'labelSmoothing'> = {}): Tensor {
  return aten.nll_loss_nd(logProbs, target, { weight: o.weight, reduction: o.reduction, ignore_index: o.ignoreIndex });
}

export function mseLoss(a: Tensor, b: Tensor, reduction: 'mean' | 'sum' | 'none' = 'mean'): Tensor {
  return aten.mse_loss(a, b, { reduction });
}

export function cat(tensors: Tensor[], dim = 0): Tensor {
  return aten.cat(tensors, { dim });
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return aten.stack(tensors, { dim });
}
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (lowered(a)) return aten.matmul(a.to('bfloat16'), b.to('bfloat16')).to('float32');
  return aten.matmul(a, b);
}
/** c + a @ b for 2-D a, b (c broadcast). */
export function addmm(c: Tensor, a: Tensor, b: Tensor): Tensor {
  return aten.addmm(c, a, b);
}
export function bmm(a: Tensor, b: Tensor): Tensor {
  if (lowered(a)) return aten.bmm(a.to('bfloat16'), b.to('bfloat16')).to('float32');
  return aten.bmm(a, b);
}
/** Elementwise cond ? a : b. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  return aten.where_self(cond, a, b);
}
export function maskedFill(x: Tensor, mask: Tensor, value: Scalar): Tensor {
  return aten.masked_fill_Scalar(x, mask, value);
}
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  return aten.chunk(x, chunks, { dim });
}
export function split(x: Tensor, size: number, dim = 0): Tensor[] {
  return aten.split_Tensor(x, size, { dim });
}
/**
 * Constant padding, as torch's F.pad(x, pad, 'constant', value): `pad` is (before, after) pairs from the
 * last dimension backwards, [left, right, top, bottom] for NCHW; negative entries crop.
 */
export function pad(x: Tensor, pad: number[], value = 0): Tensor {
  // 0 is the schema default: omitted, the dispatcher gets no kwargs object to walk.
  return aten.constant_pad_nd(x, pad, value === 0 ? undefined : { value: float(value) });
}
export function maxPool2d(x: Tensor, kernel: number, stride = kernel, padding = 0): Tensor {
  return aten.max_pool2d(x, kernel, { stride, padding });
}
export function avgPool2d(x: Tensor, kernel: number, stride = kernel, padding = 0): Tensor {
  return aten.avg_pool2d(x, kernel, { stride, padding });
}
export function adaptiveAvgPool2d(x: Tensor, size: [number, number]): Tensor {
  return aten.adaptive_avg_pool2d(x, size);
}
export function oneHot(x: Tensor, numClasses: number): Tensor {
  return aten.one_hot(x, { num_classes: numClasses });
}
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  return aten.gather(x, dim, index);
}
/** Counts of each non-negative integer value in a 1-D int tensor. */
export function bincount(x: Tensor, minlength = 0): Tensor {
  return aten.bincount(x, { minlength });
}
