// SegFormer → ONNX, module by module as src/models/segformer/model.ts runs in eval mode.
// Layout: a stage's tokens are one [B·h·w, C] matrix (row = pixel, NHWC order), so every Linear is a
// single Gemm with its bias (and LayerNorm works on the last axis); the stage's NHWC shape, taken once
// from the live tensor with Shape, turns them into images for the convs and into (B, heads, n, hd)
// for attention. q/k/v (or k/v) are one Gemm with 1/√d folded into the query weights; the decode head
// is our model's rewrite Σᵢ up(Aᵢ fᵢ), Aᵢ = BN∘(linear_fuse block i)·linear_cᵢ, with the finest
// stage's term added by Gemm's C input (addmm). No export-time H or W is baked in.
import type { GraphBuilder } from '../../export/graph.js';
import { dynamicQkv, conv2d, gelu, gemm, layerNorm, linear, multiHeadAttention, scaledQkv, toNCHW, toNHWC, type EmitOptions } from '../../export/layers.js';
import { batchNormAffine } from '../../export/qconv.js';
import type { Tensor } from '../../torch/index.js';
import type { SegformerForSemanticSegmentation, SegformerEfficientSelfAttention, SegformerLayer } from './model.js';

/** A stage's token matrix [B·h·w, C] with its NHWC shape value [B, h, w, C]. */
interface Tokens {
  t: string;
  shape: string;
}

/** The shape [B, h, w, c] of the stage with c channels. */
const withChannels = (g: GraphBuilder, shape: string, c: number) => g.node('Concat', [g.node('Slice', [shape, g.ints([0]), g.ints([3])]), g.ints([c])], { axis: 0 });
/** NCHW image → tokens (+ its NHWC shape). */
function tokensOf(g: GraphBuilder, img: string, c: number): Tokens {
  const nhwc = toNHWC(g, img);
  return { t: g.node('Reshape', [nhwc, g.ints([-1, c])]), shape: g.node('Shape', [nhwc]) };
}
/** Tokens [B·h·w, c] → NCHW image. */
const imageOf = (g: GraphBuilder, t: string, shape: string) => toNCHW(g, g.node('Reshape', [t, shape]));

function attention(g: GraphBuilder, x: Tokens, p: string, a: SegformerEfficientSelfAttention): string {
  const { hidden: c, heads: nh, headDim: hd } = a;
  // The fp32 (or QDQ) weights only where no projection is a DynamicQuantizeMatMul (int8 dynamicLinear).
  let fp32: ReturnType<typeof scaledQkv> | undefined;
  const w = () => (fp32 ??= scaledQkv(g, p, a, hd));
  // [B·n, C] → (B, n, heads, hd); B from the stage shape, n left to -1.
  const headShape = g.node('Concat', [g.node('Slice', [x.shape, g.ints([0]), g.ints([1])]), g.ints([-1, nh, hd])], { axis: 0 });
  let q: string, k: string, v: string;
  if (a.sr && a.layer_norm) {
    q = dynamicQkv(g, x.t, p, a, ['query'], hd) ?? gemm(g, x.t, w().wq, w().bq!);
    const r = tokensOf(g, conv2d(g, imageOf(g, x.t, x.shape), `${p}.sr`, a.sr), c);
    const rn = layerNorm(g, r.t, `${p}.layer_norm`, a.layer_norm);
    const kv = dynamicQkv(g, rn, p, a, ['key', 'value'], hd) ?? gemm(g, rn, g.node('Concat', [w().wk, w().wv], { axis: 0 }), g.node('Concat', [w().bk!, w().bv!], { axis: 0 }));
    [k, v] = g.nodeN('Split', [kv, g.ints([c, c])], 2, { axis: -1 }) as [string, string];
  } else {
    const qkv = dynamicQkv(g, x.t, p, a, ['query', 'key', 'value'], hd) ?? gemm(g, x.t, g.node('Concat', [w().wq, w().wk, w().wv], { axis: 0 }), g.node('Concat', [w().bq!, w().bk!, w().bv!], { axis: 0 }));
    [q, k, v] = g.nodeN('Split', [qkv, g.ints([c, c, c])], 3, { axis: -1 }) as [string, string, string];
  }
  return multiHeadAttention(g, q, k, v, headShape, c, nh);
}

