// MobileNetV2 + DeepLabV3 head as HuggingFace's MobileNetV2ForSemanticSegmentation: the same module tree
// and parameter names (HF checkpoints load as they are) and the same numbers, with three shortcuts
// that change nothing but float rounding:
// - TF "SAME" padding is handed to the convolution itself whenever it is symmetric (every stride-1 conv
//   and stride-2 convs on odd sizes); only the asymmetric case (stride 2 on an even size) pads a copy;
// - in eval mode each batch norm (running statistics) is folded into its convolution's weights and
//   bias, so no layer makes a second pass over its output;
// - the head's pooled branch is a constant map (a 1×1 map resized with align_corners=True), so its
//   block of conv_projection is applied to the pooled vector and added as a per-image bias instead of
//   concatenating a broadcast copy.
// The backbone's final 1×1 conv (mobilenet_v2.conv_1x1) is kept for the checkpoint but not run: HF
// computes it and throws it away (segmentation reads layer.15's output).
import { BatchNorm2d, Conv2d, F, Module, ModuleList, float, tidy, type Tensor } from '../../torch/index.js';
import { SegmentationModel } from '../contract.js';
import { getFamily, type ModelFamily } from '../registry.js';
import type { MobileNetV2Config } from './config.js';

/** Python's round(): halves go to the even neighbour (HF computes channel counts with it). */
function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d !== 0.5) return d < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** TF slim's make_divisible: the nearest multiple of divisor (at least minValue), never 10% below value. */
export function makeDivisible(value: number, divisor = 8, minValue = divisor): number {
  let v = Math.max(minValue, Math.floor(Math.trunc(value + divisor / 2) / divisor) * divisor);
  if (v < 0.9 * value) v += divisor;
  return v;
}

/** Channel count of a layer that has `channels` at width 1.0. */
export function applyDepthMultiplier(cfg: MobileNetV2Config, channels: number): number {
  return makeDivisible(pyRound(channels * cfg.depth_multiplier), cfg.depth_divisible_by, cfg.min_depth);
}

/**
 * TensorFlow "SAME" padding of one axis of size n for kernel k, stride s, dilation d: [before, after].
 * The output size is ⌈n/s⌉; an even size under stride 2 pads only after.
 */
export function samePadding(n: number, k: number, s: number, d: number): [number, number] {
  const pad = n % s === 0 ? Math.max(k - s, 0) : Math.max(k - (n % s), 0);
  const before = Math.floor(pad / 2);
  return [before * d, (pad - before) * d];
}

export interface ConvLayerOptions {
  stride?: number;
  groups?: number;
  dilation?: number;
  bias?: boolean;
  normalization?: boolean;
  /** Default: the config's hidden_act; null for none. */
  activation?: 'relu6' | 'relu' | null;
  /** Batch-norm eps (default: the config's layer_norm_eps). */
  eps?: number;
}

/** Conv (TF SAME or symmetric padding) → optional batch norm → optional ReLU6/ReLU. */
export class MobileNetV2ConvLayer extends Module {
  readonly convolution: Conv2d;
  readonly normalization: BatchNorm2d | null = null;
  readonly activation: 'relu6' | 'relu' | null;
  private readonly tfPadding: boolean;
  constructor(cfg: MobileNetV2Config, inChannels: number, outChannels: number, readonly kernelSize: number, o: ConvLayerOptions = {}) {
    super();
    const dilation = o.dilation ?? 1;
    this.tfPadding = cfg.tf_padding;
    const padding = cfg.tf_padding ? 0 : Math.floor((kernelSize - 1) / 2) * dilation;
    this.convolution = this.child(
      'convolution',
      new Conv2d(inChannels, outChannels, kernelSize, { stride: o.stride ?? 1, groups: o.groups ?? 1, dilation, padding, bias: o.bias ?? false }),
    );
    if (o.normalization !== false) {
      // PyTorch's momentum 0.997 (HF's value, a TF decay carried over as is).
      this.normalization = this.child('normalization', new BatchNorm2d(outChannels, o.eps ?? cfg.layer_norm_eps, 0.997));
    }
    this.activation = o.activation === undefined ? cfg.hidden_act : o.activation;
  }

  /** [x padded where TF padding is asymmetric, the conv's own symmetric padding (h, w)]. */
  private pad(x: Tensor): [Tensor, [number, number]] {
    const c = this.convolution;
    if (!this.tfPadding) return [x, [c.padding, c.padding]];
    const [, , h, w] = x.shape as [number, number, number, number];
    const [top, bottom] = samePadding(h, c.kernelSize, c.stride, c.dilation);
    const [left, right] = samePadding(w, c.kernelSize, c.stride, c.dilation);
    if (top === bottom && left === right) return [x, [top, left]];
    return [F.pad(x, [left, right, top, bottom]), [0, 0]];
  }

