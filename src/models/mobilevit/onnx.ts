// MobileViT + DeepLabV3 head → ONNX, as src/models/mobilevit/model.ts runs in eval mode. Conv layers are
// one Conv with the batch norm folded in, then SiLU (x·σ(x)) or ReLU.
// A MobileViT block unfolds its map into p×p patches: the map is first resized bilinearly to the next
// multiples of p (HF resizes rather than pads; CamVid's 360×480 hits it at 45×60 and 23×30) and resized
// back after folding. The target size ⌈h/p⌉·p is Shape arithmetic, and the Resize is always emitted: on
// a map that is already a multiple of p it is the identity, exactly (weights 1 and 0), so one graph
// serves every H and W. Resize's 'half_pixel' is torch's bilinear align_corners=False for every size
// (pytorch_half_pixel differs only for an output of length 1, which torch computes as half_pixel does).
// Tokens are one [B·p²·N, C] matrix whose rows run in HF's sequence order (sequence b·p² + position in
// the patch, then patch index), so every Linear is a Gemm and LayerNorm works on the last axis; the
// attention reshapes them to (B·p², N, heads, hd) with N = (h/p)(w/p) from the same Shape arithmetic.
import type { GraphBuilder } from '../../export/graph.js';
import { activation, convBn, convNode, dynamicQkv, foldedConvBn, gemm, layerNorm, linear, multiHeadAttention, scaledQkv, toNCHW, toNHWC, type EmitOptions } from '../../export/layers.js';
import { foldedArrays, staticConv } from '../../export/qconv.js';
import type { MobileViTConvLayer, MobileViTInvertedResidual, MobileViTMobileNetLayer } from './conv-blocks.js';
import type { MobileViTASPPPooling, MobileViTForSemanticSegmentation, MobileViTLayer } from './model.js';
import type { MobileViTTransformerLayer } from './transformer.js';

const conv = (g: GraphBuilder, x: string, p: string, l: MobileViTConvLayer) => activation(g, convBn(g, x, p, l), l.act);

function invertedResidual(g: GraphBuilder, x: string, p: string, b: MobileViTInvertedResidual): string {
  const y = conv(g, conv(g, conv(g, x, `${p}.expand_1x1`, b.expand_1x1), `${p}.conv_3x3`, b.conv_3x3), `${p}.reduce_1x1`, b.reduce_1x1);
  return b.useResidual ? g.node('Add', [y, x]) : y;
}

function fp32Qkv(g: GraphBuilder, x: string, ap: string, a: MobileViTTransformerLayer['attention']['attention']): string {
  const { wq, bq, wk, wv, bk, bv } = scaledQkv(g, ap, a, a.headDim);
  const w = g.node('Concat', [wq, wk, wv], { axis: 0 });
  return gemm(g, x, w, bq ? g.node('Concat', [bq, bk!, bv!], { axis: 0 }) : undefined);
}

/** Pre-norm transformer layer on tokens [M, C]: x + attn(LN(x)), then + W₂ SiLU(W₁ LN(·)). */
function transformerLayer(g: GraphBuilder, x: string, p: string, l: MobileViTTransformerLayer, headShape: string, c: number, o: EmitOptions): string {
  const a = l.attention.attention;
  const ap = `${p}.attention.attention`;
  const xn = layerNorm(g, x, `${p}.layernorm_before`, l.layernorm_before);
  const qkv = dynamicQkv(g, xn, ap, a, ['query', 'key', 'value'], a.headDim) ?? fp32Qkv(g, xn, ap, a);
  const [q, k, v] = g.nodeN('Split', [qkv, g.ints([c, c, c])], 3, { axis: -1 }) as [string, string, string];
  const h = g.node('Add', [linear(g, multiHeadAttention(g, q, k, v, headShape, c, a.heads, o), `${p}.attention.output.dense`, l.attention.output.dense), x]);
  const mid = activation(g, linear(g, layerNorm(g, h, `${p}.layernorm_after`, l.layernorm_after), `${p}.intermediate.dense`, l.intermediate.dense), 'silu');
  return g.node('Add', [linear(g, mid, `${p}.output.dense`, l.output.dense), h]);
}

