// SegFormer (Xie et al. 2021) as HuggingFace's SegformerForSemanticSegmentation: the same module tree
// and parameter names (so HF checkpoints load as they are), the same numbers, and a faster layout:
// - tokens stay (B, N, C) contiguous inside a stage; their NCHW view is channels-last, so the
//   depthwise/sequence-reduction convs and the next patch embedding read them without copies;
// - query/key/value (or key/value after sequence reduction) run as one fused GEMM, with the attention
//   scale folded into the query weights;
// - the decode head applies linear_fuse's per-stage column block to each stage *before* upsampling.
//   Bilinear upsampling is a per-channel linear map with weights summing to 1, so it commutes with
//   channel mixing (biases included): fuse(cat(up(Lᵢ fᵢ))) = Σᵢ up((Wᵢ Lᵢ) fᵢ), which skips the
//   4d→d 1×1 conv at 1/4 resolution (most of B0's FLOPs). `fusedDecoder: false` runs HF's order.
import { BatchNorm2d, Conv2d, DenseDropout, Dropout, F, LayerNorm, Linear, Module, ModuleList, float, tidy, type Tensor } from '../../torch/index.js';
import { SegmentationModel } from '../contract.js';
import { getFamily, type ModelFamily } from '../registry.js';
import type { SegformerConfig } from './config.js';

// Channels-last NCHW view of (B, N, C) tokens, and back. Both are free (no copy) for contiguous tokens.
const tokensToImage = (x: Tensor, b: number, h: number, w: number): Tensor => x.view([b, h, w, x.size(-1)]).permute([0, 3, 1, 2]);
const imageToTokens = (x: Tensor): Tensor => x.permute([0, 2, 3, 1]).flatten(1, 2);

export class SegformerOverlapPatchEmbeddings extends Module {
  readonly proj: Conv2d;
  readonly layer_norm: LayerNorm;
  constructor(patchSize: number, stride: number, inChannels: number, hidden: number) {
    super();
    this.proj = this.child('proj', new Conv2d(inChannels, hidden, patchSize, { stride, padding: Math.floor(patchSize / 2) }));
    this.layer_norm = this.child('layer_norm', new LayerNorm(hidden));
  }
  /** NCHW image → (B, N, C) tokens and the token grid size. */
  forward(x: Tensor): { tokens: Tensor; h: number; w: number } {
    const y = this.proj.forward(x);
    const [, , h, w] = y.shape as [number, number, number, number];
    return { tokens: this.layer_norm.forward(imageToTokens(y).contiguous()), h, w };
  }
}

export class SegformerEfficientSelfAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly sr: Conv2d | null = null;
  readonly layer_norm: LayerNorm | null = null;
  readonly headDim: number;
  constructor(readonly hidden: number, readonly heads: number, readonly srRatio: number, readonly attnDropout: number) {
    super();
    this.headDim = hidden / heads;
    this.query = this.child('query', new Linear(hidden, hidden));
    this.key = this.child('key', new Linear(hidden, hidden));
    this.value = this.child('value', new Linear(hidden, hidden));
    if (srRatio > 1) {
      this.sr = this.child('sr', new Conv2d(hidden, hidden, srRatio, { stride: srRatio }));
      this.layer_norm = this.child('layer_norm', new LayerNorm(hidden));
    }
  }
  forward(x: Tensor, h: number, w: number): Tensor {
    const [b, n, c] = x.shape as [number, number, number];
    const nh = this.heads;
    const hd = this.headDim;
    let q: Tensor, k: Tensor, v: Tensor;
    const split = (t: Tensor, parts: number, len: number) => t.view([b, len, parts, nh, hd]).permute([2, 0, 3, 1, 4]);
    // 1/√d is folded into the query projection (weights are tiny), sparing a pass over the scores.
    const scale = float(1 / Math.sqrt(hd));
    if (this.sr && this.layer_norm) {
      q = F.linear(x, this.query.weight.mul(scale), this.query.bias!.mul(scale)).view([b, n, nh, hd]).transpose(1, 2);
      const r = this.layer_norm.forward(imageToTokens(this.sr.forward(tokensToImage(x, b, h, w))).contiguous());
      const kvW = F.cat([this.key.weight, this.value.weight], 0);
      const kvB = F.cat([this.key.bias!, this.value.bias!], 0);
      const kv = split(F.linear(r, kvW, kvB), 2, r.size(1));
      k = kv.select(0, 0);
      v = kv.select(0, 1);
    } else {
      const qkvW = F.cat([this.query.weight.mul(scale), this.key.weight, this.value.weight], 0);
      const qkvB = F.cat([this.query.bias!.mul(scale), this.key.bias!, this.value.bias!], 0);
      const qkv = split(F.linear(x, qkvW, qkvB), 3, n);
      q = qkv.select(0, 0);
      k = qkv.select(0, 1);
      v = qkv.select(0, 2);
    }
    const scores = F.matmul(q, k.transpose(-1, -2));
    const probs = F.dropout(F.softmax(scores, -1), this.attnDropout, this.training);
    // (B, heads, N, hd) → (B, N, C)
    return F.matmul(probs, v).transpose(1, 2).reshape([b, n, c]);
  }
}