  /**
   * The layer up to (not including) the activation. `weight` replaces the conv's weight (the head passes
   * a column block of its own); `extraBias` (N, C, 1, 1) is added to the conv output before batch norm.
   * In eval mode the batch norm (running statistics) is folded into weight and biases: one pass fewer.
   */
  preActivation(x: Tensor, weight: Tensor = this.convolution.weight, extraBias?: Tensor): Tensor {
    const c = this.convolution;
    const bn = this.normalization;
    const [xp, padding] = this.pad(x);
    const conv = { stride: c.stride, padding, dilation: c.dilation, groups: c.groups };
    if (bn && !this.training) {
      const scale = bn.weight.mul(bn.runningVar.add(float(bn.eps)).rsqrt());
      const shift = c.bias ? c.bias.sub(bn.runningMean) : bn.runningMean.neg();
      const y = F.conv2d(xp, weight.mul(scale.view([-1, 1, 1, 1])), shift.mul(scale).add(bn.bias), conv);
      return extraBias ? y.add_(extraBias.mul(scale.view([1, -1, 1, 1]))) : y;
    }
    let y = F.conv2d(xp, weight, c.bias, conv);
    if (extraBias) y = y.add_(extraBias);
    return bn ? bn.forward(y) : y;
  }

  forward(x: Tensor): Tensor {
    return activate(this.preActivation(x), this.activation);
  }
}

/** ReLU6 / ReLU in place (the input is a fresh conv or batch-norm output nobody saved for backward). */
function activate(y: Tensor, act: 'relu6' | 'relu' | null): Tensor {
  if (act === 'relu6') return F.relu6(y, true);
  if (act === 'relu') return y.relu_();
  return y;
}

export class MobileNetV2InvertedResidual extends Module {
  readonly expand_1x1: MobileNetV2ConvLayer;
  readonly conv_3x3: MobileNetV2ConvLayer;
  readonly reduce_1x1: MobileNetV2ConvLayer;
  readonly useResidual: boolean;
  constructor(cfg: MobileNetV2Config, inChannels: number, outChannels: number, readonly stride: number, readonly dilation: number) {
    super();
    const expanded = makeDivisible(pyRound(inChannels * cfg.expand_ratio), cfg.depth_divisible_by, cfg.min_depth);
    this.useResidual = stride === 1 && inChannels === outChannels;
    this.expand_1x1 = this.child('expand_1x1', new MobileNetV2ConvLayer(cfg, inChannels, expanded, 1));
    this.conv_3x3 = this.child('conv_3x3', new MobileNetV2ConvLayer(cfg, expanded, expanded, 3, { stride, groups: expanded, dilation }));
    this.reduce_1x1 = this.child('reduce_1x1', new MobileNetV2ConvLayer(cfg, expanded, outChannels, 1, { activation: null }));
  }
  forward(x: Tensor): Tensor {
    const y = this.reduce_1x1.forward(this.conv_3x3.forward(this.expand_1x1.forward(x)));
    return this.useResidual ? y.add_(x) : y;
  }
}

export class MobileNetV2Stem extends Module {
  readonly first_conv: MobileNetV2ConvLayer;
  readonly expand_1x1: MobileNetV2ConvLayer | null = null;
  readonly conv_3x3: MobileNetV2ConvLayer;
  readonly reduce_1x1: MobileNetV2ConvLayer;
  constructor(cfg: MobileNetV2Config, inChannels: number, expanded: number, outChannels: number) {
    super();
    this.first_conv = this.child('first_conv', new MobileNetV2ConvLayer(cfg, inChannels, expanded, 3, { stride: 2 }));
    // The first conv doubles as the first block's expansion unless the config says otherwise.
    if (!cfg.first_layer_is_expansion) this.expand_1x1 = this.child('expand_1x1', new MobileNetV2ConvLayer(cfg, expanded, expanded, 1));
    this.conv_3x3 = this.child('conv_3x3', new MobileNetV2ConvLayer(cfg, expanded, expanded, 3, { groups: expanded }));
    this.reduce_1x1 = this.child('reduce_1x1', new MobileNetV2ConvLayer(cfg, expanded, outChannels, 1, { activation: null }));
  }
  forward(x: Tensor): Tensor {
    let y = this.first_conv.forward(x);
    if (this.expand_1x1) y = this.expand_1x1.forward(y);
    return this.reduce_1x1.forward(this.conv_3x3.forward(y));
  }
}

// Projection widths of the stem and the 16 blocks, and the blocks' depthwise strides (width 1.0).
const CHANNELS = [16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320];
const STRIDES = [2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1];