/** Bilinear resize (torch's align_corners=False) of NCHW `x` to the [h, w] value `hw`. */
function resizeTo(g: GraphBuilder, x: string, hw: string): string {
  const nc = g.node('Slice', [g.node('Shape', [x]), g.ints([0]), g.ints([2])]);
  return g.node('Resize', [x, '', '', g.node('Concat', [nc, hw], { axis: 0 })], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' });
}

function mobileViTLayer(g: GraphBuilder, x: string, p: string, l: MobileViTLayer, o: EmitOptions): string {
  if (l.downsampling_layer) x = invertedResidual(g, x, `${p}.downsampling_layer`, l.downsampling_layer);
  const local = convBn(g, conv(g, x, `${p}.conv_kxk`, l.conv_kxk), `${p}.conv_1x1`, l.conv_1x1);
  const c = l.conv_1x1.convolution.outChannels;
  const ps = l.patch;
  const shape = g.node('Shape', [local]);
  const batch = g.node('Slice', [shape, g.ints([0]), g.ints([1])]);
  const hw = g.node('Slice', [shape, g.ints([2]), g.ints([4])]);
  const n = g.node('Div', [g.node('Add', [hw, g.ints([ps - 1])]), g.ints([ps])]); // [⌈h/p⌉, ⌈w/p⌉]
  const nh = g.node('Slice', [n, g.ints([0]), g.ints([1])]);
  const nw = g.node('Slice', [n, g.ints([1]), g.ints([2])]);
  const padded = g.node('Mul', [n, g.ints([ps])]);
  // unfold: NHWC (B, nh, p, nw, p, C) → (B, p, p, nh, nw, C) → rows. Two transposes, not one 6-D one
  // that moves C: onnxruntime moves a single axis (NCHW → NHWC) and copies C-long rows fast, while a
  // general 6-D permutation is element by element (3× slower on MobileViT-XXS's maps).
  const six = g.node('Concat', [batch, nh, g.ints([ps]), nw, g.ints([ps, c])], { axis: 0 });
  const unfolded = g.node('Transpose', [g.node('Reshape', [toNHWC(g, resizeTo(g, local, padded)), six])], { perm: [0, 2, 4, 1, 3, 5] });
  let t = g.node('Reshape', [unfolded, g.ints([-1, c])]);
  const a = l.transformer.layer.at(0).attention.attention;
  const headShape = g.node('Concat', [g.ints([-1]), g.node('Mul', [nh, nw]), g.ints([a.heads, a.headDim])], { axis: 0 });
  [...l.transformer.layer].forEach((tl, i) => (t = transformerLayer(g, t, `${p}.transformer.layer.${i}`, tl, headShape, c, o)));
  t = layerNorm(g, t, `${p}.layernorm`, l.layernorm);
  // fold: rows → (B, p, p, nh, nw, C) → NHWC (B, nh, p, nw, p, C) → NCHW (B, C, nh·p, nw·p) → back to h×w
  const folded6 = g.node('Transpose', [g.node('Reshape', [t, g.node('Concat', [batch, g.ints([ps, ps]), nh, nw, g.ints([c])], { axis: 0 })])], { perm: [0, 3, 1, 4, 2, 5] });
  const folded = resizeTo(g, toNCHW(g, g.node('Reshape', [folded6, g.node('Concat', [batch, padded, g.ints([c])], { axis: 0 })])), hw);
  const y = conv(g, folded, `${p}.conv_projection`, l.conv_projection);
  return conv(g, g.node('Concat', [x, y], { axis: 1 }), `${p}.fusion`, l.fusion);
}

/** Emits the eval forward of `model` from `x` (NCHW pixel values); returns the NCHW logits value. */
export function emitMobileViT(model: MobileViTForSemanticSegmentation, g: GraphBuilder, x: string, o: EmitOptions = {}): string {
  let y = conv(g, x, 'mobilevit.conv_stem', model.mobilevit.conv_stem);
  model.mobilevit.encoder.layer.items.forEach((l, i) => {
    const p = `mobilevit.encoder.layer.${i}`;
    if ('transformer' in l) y = mobileViTLayer(g, y, p, l as MobileViTLayer, o);
    else [...(l as MobileViTMobileNetLayer).layer].forEach((b, j) => (y = invertedResidual(g, y, `${p}.layer.${j}`, b)));
  });
  // ASPP: the 1×1 and atrous branches, concatenated, through the 1×1 projection. The image-level branch
  // is constant over the map, so its share of the projection (the last input channels) is a
  // per-image vector, computed on the 1×1 pooled map and added as a bias: the same sum as projecting the
  // broadcast map, without a 5th of the projection's multiply-adds or the broadcast itself.
  const aspp = model.segmentation_head.aspp;
  const ap = 'segmentation_head.aspp';
  const spatial: string[] = [];
  let pooled = '';
  let pooledChannels = 0;
  aspp.convs.items.forEach((m, i) => {
    if (!('conv_1x1' in m)) return void spatial.push(conv(g, y, `${ap}.convs.${i}`, m as MobileViTConvLayer));
    // the image-level branch is the last of HF's pyramid, so its channels are the projection's last inputs
    if (i !== aspp.convs.items.length - 1) throw new Error(`MobileViT export: the ASPP pooling branch is convs.${i}, expected the last`);
    const pool = (m as MobileViTASPPPooling).conv_1x1;
    pooled = conv(g, g.node('GlobalAveragePool', [y]), `${ap}.convs.${i}.conv_1x1`, pool);
    pooledChannels = pool.convolution.outChannels;
  });
  const p = aspp.project;
  const split = p.convolution.inChannels - pooledChannels;
  const concat = g.node('Concat', spatial, { axis: 1 });
  const projected = g.quantizesConv(p.convolution.weight.numel) ? int8Projection(g, concat, pooled, `${ap}.project`, p, split) : fp32Projection(g, concat, pooled, `${ap}.project`, p, split);
  const proj = activation(g, projected, p.act);
  return conv(g, proj, 'segmentation_head.classifier', model.segmentation_head.classifier);
}

/** The ASPP projection of the spatial branches (`spatial`, the first `split` input channels) plus the pooled branch's share as a bias. */
function fp32Projection(g: GraphBuilder, spatial: string, pooled: string, key: string, p: MobileViTConvLayer, split: number): string {
  const { w, b } = foldedConvBn(g, key, p);
  const wSpatial = g.node('Slice', [w, g.ints([0]), g.ints([split]), g.ints([1])]);
  const wPooled = g.node('Slice', [w, g.ints([split]), g.ints([2 ** 31 - 1]), g.ints([1])]);
  const imageBias = convNode(g, pooled, p.convolution, wPooled, b);
  return g.node('Add', [convNode(g, spatial, p.convolution, wSpatial, ''), imageBias]);
}

/** fp32Projection with the spatial part as QLinearConv (the pooled part, on a 1×1 map, stays fp32). */
function int8Projection(g: GraphBuilder, spatial: string, pooled: string, key: string, p: MobileViTConvLayer, split: number): string {
  const c = p.convolution;
  if (c.kernelSize !== 1) throw new Error(`MobileViT export: ${key} is a ${c.kernelSize}×${c.kernelSize} conv, expected 1×1`);
  const { w, b } = foldedArrays(c, p.normalization);
  const [out, cin] = [c.outChannels, c.inChannels];
  const wSpatial = new Float32Array(out * split);
  const wPooled = new Float32Array(out * (cin - split));
  for (let o = 0; o < out; o++) {
    wSpatial.set(w.subarray(o * cin, o * cin + split), o * split);
    wPooled.set(w.subarray(o * cin + split, (o + 1) * cin), o * (cin - split));
  }
  const imageBias = convNode(g, pooled, c, g.initializer(`${key}.pooled_weight_folded`, wPooled, [out, cin - split, 1, 1]), g.initializer(`${key}.bias_folded`, b, [out]));
  return g.node('Add', [staticConv(g, spatial, key, c, wSpatial, null, { dims: [out, split, 1, 1] }), imageBias]);
}