/** HF's `…SelfOutput`: dense, then dropout. */
export class SegformerSelfOutput extends DenseDropout {}

export class SegformerAttention extends Module {
  readonly self: SegformerEfficientSelfAttention;
  readonly output: SegformerSelfOutput;
  constructor(hidden: number, heads: number, srRatio: number, cfg: SegformerConfig) {
    super();
    this.self = this.child('self', new SegformerEfficientSelfAttention(hidden, heads, srRatio, cfg.attention_probs_dropout_prob));
    this.output = this.child('output', new SegformerSelfOutput(hidden, cfg.hidden_dropout_prob));
  }
  forward(x: Tensor, h: number, w: number): Tensor {
    return this.output.forward(this.self.forward(x, h, w));
  }
}

export class SegformerDWConv extends Module {
  readonly dwconv: Conv2d;
  constructor(dim: number) {
    super();
    this.dwconv = this.child('dwconv', new Conv2d(dim, dim, 3, { padding: 1, groups: dim }));
  }
  forward(x: Tensor, h: number, w: number): Tensor {
    const y = this.dwconv.forward(tokensToImage(x, x.size(0), h, w));
    return imageToTokens(y);
  }
}

export class SegformerMixFFN extends Module {
  readonly dense1: Linear;
  readonly dwconv: SegformerDWConv;
  readonly dense2: Linear;
  constructor(inF: number, hiddenF: number, readonly p: number) {
    super();
    this.dense1 = this.child('dense1', new Linear(inF, hiddenF));
    this.dwconv = this.child('dwconv', new SegformerDWConv(hiddenF));
    this.dense2 = this.child('dense2', new Linear(hiddenF, inF));
  }
  forward(x: Tensor, h: number, w: number): Tensor {
    const y = F.dropout(F.gelu(this.dwconv.forward(this.dense1.forward(x), h, w)), this.p, this.training);
    return F.dropout(this.dense2.forward(y), this.p, this.training);
  }
}

export class SegformerLayer extends Module {
  readonly layer_norm_1: LayerNorm;
  readonly attention: SegformerAttention;
  readonly layer_norm_2: LayerNorm;
  readonly mlp: SegformerMixFFN;
  constructor(hidden: number, heads: number, readonly dropPath: number, srRatio: number, mlpRatio: number, cfg: SegformerConfig) {
    super();
    this.layer_norm_1 = this.child('layer_norm_1', new LayerNorm(hidden));
    this.attention = this.child('attention', new SegformerAttention(hidden, heads, srRatio, cfg));
    this.layer_norm_2 = this.child('layer_norm_2', new LayerNorm(hidden));
    this.mlp = this.child('mlp', new SegformerMixFFN(hidden, Math.trunc(hidden * mlpRatio), cfg.hidden_dropout_prob));
  }
  forward(x: Tensor, h: number, w: number): Tensor {
    const a = F.dropPath(this.attention.forward(this.layer_norm_1.forward(x), h, w), this.dropPath, this.training);
    const x1 = a.add(x);
    const m = F.dropPath(this.mlp.forward(this.layer_norm_2.forward(x1), h, w), this.dropPath, this.training);
    return m.add(x1);
  }
}

/** One encoder stage's output: tokens (B, N, C) and their grid; `image()` is the free NCHW view. */
export interface StageOutput {
  tokens: Tensor;
  h: number;
  w: number;
}

