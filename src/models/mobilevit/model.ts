// MobileViT (Mehta & Rastegari 2021) with the DeepLabV3 head, as HuggingFace's
// MobileViTForSemanticSegmentation: the same module tree and parameter names (HF checkpoints load as
// they are) and the same numbers, with a leaner layout:
// - unfolding into 2×2 patches (and folding back) is one permute + copy each way instead of HF's
//   four reshapes/transposes; the sequence order is HF's (sequence = batch·P + position in patch);
// - query/key/value run as one GEMM with the attention scale folded into the query weights
//   (transformer.ts);
// - the ASPP pooling branch broadcasts its 1×1 map instead of upsampling it bilinearly (bilinear
//   interpolation of a single pixel is that pixel, exactly);
// - activations run in place when no gradient is recorded (inference, evaluation; conv-blocks.ts).
import { Dropout, F, LayerNorm, Module, ModuleList, tidy, type Tensor } from '../../torch/index.js';
import { SegmentationModel } from '../contract.js';
import { getFamily, type ModelFamily } from '../registry.js';
import type { MobileViTConfig } from './config.js';
import { MobileViTConvLayer, MobileViTInvertedResidual, MobileViTMobileNetLayer } from './conv-blocks.js';
import { MobileViTTransformer } from './transformer.js';

/** A MobileViT block (encoder.layer.2–4): local convs, global attention over unfolded patches, fusion. */
export class MobileViTLayer extends Module {
  readonly downsampling_layer: MobileViTInvertedResidual | null = null;
  readonly conv_kxk: MobileViTConvLayer;
  readonly conv_1x1: MobileViTConvLayer;
  readonly transformer: MobileViTTransformer;
  readonly layernorm: LayerNorm;
  readonly conv_projection: MobileViTConvLayer;
  readonly fusion: MobileViTConvLayer;
  readonly patch: number;
  constructor(cfg: MobileViTConfig, inC: number, outC: number, stride: number, hidden: number, stages: number, dilation = 1) {
    super();
    this.patch = cfg.patch_size;
    if (stride === 2) {
      // HF: a dilated stage keeps its resolution; its downsampling block dilates by half the stage's rate.
      this.downsampling_layer = this.child(
        'downsampling_layer',
        new MobileViTInvertedResidual(cfg, inC, outC, dilation === 1 ? stride : 1, dilation > 1 ? Math.floor(dilation / 2) : 1),
      );
      inC = outC;
    }
    const k = cfg.conv_kernel_size;
    this.conv_kxk = this.child('conv_kxk', new MobileViTConvLayer(inC, inC, k, 'silu'));
    this.conv_1x1 = this.child('conv_1x1', new MobileViTConvLayer(inC, hidden, 1, null, { norm: false }));
    this.transformer = this.child('transformer', new MobileViTTransformer(cfg, hidden, stages));
    this.layernorm = this.child('layernorm', new LayerNorm(hidden, cfg.layer_norm_eps));
    this.conv_projection = this.child('conv_projection', new MobileViTConvLayer(hidden, inC, 1, 'silu'));
    this.fusion = this.child('fusion', new MobileViTConvLayer(2 * inC, inC, k, 'silu'));
  }

  /**
   * (B, C, H, W) → (B·p², N, C) with N = (H/p)(W/p): sequence b·p² + (i·p + j) holds pixel (i, j) of
   * every patch, in patch raster order, exactly HF's unfolding. A map whose sides are not multiples of
   * p is first resized bilinearly to the next multiples (HF does this rather than padding).
   */
  unfold(x: Tensor): { patches: Tensor; resized: boolean } {
    const p = this.patch;
    const [b, c, h, w] = x.shape as [number, number, number, number];
    const nh = Math.ceil(h / p);
    const nw = Math.ceil(w / p);
    const resized = nh * p !== h || nw * p !== w;
    if (resized) x = F.interpolate(x, { size: [nh * p, nw * p], mode: 'bilinear', alignCorners: false });
    // (B, C, nh, p, nw, p) → (B, p, p, nh, nw, C): one copy.
    const patches = x.reshape([b, c, nh, p, nw, p]).permute([0, 3, 5, 2, 4, 1]).reshape([b * p * p, nh * nw, c]);
    return { patches, resized };
  }

