// MobileViT's transformer (HF names): pre-norm layers of multi-head self-attention and a SiLU MLP over
// the unfolded patch sequences. Query/key/value run as one GEMM with the attention scale folded into
// the query weights.
import { DenseDropout, F, LayerNorm, Linear, Module, ModuleList, float, tidy, type Tensor } from '../../torch/index.js';
import { activate } from './conv-blocks.js';
import type { MobileViTConfig } from './config.js';

export class MobileViTSelfAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly headDim: number;
  constructor(hidden: number, readonly heads: number, qkvBias: boolean, readonly attnDropout: number) {
    super();
    this.headDim = hidden / heads;
    this.query = this.child('query', new Linear(hidden, hidden, { bias: qkvBias }));
    this.key = this.child('key', new Linear(hidden, hidden, { bias: qkvBias }));
    this.value = this.child('value', new Linear(hidden, hidden, { bias: qkvBias }));
  }
  /** (S, N, C) sequences → (S, N, C). */
  forward(x: Tensor): Tensor {
    const [s, n, c] = x.shape as [number, number, number];
    const nh = this.heads;
    // 1/√d is folded into the query projection (a C×C matrix), sparing a pass over the N×N scores.
    const scale = float(1 / Math.sqrt(this.headDim));
    const w = F.cat([this.query.weight.mul(scale), this.key.weight, this.value.weight], 0);
    const b = this.query.bias ? F.cat([this.query.bias.mul(scale), this.key.bias!, this.value.bias!], 0) : null;
    // (S, N, 3C) → (3, S, heads, N, hd)
    const qkv = F.linear(x, w, b).view([s, n, 3, nh, this.headDim]).permute([2, 0, 3, 1, 4]);
    const probs = F.dropout(F.softmax(F.matmul(qkv.select(0, 0), qkv.select(0, 1).transpose(-1, -2)), -1), this.attnDropout, this.training);
    return F.matmul(probs, qkv.select(0, 2)).transpose(1, 2).reshape([s, n, c]);
  }
}

/** HF's `…SelfOutput`: dense, then dropout. */
export class MobileViTSelfOutput extends DenseDropout {}

export class MobileViTAttention extends Module {
  readonly attention: MobileViTSelfAttention;
  readonly output: MobileViTSelfOutput;
  constructor(cfg: MobileViTConfig, hidden: number) {
    super();
    this.attention = this.child('attention', new MobileViTSelfAttention(hidden, cfg.num_attention_heads, cfg.qkv_bias, cfg.attention_probs_dropout_prob));
    this.output = this.child('output', new MobileViTSelfOutput(hidden, cfg.hidden_dropout_prob));
  }
  forward(x: Tensor): Tensor {
    return this.output.forward(this.attention.forward(x));
  }
}

export class MobileViTIntermediate extends Module {
  readonly dense: Linear;
  constructor(hidden: number, intermediate: number) {
    super();
    this.dense = this.child('dense', new Linear(hidden, intermediate));
  }
  forward(x: Tensor): Tensor {
    return activate(this.dense.forward(x), 'silu');
  }
}

export class MobileViTOutput extends Module {
  readonly dense: Linear;
  constructor(hidden: number, intermediate: number, readonly p: number) {
    super();
    this.dense = this.child('dense', new Linear(intermediate, hidden));
  }
  forward(x: Tensor, residual: Tensor): Tensor {
    return F.dropout(this.dense.forward(x), this.p, this.training).add(residual);
  }
}

/** Pre-norm transformer layer: x + attn(LN(x)), then x + W₂ SiLU(W₁ LN(x)). */
export class MobileViTTransformerLayer extends Module {
  readonly attention: MobileViTAttention;
  readonly intermediate: MobileViTIntermediate;
  readonly output: MobileViTOutput;
  readonly layernorm_before: LayerNorm;
  readonly layernorm_after: LayerNorm;
  constructor(cfg: MobileViTConfig, hidden: number, intermediate: number) {
    super();
    this.attention = this.child('attention', new MobileViTAttention(cfg, hidden));
    this.intermediate = this.child('intermediate', new MobileViTIntermediate(hidden, intermediate));
    this.output = this.child('output', new MobileViTOutput(hidden, intermediate, cfg.hidden_dropout_prob));
    this.layernorm_before = this.child('layernorm_before', new LayerNorm(hidden, cfg.layer_norm_eps));
    this.layernorm_after = this.child('layernorm_after', new LayerNorm(hidden, cfg.layer_norm_eps));
  }
  forward(x: Tensor): Tensor {
    const h = this.attention.forward(this.layernorm_before.forward(x)).add(x);
    return this.output.forward(this.intermediate.forward(this.layernorm_after.forward(h)), h);
  }
}

export class MobileViTTransformer extends Module {
  readonly layer: ModuleList<MobileViTTransformerLayer>;
  constructor(cfg: MobileViTConfig, hidden: number, stages: number) {
    super();
    const intermediate = Math.trunc(hidden * cfg.mlp_ratio);
    this.layer = this.child('layer', new ModuleList(Array.from({ length: stages }, () => new MobileViTTransformerLayer(cfg, hidden, intermediate))));
  }
  forward(x: Tensor): Tensor {
    // One scope per block: what autograd did not save is freed when the block ends (see segformer/model.ts).
    for (const l of this.layer) x = tidy(() => l.forward(x));
    return x;
  }
}
