// SegFormer → ONNX, module by module as src/models/segformer/model.ts runs in eval mode: tokens kept as
// NHWC (B, h, w, C) so LayerNorm and the linears work on the last axis and convs need one transpose;
// fused q/k/v (or k/v) GEMM with 1/√d folded into the query weights; the decode head's rewrite
// Σᵢ up(Aᵢ fᵢ) with Aᵢ = BN∘linear_fuse block · linear_cᵢ (BN folded). Every reshape is 0/-1 or a
// Shape of a live tensor, so N, H and W stay dynamic.
import type { GraphBuilder } from './graph.js';
import { conv2d, gelu, layerNorm, linear, linearWeightT, toNCHW, toNHWC, type EmitOptions } from './layers.js';
import type { SegformerForSemanticSegmentation, SegformerEfficientSelfAttention, SegformerLayer } from '../models/segformer/model.js';

function attention(g: GraphBuilder, x: string, p: string, a: SegformerEfficientSelfAttention): string {
  const { hidden: c, heads: nh, headDim: hd } = a;
  const scale = g.floats([1 / Math.sqrt(hd)], []);
  const heads = (t: string, perm: number[]) => g.node('Transpose', [g.node('Reshape', [t, g.ints([0, -1, nh, hd])])], { perm });
  const wq = g.node('Mul', [linearWeightT(g, `${p}.query`, a.query.weight), scale]);
  const bq = g.node('Mul', [g.initializer(`${p}.query.bias`, a.query.bias!), scale]);
  const wk = linearWeightT(g, `${p}.key`, a.key.weight);
  const wv = linearWeightT(g, `${p}.value`, a.value.weight);
  const bk = g.initializer(`${p}.key.bias`, a.key.bias!);
  const bv = g.initializer(`${p}.value.bias`, a.value.bias!);
  let q: string, k: string, v: string;
  if (a.sr && a.layer_norm) {
    q = g.node('Add', [g.node('MatMul', [x, wq]), bq]);
    const r = layerNorm(g, toNHWC(g, conv2d(g, toNCHW(g, x), `${p}.sr`, a.sr)), `${p}.layer_norm`, a.layer_norm);
    const kv = g.node('Add', [g.node('MatMul', [r, g.node('Concat', [wk, wv], { axis: 1 })]), g.node('Concat', [bk, bv], { axis: 0 })]);
    [k, v] = g.nodeN('Split', [kv, g.ints([c, c])], 2, { axis: -1 }) as [string, string];
  } else {
    const w = g.node('Concat', [wq, wk, wv], { axis: 1 });
    const b = g.node('Concat', [bq, bk, bv], { axis: 0 });
    const qkv = g.node('Add', [g.node('MatMul', [x, w]), b]);
    [q, k, v] = g.nodeN('Split', [qkv, g.ints([c, c, c])], 3, { axis: -1 }) as [string, string, string];
  }
  // (B, n, C) → (B, heads, n, hd); keys straight to (B, heads, hd, n') for the score GEMM.
  const scores = g.node('MatMul', [heads(q, [0, 2, 1, 3]), heads(k, [0, 2, 3, 1])]);
  const ctx = g.node('MatMul', [g.node('Softmax', [scores], { axis: -1 }), heads(v, [0, 2, 1, 3])]);
  // (B, heads, n, hd) → (B, n, heads, hd) → the input's own (B, h, w, C) shape.
  return g.node('Reshape', [g.node('Transpose', [ctx], { perm: [0, 2, 1, 3] }), g.node('Shape', [x])]);
}

function layer(g: GraphBuilder, x: string, p: string, l: SegformerLayer, o: EmitOptions): string {
  const at = l.attention;
  const a = linear(g, attention(g, layerNorm(g, x, `${p}.layer_norm_1`, l.layer_norm_1), `${p}.attention.self`, at.self), `${p}.attention.output.dense`, at.output.dense);
  const x1 = g.node('Add', [a, x]);
  const m = l.mlp;
  const h = linear(g, layerNorm(g, x1, `${p}.layer_norm_2`, l.layer_norm_2), `${p}.mlp.dense1`, m.dense1);
  const dw = toNHWC(g, conv2d(g, toNCHW(g, h), `${p}.mlp.dwconv.dwconv`, m.dwconv.dwconv));
  return g.node('Add', [linear(g, gelu(g, dw, o), `${p}.mlp.dense2`, m.dense2), x1]);
}

/** Emits the eval forward of `model` from `x` (NCHW pixel values); returns the NCHW logits value. */
export function emitSegformer(model: SegformerForSemanticSegmentation, g: GraphBuilder, x: string, o: EmitOptions = {}): string {
  const enc = model.segformer.encoder;
  const stages: string[] = [];
  let img = x;
  for (let i = 0; i < enc.patch_embeddings.length; i++) {
    const pe = enc.patch_embeddings.at(i);
    const pp = `segformer.encoder.patch_embeddings.${i}`;
    let t = layerNorm(g, toNHWC(g, conv2d(g, img, `${pp}.proj`, pe.proj)), `${pp}.layer_norm`, pe.layer_norm);
    let j = 0;
    for (const l of enc.block.at(i)) t = layer(g, t, `segformer.encoder.block.${i}.${j++}`, l, o);
    t = layerNorm(g, t, `segformer.encoder.layer_norm.${i}`, enc.layer_norm.at(i));
    stages.push(t);
    img = toNCHW(g, t);
  }
  return decodeHead(g, model, stages);
}

function decodeHead(g: GraphBuilder, model: SegformerForSemanticSegmentation, stages: string[]): string {
  const head = model.decode_head;
  const d = head.cfg.decoder_hidden_size;
  const n = stages.length;
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
  // Target size (B, H, W, d) of the finest stage, from its live shape.
  const sizes = g.node('Concat', [g.node('Slice', [g.node('Shape', [stages[0]!]), g.ints([0]), g.ints([3])]), g.ints([d])], { axis: 0 });
  let acc = '';
  for (let i = n - 1; i >= 0; i--) {
    let y = g.node('MatMul', [stages[i]!, g.node('Transpose', [A[i]!], { perm: [1, 0] })]);
    if (i === n - 1) y = g.node('Add', [y, bias]);
    if (i > 0) y = g.node('Resize', [y, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' });
    acc = acc ? g.node('Add', [acc, y]) : y;
  }
  const features = g.node('Relu', [acc]);
  // The 1×1 classifier conv as a MatMul on NHWC features, then one transpose of the (small) logits.
  const numLabels = head.classifier.outChannels;
  const cw = g.node('Reshape', [g.weight('decode_head.classifier.weight', head.classifier.weight, 0), g.ints([numLabels, d])]);
  const logits = g.node('Add', [g.node('MatMul', [features, g.node('Transpose', [cw], { perm: [1, 0] })]), g.initializer('decode_head.classifier.bias', head.classifier.bias!)]);
  return toNCHW(g, logits);
}