  /** The inverse of unfold, resizing back to h×w when unfold resized. */
  fold(patches: Tensor, b: number, h: number, w: number, resized: boolean): Tensor {
    const p = this.patch;
    const c = patches.size(2);
    const nh = Math.ceil(h / p);
    const nw = Math.ceil(w / p);
    const x = patches.view([b, p, p, nh, nw, c]).permute([0, 5, 3, 1, 4, 2]).reshape([b, c, nh * p, nw * p]);
    return resized ? F.interpolate(x, { size: [h, w], mode: 'bilinear', alignCorners: false }) : x;
  }

  forward(x: Tensor): Tensor {
    if (this.downsampling_layer) x = this.downsampling_layer.forward(x);
    const [b, , h, w] = x.shape as [number, number, number, number];
    const local = this.conv_1x1.forward(this.conv_kxk.forward(x));
    const { patches, resized } = this.unfold(local);
    const global = this.layernorm.forward(this.transformer.forward(patches));
    const y = this.conv_projection.forward(this.fold(global, b, h, w, resized));
    return this.fusion.forward(F.cat([x, y], 1));
  }
}

export class MobileViTEncoder extends Module {
  readonly layer: ModuleList;
  constructor(cfg: MobileViTConfig) {
    super();
    const n = cfg.neck_hidden_sizes;
    const hs = cfg.hidden_sizes;
    // Output stride 16 dilates the last stage instead of striding; 8 the last two.
    const dilate4 = cfg.output_stride === 8;
    const dilate5 = cfg.output_stride === 8 || cfg.output_stride === 16;
    let dilation = 1;
    this.layer = this.child('layer', new ModuleList());
    this.layer.push(new MobileViTMobileNetLayer(cfg, n[0]!, n[1]!, 1, 1));
    this.layer.push(new MobileViTMobileNetLayer(cfg, n[1]!, n[2]!, 2, 3));
    this.layer.push(new MobileViTLayer(cfg, n[2]!, n[3]!, 2, hs[0]!, 2));
    if (dilate4) dilation *= 2;
    this.layer.push(new MobileViTLayer(cfg, n[3]!, n[4]!, 2, hs[1]!, 4, dilation));
    if (dilate5) dilation *= 2;
    this.layer.push(new MobileViTLayer(cfg, n[4]!, n[5]!, 2, hs[2]!, 3, dilation));
  }
  /** The last stage's features (the only ones the DeepLabV3 head reads). */
  forward(x: Tensor): Tensor {
    for (const l of this.layer) x = tidy(() => (l as MobileViTMobileNetLayer | MobileViTLayer).forward(x));
    return x;
  }
}

/** HF MobileViTModel without conv_1x1_exp (the segmentation model builds it with expand_output=False). */
export class MobileViTModel extends Module {
  readonly conv_stem: MobileViTConvLayer;
  readonly encoder: MobileViTEncoder;
  constructor(cfg: MobileViTConfig) {
    super();
    this.conv_stem = this.child('conv_stem', new MobileViTConvLayer(cfg.num_channels, cfg.neck_hidden_sizes[0]!, 3, 'silu', { stride: 2 }));
    this.encoder = this.child('encoder', new MobileViTEncoder(cfg));
  }
  forward(pixelValues: Tensor): Tensor {
    return this.encoder.forward(this.conv_stem.forward(pixelValues));
  }
}