export class MobileNetV2Model extends Module {
  readonly conv_stem: MobileNetV2Stem;
  readonly layer: ModuleList<MobileNetV2InvertedResidual>;
  readonly conv_1x1: MobileNetV2ConvLayer;
  /** Input size / feature size of layer.15's output. */
  readonly outputStride: number;
  constructor(cfg: MobileNetV2Config) {
    super();
    const ch = CHANNELS.map((c) => applyDepthMultiplier(cfg, c));
    this.conv_stem = this.child('conv_stem', new MobileNetV2Stem(cfg, cfg.num_channels, applyDepthMultiplier(cfg, 32), ch[0]!));
    this.layer = this.child('layer', new ModuleList<MobileNetV2InvertedResidual>());
    // Stride until output_stride is reached, then dilate instead; the larger dilation starts one block
    // after the stride-2 block it replaces (HF's order).
    let current = 2;
    let dilation = 1;
    for (let i = 0; i < STRIDES.length; i++) {
      let stride: number;
      let blockDilation = 1;
      if (current === cfg.output_stride) {
        stride = 1;
        blockDilation = dilation;
        dilation *= STRIDES[i]!;
      } else {
        stride = STRIDES[i]!;
        current *= stride;
      }
      this.layer.push(new MobileNetV2InvertedResidual(cfg, ch[i]!, ch[i + 1]!, stride, blockDilation));
    }
    this.outputStride = current;
    const outChannels = cfg.finegrained_output && cfg.depth_multiplier < 1 ? 1280 : applyDepthMultiplier(cfg, 1280);
    this.conv_1x1 = this.child('conv_1x1', new MobileNetV2ConvLayer(cfg, ch[ch.length - 1]!, outChannels, 1));
  }
  /** Pixel values → the last block's features (what the segmentation head reads). */
  forward(pixelValues: Tensor): Tensor {
    let x = this.conv_stem.forward(pixelValues);
    // One scope per block: what autograd did not save is freed when the block ends (see segformer/model.ts).
    for (const block of this.layer) x = tidy(() => block.forward(x));
    return x;
  }
}

/** HF's MobileNetV2DeepLabV3Plus: image pooling + 1×1 branch, projection, classifier (no atrous branches). */
export class MobileNetV2DeepLabV3Plus extends Module {
  readonly conv_pool: MobileNetV2ConvLayer;
  readonly conv_aspp: MobileNetV2ConvLayer;
  readonly conv_projection: MobileNetV2ConvLayer;
  readonly classifier: MobileNetV2ConvLayer;
  constructor(readonly cfg: MobileNetV2Config) {
    super();
    const inChannels = applyDepthMultiplier(cfg, 320);
    // The head's batch norms use PyTorch's eps, not the backbone's layer_norm_eps.
    const head = { activation: 'relu' as const, eps: 1e-5 };
    this.conv_pool = this.child('conv_pool', new MobileNetV2ConvLayer(cfg, inChannels, 256, 1, head));
    this.conv_aspp = this.child('conv_aspp', new MobileNetV2ConvLayer(cfg, inChannels, 256, 1, head));
    this.conv_projection = this.child('conv_projection', new MobileNetV2ConvLayer(cfg, 512, 256, 1, head));
    this.classifier = this.child(
      'classifier',
      new MobileNetV2ConvLayer(cfg, 256, Object.keys(cfg.id2label).length, 1, { normalization: false, activation: null, bias: true }),
    );
  }
  forward(features: Tensor): Tensor {
    const [b] = features.shape as [number];
    const pooled = this.conv_pool.forward(F.adaptiveAvgPool2d(features, [1, 1])); // (B, 256, 1, 1)
    const aspp = this.conv_aspp.forward(features);
    // HF concatenates [pooled broadcast, aspp] (pooled first) and applies conv_projection. Column block 0
    // of its weight meets a constant map, so it becomes a per-image bias: W₀·pooled.
    const w = this.conv_projection.convolution.weight; // (256, 512, 1, 1)
    const wPool = w.narrow(1, 0, 256).reshape([256, 256]);
    const wAspp = w.narrow(1, 256, 256).contiguous();
    const poolBias = F.matmul(pooled.view([b, 256]), wPool.transpose(0, 1)).view([b, 256, 1, 1]);
    const proj = activate(this.conv_projection.preActivation(aspp, wAspp, poolBias), 'relu');
    return this.classifier.forward(F.dropout2d(proj, this.cfg.classifier_dropout_prob, this.training));
  }
}

export class MobileNetV2ForSemanticSegmentation extends SegmentationModel<MobileNetV2Config> {
  readonly mobilenet_v2: MobileNetV2Model;
  readonly segmentation_head: MobileNetV2DeepLabV3Plus;
  readonly checkpointPrefix = 'mobilenet_v2';
  readonly headPrefix = 'segmentation_head';
  readonly classifierPrefix = 'segmentation_head.classifier';
  constructor(readonly config: MobileNetV2Config, opts: { init?: boolean } = {}) {
    super();
    this.mobilenet_v2 = this.child('mobilenet_v2', new MobileNetV2Model(config));
    this.segmentation_head = this.child('segmentation_head', new MobileNetV2DeepLabV3Plus(config));
    if (opts.init !== false) this.initWeights();
  }
  // Looked up rather than imported: the family object (./index.ts) imports this class.
  get family(): ModelFamily<MobileNetV2Config> {
    return getFamily('mobilenet_v2');
  }
  get outputStride(): number {
    return this.mobilenet_v2.outputStride;
  }
  protected logits(pixelValues: Tensor): Tensor {
    return this.segmentation_head.forward(this.mobilenet_v2.forward(pixelValues));
  }
}