function layer(g: GraphBuilder, x: Tokens, p: string, l: SegformerLayer, o: EmitOptions, hiddenShape: string): string {
  const at = l.attention;
  const a = linear(g, attention(g, { t: layerNorm(g, x.t, `${p}.layer_norm_1`, l.layer_norm_1), shape: x.shape }, `${p}.attention.self`, at.self), `${p}.attention.output.dense`, at.output.dense);
  const x1 = g.node('Add', [a, x.t]);
  const m = l.mlp;
  const h = linear(g, layerNorm(g, x1, `${p}.layer_norm_2`, l.layer_norm_2), `${p}.mlp.dense1`, m.dense1);
  const dw = tokensOf(g, conv2d(g, imageOf(g, h, hiddenShape), `${p}.mlp.dwconv.dwconv`, m.dwconv.dwconv), m.dense1.outFeatures).t;
  return g.node('Add', [linear(g, gelu(g, dw, o), `${p}.mlp.dense2`, m.dense2), x1]);
}

/** Emits the eval forward of `model` from `x` (NCHW pixel values); returns the NCHW logits value. */
export function emitSegformer(model: SegformerForSemanticSegmentation, g: GraphBuilder, x: string, o: EmitOptions = {}): string {
  const enc = model.segformer.encoder;
  const stages: Tokens[] = [];
  let img = x;
  for (let i = 0; i < enc.patch_embeddings.length; i++) {
    const pe = enc.patch_embeddings.at(i);
    const pp = `segformer.encoder.patch_embeddings.${i}`;
    const c = pe.proj.outChannels;
    const e = tokensOf(g, conv2d(g, img, `${pp}.proj`, pe.proj), c);
    let t = layerNorm(g, e.t, `${pp}.layer_norm`, pe.layer_norm);
    const layers = [...enc.block.at(i)];
    const hiddenShape = layers.length ? withChannels(g, e.shape, layers[0]!.mlp.dense1.outFeatures) : '';
    layers.forEach((l, j) => (t = layer(g, { t, shape: e.shape }, `segformer.encoder.block.${i}.${j}`, l, o, hiddenShape)));
    t = layerNorm(g, t, `segformer.encoder.layer_norm.${i}`, enc.layer_norm.at(i));
    stages.push({ t, shape: e.shape });
    img = imageOf(g, t, e.shape);
  }
  return decodeHead(g, model, stages);
}

/**
 * The decode head's Aᵢ (batch norm folded) and bias as arrays, for the int8 graph: each Aᵢ [d, cᵢ] becomes
 * one DynamicQuantizeMatMul (it is a product of two checkpoint weights, so it has no checkpoint key of its own).
 */
function foldedHeadArrays(model: SegformerForSemanticSegmentation, n: number): { A: Float32Array[]; bias: Float32Array } {
  const head = model.decode_head;
  const d = head.cfg.decoder_hidden_size;
  const arr = (t: Tensor) => t.contiguous().toArray() as Float32Array;
  const fuse = arr(head.linear_fuse.weight); // [d, n·d]
  const { scale: s, shift } = batchNormAffine(head.batch_norm);
  const bias = new Float32Array(d);
  const A = Array.from({ length: n }, (_, i) => {
    const proj = head.linear_c.at(i).proj;
    const [w, pb] = [arr(proj.weight), arr(proj.bias!)]; // [d, cᵢ], [d]
    const ci = proj.inFeatures;
    const col = (n - 1 - i) * d;
    const a = new Float32Array(d * ci);
    for (let o = 0; o < d; o++) {
      let bo = 0;
      for (let t = 0; t < d; t++) {
        const f = fuse[o * n * d + col + t]!;
        bo += f * pb[t]!;
        for (let j = 0; j < ci; j++) a[o * ci + j]! += f * w[t * ci + j]!;
      }
      for (let j = 0; j < ci; j++) a[o * ci + j] = a[o * ci + j]! * s[o]!;
      bias[o] = bias[o]! + bo;
    }
    return a;
  });
  for (let o = 0; o < d; o++) bias[o] = bias[o]! * s[o]! + shift[o]!;
  return { A, bias };
}