/** ASPP's image-level branch: global average → 1×1 conv (BN, ReLU) → back to the map's size. */
export class MobileViTASPPPooling extends Module {
  readonly conv_1x1: MobileViTConvLayer;
  constructor(inC: number, outC: number) {
    super();
    this.conv_1x1 = this.child('conv_1x1', new MobileViTConvLayer(inC, outC, 1, 'relu'));
  }
  forward(x: Tensor): Tensor {
    const [b, , h, w] = x.shape as [number, number, number, number];
    // Batch statistics of one value per channel are degenerate (libtorch would write an infinite
    // running variance); PyTorch refuses this case, and so does HF's model.
    if (this.conv_1x1.normalization?.training && b < 2) {
      throw new RangeError('MobileViT ASPP pooling: batch norm in training mode needs more than 1 value per channel, i.e. a batch of at least 2 images, got 1');
    }
    const y = this.conv_1x1.forward(F.adaptiveAvgPool2d(x, [1, 1]));
    // HF upsamples the 1×1 map bilinearly, which reproduces its value everywhere: a broadcast is exact.
    return y.expand([b, y.size(1), h, w]);
  }
}

export class MobileViTASPP extends Module {
  readonly convs: ModuleList;
  readonly project: MobileViTConvLayer;
  readonly dropout: Dropout;
  constructor(cfg: MobileViTConfig) {
    super();
    const inC = cfg.neck_hidden_sizes[5]!;
    const outC = cfg.aspp_out_channels;
    this.convs = this.child('convs', new ModuleList());
    this.convs.push(new MobileViTConvLayer(inC, outC, 1, 'relu'));
    for (const rate of cfg.atrous_rates) this.convs.push(new MobileViTConvLayer(inC, outC, 3, 'relu', { dilation: rate }));
    this.convs.push(new MobileViTASPPPooling(inC, outC));
    this.project = this.child('project', new MobileViTConvLayer(5 * outC, outC, 1, 'relu'));
    this.dropout = this.child('dropout', new Dropout(cfg.aspp_dropout_prob));
  }
  forward(x: Tensor): Tensor {
    const pyramid = this.convs.items.map((m) => (m as MobileViTConvLayer | MobileViTASPPPooling).forward(x));
    return this.dropout.forward(this.project.forward(F.cat(pyramid, 1)));
  }
}

export class MobileViTDeepLabV3 extends Module {
  readonly aspp: MobileViTASPP;
  readonly classifier: MobileViTConvLayer;
  readonly dropoutP: number;
  constructor(cfg: MobileViTConfig) {
    super();
    this.aspp = this.child('aspp', new MobileViTASPP(cfg));
    this.dropoutP = cfg.classifier_dropout_prob;
    this.classifier = this.child('classifier', new MobileViTConvLayer(cfg.aspp_out_channels, Object.keys(cfg.id2label).length, 1, null, { norm: false, bias: true }));
  }
  forward(features: Tensor): Tensor {
    return tidy(() => this.classifier.forward(F.dropout2d(this.aspp.forward(features), this.dropoutP, this.training)));
  }
}

export class MobileViTForSemanticSegmentation extends SegmentationModel<MobileViTConfig> {
  readonly mobilevit: MobileViTModel;
  readonly segmentation_head: MobileViTDeepLabV3;
  readonly checkpointPrefix = 'mobilevit';
  readonly headPrefix = 'segmentation_head';
  readonly classifierPrefix = 'segmentation_head.classifier.convolution';
  constructor(readonly config: MobileViTConfig, opts: { init?: boolean } = {}) {
    super();
    this.mobilevit = this.child('mobilevit', new MobileViTModel(config));
    this.segmentation_head = this.child('segmentation_head', new MobileViTDeepLabV3(config));
    if (opts.init !== false) this.initWeights();
  }
  // Looked up rather than imported: the family object (./index.ts) imports this class.
  get family(): ModelFamily<MobileViTConfig> {
    return getFamily('mobilevit');
  }
  get outputStride(): number {
    return this.config.output_stride;
  }
  protected logits(pixelValues: Tensor): Tensor {
    return this.segmentation_head.forward(this.mobilevit.forward(pixelValues));
  }
}
