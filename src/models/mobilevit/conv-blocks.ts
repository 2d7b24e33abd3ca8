// MobileViT's convolutional blocks (HF names): the conv layer (conv → batch norm → activation, the
// batch norm folded into the conv in eval mode), the MobileNetV2 inverted residual, and the stack of
// them that forms encoder.layer.0 and .1. Activations run in place when no gradient is recorded.
import { BatchNorm2d, Conv2d, F, Module, ModuleList, float, isGradEnabled, tidy, type Tensor } from '../../torch/index.js';
import { makeDivisible } from '../mobilenet_v2/model.js';
import type { MobileViTConfig } from './config.js';

export type Activation = 'silu' | 'relu' | null;

export function activate(x: Tensor, act: Activation): Tensor {
  if (!act) return x;
  // In place only when autograd records nothing: x is a fresh conv/BN output nobody else reads.
  const inPlace = !isGradEnabled();
  if (act === 'relu') return inPlace ? x.relu_() : x.relu();
  return F.silu(x, inPlace);
}

/** Python's round() (half to even), as HF computes the expanded width int(round(c · ratio)). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Conv (symmetric padding (k-1)/2·dilation, no bias by default) → BatchNorm (eps 1e-5) → activation. */
export class MobileViTConvLayer extends Module {
  readonly convolution: Conv2d;
  readonly normalization: BatchNorm2d | null = null;
  constructor(
    inC: number,
    outC: number,
    kernel: number,
    readonly act: Activation,
    o: { stride?: number; groups?: number; dilation?: number; bias?: boolean; norm?: boolean } = {},
  ) {
    super();
    const dilation = o.dilation ?? 1;
    this.convolution = this.child(
      'convolution',
      new Conv2d(inC, outC, kernel, { stride: o.stride ?? 1, padding: Math.floor((kernel - 1) / 2) * dilation, dilation, groups: o.groups ?? 1, bias: o.bias ?? false }),
    );
    if (o.norm !== false) this.normalization = this.child('normalization', new BatchNorm2d(outC, 1e-5, 0.1));
  }
  forward(x: Tensor): Tensor {
    const bn = this.normalization;
    const conv = this.convolution;
    if (!bn || bn.training) {
      const y = conv.forward(x);
      return activate(bn ? bn.forward(y) : y, this.act);
    }
    // Eval: the batch norm uses running statistics, an affine map per channel, so it folds into the
    // conv's weights and bias (a few KB) instead of taking a pass over the activations. Recomputed
    // every call, so it always follows the current weights and stays differentiable.
    const scale = bn.weight.mul(bn.runningVar.add(float(bn.eps)).rsqrt());
    const shift = (conv.bias ? conv.bias.sub(bn.runningMean) : bn.runningMean.neg()).mul(scale).add(bn.bias);
    const w = conv.weight.mul(scale.view([-1, 1, 1, 1]));
    const y = F.conv2d(x, w, shift, { stride: conv.stride, padding: conv.padding, dilation: conv.dilation, groups: conv.groups });
    return activate(y, this.act);
  }
}

/** MobileNetV2 block: 1×1 expand → 3×3 depthwise (stride, dilation) → 1×1 reduce, + input when shapes allow. */
export class MobileViTInvertedResidual extends Module {
  readonly expand_1x1: MobileViTConvLayer;
  readonly conv_3x3: MobileViTConvLayer;
  readonly reduce_1x1: MobileViTConvLayer;
  readonly useResidual: boolean;
  constructor(cfg: MobileViTConfig, inC: number, outC: number, stride: number, dilation = 1) {
    super();
    const expanded = makeDivisible(roundHalfEven(inC * cfg.expand_ratio), 8);
    if (stride !== 1 && stride !== 2) throw new RangeError(`MobileViTInvertedResidual: stride must be 1 or 2, got ${stride}`);
    this.useResidual = stride === 1 && inC === outC;
    this.expand_1x1 = this.child('expand_1x1', new MobileViTConvLayer(inC, expanded, 1, 'silu'));
    this.conv_3x3 = this.child('conv_3x3', new MobileViTConvLayer(expanded, expanded, 3, 'silu', { stride, groups: expanded, dilation }));
    this.reduce_1x1 = this.child('reduce_1x1', new MobileViTConvLayer(expanded, outC, 1, null));
  }
  forward(x: Tensor): Tensor {
    const y = this.reduce_1x1.forward(this.conv_3x3.forward(this.expand_1x1.forward(x)));
    return this.useResidual ? y.add(x) : y;
  }
}

/** A stack of inverted residuals (encoder.layer.0 and .1); only the first one strides. */
export class MobileViTMobileNetLayer extends Module {
  readonly layer: ModuleList<MobileViTInvertedResidual>;
  constructor(cfg: MobileViTConfig, inC: number, outC: number, stride: number, stages: number) {
    super();
    this.layer = this.child('layer', new ModuleList<MobileViTInvertedResidual>());
    for (let i = 0; i < stages; i++) this.layer.push(new MobileViTInvertedResidual(cfg, i === 0 ? inC : outC, outC, i === 0 ? stride : 1));
  }
  forward(x: Tensor): Tensor {
    // One scope per block: what autograd did not save is freed when the block ends (see segformer/model.ts).
    for (const l of this.layer) x = tidy(() => l.forward(x));
    return x;
  }
}