export class SegformerEncoder extends Module {
  readonly patch_embeddings: ModuleList<SegformerOverlapPatchEmbeddings>;
  readonly block: ModuleList<ModuleList<SegformerLayer>>;
  readonly layer_norm: ModuleList<LayerNorm>;
  constructor(cfg: SegformerConfig) {
    super();
    const total = cfg.depths.reduce((a, b) => a + b, 0);
    // torch.linspace(0, rate, total) in float32, as HF computes the stochastic-depth schedule
    const dpr = Array.from({ length: total }, (_, i) => Math.fround(total > 1 ? (cfg.drop_path_rate * i) / (total - 1) : 0));
    this.patch_embeddings = this.child('patch_embeddings', new ModuleList<SegformerOverlapPatchEmbeddings>());
    this.block = this.child('block', new ModuleList<ModuleList<SegformerLayer>>());
    this.layer_norm = this.child('layer_norm', new ModuleList<LayerNorm>());
    let cur = 0;
    for (let i = 0; i < cfg.num_encoder_blocks; i++) {
      const hid = cfg.hidden_sizes[i]!;
      this.patch_embeddings.push(
        new SegformerOverlapPatchEmbeddings(cfg.patch_sizes[i]!, cfg.strides[i]!, i === 0 ? cfg.num_channels : cfg.hidden_sizes[i - 1]!, hid),
      );
      const layers = new ModuleList<SegformerLayer>();
      for (let j = 0; j < cfg.depths[i]!; j++) {
        layers.push(new SegformerLayer(hid, cfg.num_attention_heads[i]!, dpr[cur + j]!, cfg.sr_ratios[i]!, cfg.mlp_ratios[i]!, cfg));
      }
      cur += cfg.depths[i]!;
      this.block.push(layers);
      this.layer_norm.push(new LayerNorm(hid));
    }
  }
  forward(pixelValues: Tensor): StageOutput[] {
    const b = pixelValues.size(0);
    const outs: StageOutput[] = [];
    let x = pixelValues;
    for (let i = 0; i < this.patch_embeddings.length; i++) {
      // Each block in its own scope: intermediates that autograd did not save (pre-softmax scores,
      // pre-GELU activations' copies, …) are freed as soon as the block is done, as Python's refcounting
      // would, instead of living until the step's scope ends (about a fifth of B0's training peak).
      const e = tidy(() => this.patch_embeddings.at(i).forward(x));
      let t = e.tokens;
      for (const layer of this.block.at(i)) t = tidy(() => layer.forward(t, e.h, e.w));
      t = tidy(() => this.layer_norm.at(i).forward(t));
      outs.push({ tokens: t, h: e.h, w: e.w });
      x = tokensToImage(t, b, e.h, e.w); // channels-last NCHW, no copy
    }
    return outs;
  }
}

export class SegformerModel extends Module {
  readonly encoder: SegformerEncoder;
  constructor(cfg: SegformerConfig) {
    super();
    this.encoder = this.child('encoder', new SegformerEncoder(cfg));
  }
  forward(pixelValues: Tensor): StageOutput[] {
    return this.encoder.forward(pixelValues);
  }
}

export class SegformerMLP extends Module {
  readonly proj: Linear;
  constructor(inDim: number, outDim: number) {
    super();
    this.proj = this.child('proj', new Linear(inDim, outDim));
  }
}

export class SegformerDecodeHead extends Module {
  readonly linear_c: ModuleList<SegformerMLP>;
  readonly linear_fuse: Conv2d;
  readonly batch_norm: BatchNorm2d;
  readonly classifier: Conv2d;
  readonly dropout: Dropout;
  fusedDecoder = true;
  constructor(readonly cfg: SegformerConfig) {
    super();
    const d = cfg.decoder_hidden_size;
    this.linear_c = this.child('linear_c', new ModuleList(cfg.hidden_sizes.map((c) => new SegformerMLP(c, d))));
    this.linear_fuse = this.child('linear_fuse', new Conv2d(d * cfg.num_encoder_blocks, d, 1, { bias: false }));
    this.batch_norm = this.child('batch_norm', new BatchNorm2d(d));
    this.dropout = this.child('dropout', new Dropout(cfg.classifier_dropout_prob));
    this.classifier = this.child('classifier', new Conv2d(d, Object.keys(cfg.id2label).length, 1));
  }
  forward(stages: StageOutput[]): Tensor {
    const b = stages[0]!.tokens.size(0);
    const { h: H, w: W } = stages[0]!;
    if (!this.fusedDecoder) {
      // HF's order: per-stage MLP, upsample, concatenate (coarsest first), 1×1 fuse, BN, ReLU.
      const parts = stages.map((s, i) => {
        const mlp = this.linear_c.at(i).proj;
        const img = tokensToImage(F.linear(s.tokens, mlp.weight, mlp.bias), b, s.h, s.w);
        return F.interpolate(img, { size: [H, W], mode: 'bilinear', alignCorners: false });
      });
      const x = this.linear_fuse.forward(F.cat(parts.reverse(), 1));
      return this.classifier.forward(this.dropout.forward(F.relu(this.batch_norm.forward(x))));
    }
    return tidy(() => this.classifier.forward(this.dropout.forward(this.fusedFeatures(stages, b, H, W))));
  }