function decodeHead(g: GraphBuilder, model: SegformerForSemanticSegmentation, stages: Tokens[]): string {
  const head = model.decode_head;
  const d = head.cfg.decoder_hidden_size;
  const n = stages.length;
  if (stages.every((_, i) => g.quantizesLinear(d * head.linear_c.at(i).proj.inFeatures))) return int8DecodeHead(g, model, stages);
  const fuseW = g.node('Reshape', [g.weight('decode_head.linear_fuse.weight', head.linear_fuse.weight, 0), g.ints([d, n * d])]);
  // Column block (n-1-i) of linear_fuse belongs to stage i (HF concatenates coarsest first).
  const block = (i: number) => g.node('Slice', [fuseW, g.ints([(n - 1 - i) * d]), g.ints([(n - i) * d]), g.ints([1])]);
  const mlps = stages.map((_, i) => head.linear_c.at(i).proj);
  const lcW = mlps.map((m, i) => g.weight(`decode_head.linear_c.${i}.proj.weight`, m.weight, 0));
  const lcB = mlps.map((m, i) => g.initializer(`decode_head.linear_c.${i}.proj.bias`, m.bias!));
  // Batch norm with running statistics: scale = γ/√(var+eps), folded into every Aᵢ and the bias.
  const bn = head.batch_norm;
  const bnScale = g.node('Div', [
    g.initializer('decode_head.batch_norm.weight', bn.weight),
    g.node('Sqrt', [g.node('Add', [g.initializer('decode_head.batch_norm.running_var', bn.runningVar), g.floats([bn.eps], [])])]),
  ]);
  const colScale = g.node('Reshape', [bnScale, g.ints([d, 1])]);
  const A = stages.map((_, i) => g.node('Mul', [g.node('MatMul', [block(i), lcW[i]!]), colScale]));
  const rawBias = g.node('MatMul', [fuseW, g.node('Concat', [...lcB].reverse(), { axis: 0 })]);
  const bias = g.node('Add', [
    g.node('Mul', [g.node('Sub', [rawBias, g.initializer('decode_head.batch_norm.running_mean', bn.runningMean)]), bnScale]),
    g.initializer('decode_head.batch_norm.bias', bn.bias),
  ]);
  const acc = upsampledSum(g, stages, d, (i) => gemm(g, stages[i]!.t, A[i]!, i === n - 1 ? bias : undefined));
  // The finest stage joins through Gemm's addend (torch's addmm); a single stage carries the bias itself.
  const sum = gemm(g, stages[0]!.t, A[0]!, acc ? g.node('Reshape', [acc, g.ints([-1, d])]) : bias);
  return classify(g, model, stages, g.node('Relu', [sum]));
}

/**
 * The coarse stages (1…n−1) projected to d channels by `project` ([B·hᵢ·wᵢ, d]) at their own resolution,
 * upsampled bilinearly (NHWC) to the finest grid and summed by one Sum; '' for a single stage.
 */
function upsampledSum(g: GraphBuilder, stages: Tokens[], d: number, project: (i: number) => string): string {
  const fine = withChannels(g, stages[0]!.shape, d);
  const ups: string[] = [];
  for (let i = stages.length - 1; i >= 1; i--) {
    const y = g.node('Reshape', [project(i), withChannels(g, stages[i]!.shape, d)]);
    ups.push(g.node('Resize', [y, '', '', fine], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' }));
  }
  return ups.length > 1 ? g.node('Sum', ups) : (ups[0] ?? '');
}

/** decodeHead with every Aᵢ a DynamicQuantizeMatMul (int8 with dynamic linears). */
function int8DecodeHead(g: GraphBuilder, model: SegformerForSemanticSegmentation, stages: Tokens[]): string {
  const d = model.decode_head.cfg.decoder_hidden_size;
  const n = stages.length;
  const { A, bias } = foldedHeadArrays(model, n);
  const biasName = g.initializer('decode_head.fused.bias', bias, [d]);
  const project = (i: number, withBias: boolean) => {
    const ci = model.decode_head.linear_c.at(i).proj.inFeatures;
    return g.dynamicLinear(stages[i]!.t, `decode_head.fused.${i}.weight`, A[i]!, withBias ? biasName : '', [d, ci], { checkpointKey: false })!;
  };
  const acc = upsampledSum(g, stages, d, (i) => project(i, i === n - 1));
  const first = project(0, !acc);
  const sum = acc ? g.node('Add', [first, g.node('Reshape', [acc, g.ints([-1, d])])]) : first;
  return classify(g, model, stages, g.node('Relu', [sum]));
}

/** The 1×1 classifier conv as a Gemm on the [B·H·W, d] features; one transpose of the (small) logits. */
function classify(g: GraphBuilder, model: SegformerForSemanticSegmentation, stages: Tokens[], features: string): string {
  const head = model.decode_head;
  const d = head.cfg.decoder_hidden_size;
  const numLabels = head.classifier.outChannels;
  const cw = g.node('Reshape', [g.weight('decode_head.classifier.weight', head.classifier.weight, 0), g.ints([numLabels, d])]);
  const logits = gemm(g, features, cw, g.initializer('decode_head.classifier.bias', head.classifier.bias!));
  return imageOf(g, logits, withChannels(g, stages[0]!.shape, numLabels));
}