  /**
   * BN(linear_fuse(cat(up(Lᵢ fᵢ)))) → ReLU, computed as Σᵢ up(Aᵢ fᵢ) with Aᵢ = Wᵢ·Lᵢ. HF concatenates
   * the stages coarsest first, so column block (n-1-i) of linear_fuse belongs to stage i. Every bias is
   * a per-channel constant and upsampling keeps constants, so all of them ride on the coarsest stage.
   * In eval mode the batch norm (running statistics) is folded into the Aᵢ and that bias as well.
   */
  private fusedFeatures(stages: StageOutput[], b: number, H: number, W: number): Tensor {
    const d = this.cfg.decoder_hidden_size;
    const n = stages.length;
    const fuseW = this.linear_fuse.weight.view([d, n * d]);
    let A = stages.map((_, i) => fuseW.narrow(1, (n - 1 - i) * d, d).matmul(this.linear_c.at(i).proj.weight));
    const biases = stages.map((_, i) => this.linear_c.at(i).proj.bias!).reverse();
    let bias = fuseW.matmul(F.cat(biases, 0));
    const foldBn = !this.training;
    if (foldBn) {
      const bn = this.batch_norm;
      const scale = bn.weight.mul(bn.runningVar.add(float(bn.eps)).rsqrt());
      A = A.map((a) => a.mul(scale.unsqueeze(1)));
      bias = bias.sub(bn.runningMean).mul(scale).add(bn.bias);
    }
    // Coarsest stages first: upsample and accumulate in place; the finest stage is added by one GEMM.
    let acc: Tensor | null = null;
    for (let i = n - 1; i >= 1; i--) {
      const s = stages[i]!;
      const y = tokensToImage(F.linear(s.tokens, A[i]!, i === n - 1 ? bias : null), b, s.h, s.w);
      const up = s.h === H && s.w === W ? y.contiguous('channels_last') : F.interpolate(y, { size: [H, W], mode: 'bilinear', alignCorners: false });
      acc = acc ? acc.add_(up) : up;
    }
    const t0 = stages[0]!.tokens;
    let x: Tensor;
    if (acc) {
      // acc is channels-last, so its (B·H·W, d) matrix view is free; one addmm adds f₀ A₀ᵀ. (Out of
      // place: an in-place update of a view would make autograd copy the whole gradient back.)
      const sum = F.addmm(acc.permute([0, 2, 3, 1]).view([b * H * W, d]), t0.reshape([b * H * W, t0.size(2)]), A[0]!.transpose(0, 1));
      x = tokensToImage(sum, b, H, W);
    } else {
      x = tokensToImage(F.linear(t0, A[0]!, bias), b, H, W);
    }
    if (!foldBn) x = this.batch_norm.forward(x);
    return x.relu_();
  }
}

export class SegformerForSemanticSegmentation extends SegmentationModel<SegformerConfig> {
  readonly segformer: SegformerModel;
  readonly decode_head: SegformerDecodeHead;
  readonly checkpointPrefix = 'segformer';
  readonly headPrefix = 'decode_head';
  readonly classifierPrefix = 'decode_head.classifier';
  constructor(readonly config: SegformerConfig, opts: { init?: boolean } = {}) {
    super();
    this.segformer = this.child('segformer', new SegformerModel(config));
    this.decode_head = this.child('decode_head', new SegformerDecodeHead(config));
    if (opts.init !== false) this.initWeights();
  }
  // Looked up rather than imported: the family object (./index.ts) imports this class.
  get family(): ModelFamily<SegformerConfig> {
    return getFamily('segformer');
  }
  /** The logits are at the first stage's resolution (patch embedding stride 4 in every variant). */
  get outputStride(): number {
    return this.config.strides[0]!;
  }
  protected logits(pixelValues: Tensor): Tensor {
    return this.decode_head.forward(this.segformer.forward(pixelValues));
  }
}
