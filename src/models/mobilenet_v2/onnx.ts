// MobileNetV2 + DeepLabV3 head → ONNX, as src/models/mobilenet_v2/model.ts runs in eval mode: every conv
// layer is one Conv with its batch norm folded in (backbone eps 1e-3, head eps 1e-5: each BatchNorm2d
// carries its own), then Clip(0, 6) or Relu.
// TF "SAME" padding depends on the input size, so a strided conv's pads are computed from the live
// tensor's Shape (HF's apply_tf_padding, per axis n: pad = max(k − (n mod s or s), 0), before = ⌊pad/2⌋,
// times the dilation) and applied by a Pad node; stride-1 convs pad the same at every size, so their pads
// stay on the Conv. One graph is thus right at every H and W, even (asymmetric) or odd (symmetric).
// The head's pooled branch (global average → 1×1 conv → BN → ReLU) is a 1×1 map that HF upsamples to
// the feature size, i.e. a broadcast: Expand to the runtime feature size, then concatenated as HF does.
import type { GraphBuilder } from '../../export/graph.js';
import { activation, convBn } from '../../export/layers.js';
import type { MobileNetV2ConvLayer, MobileNetV2ForSemanticSegmentation } from './model.js';

/** Pads [top, left, bottom, right] of a stride-1 conv under TF "SAME" (n mod 1 = 0: pad = k − 1 on every axis). */
function staticSame(k: number, d: number): number[] {
  const pad = Math.max(k - 1, 0);
  const before = Math.floor(pad / 2);
  return [before * d, before * d, (pad - before) * d, (pad - before) * d];
}

/** x padded by TF "SAME" for a strided conv, pads computed in the graph from x's height and width. */
function padSame(g: GraphBuilder, x: string, k: number, s: number, d: number): string {
  const hw = g.node('Slice', [g.node('Shape', [x]), g.ints([2]), g.ints([4])]);
  // n mod s, or s when it divides: (s − (n mod s)) mod s = s − that, so pad = k − s + (s − n mod s) mod s.
  const sc = g.ints([s]);
  const short = g.node('Mod', [g.node('Sub', [sc, g.node('Mod', [hw, sc])]), sc]);
  let pad = g.node('Add', [short, g.ints([k - s])]);
  if (k < s) pad = g.node('Max', [pad, g.ints([0])]);
  const before = g.node('Div', [pad, g.ints([2])]);
  const after = g.node('Sub', [pad, before]);
  const times = (v: string) => (d === 1 ? v : g.node('Mul', [v, g.ints([d])]));
  const zeros = g.ints([0, 0]);
  return g.node('Pad', [x, g.node('Concat', [zeros, times(before), zeros, times(after)], { axis: 0 })], { mode: 'constant' });
}

/** A MobileNetV2ConvLayer: (TF "SAME" pad) → Conv with folded BN → its activation. */
function convLayer(g: GraphBuilder, x: string, prefix: string, l: MobileNetV2ConvLayer, tfPadding: boolean): string {
  const { kernelSize: k, stride: s, dilation: d } = l.convolution;
  let y: string;
  if (!tfPadding) y = convBn(g, x, prefix, l);
  else if (s === 1) y = convBn(g, x, prefix, l, staticSame(k, d));
  else y = convBn(g, padSame(g, x, k, s, d), prefix, l, [0, 0, 0, 0]);
  return activation(g, y, l.activation);
}

/** Emits the eval forward of `model` from `x` (NCHW pixel values); returns the NCHW logits value. */
export function emitMobileNetV2(model: MobileNetV2ForSemanticSegmentation, g: GraphBuilder, x: string): string {
  const tf = model.config.tf_padding;
  const net = model.mobilenet_v2;
  const stem = net.conv_stem;
  const sp = 'mobilenet_v2.conv_stem';
  let y = convLayer(g, x, `${sp}.first_conv`, stem.first_conv, tf);
  if (stem.expand_1x1) y = convLayer(g, y, `${sp}.expand_1x1`, stem.expand_1x1, tf);
  y = convLayer(g, convLayer(g, y, `${sp}.conv_3x3`, stem.conv_3x3, tf), `${sp}.reduce_1x1`, stem.reduce_1x1, tf);
  net.layer.items.forEach((b, i) => {
    const p = `mobilenet_v2.layer.${i}`;
    const h = convLayer(g, convLayer(g, y, `${p}.expand_1x1`, b.expand_1x1, tf), `${p}.conv_3x3`, b.conv_3x3, tf);
    const out = convLayer(g, h, `${p}.reduce_1x1`, b.reduce_1x1, tf);
    y = b.useResidual ? g.node('Add', [out, y]) : out;
  });
  // (conv_1x1 is not run: HF computes it and discards it; segmentation reads layer.15.)
  const head = model.segmentation_head;
  const hp = 'segmentation_head';
  const pooled = convLayer(g, g.node('GlobalAveragePool', [y]), `${hp}.conv_pool`, head.conv_pool, tf);
  const aspp = convLayer(g, y, `${hp}.conv_aspp`, head.conv_aspp, tf);
  // Broadcast [B, 256, 1, 1] against [1, 1, h, w]: the runtime feature size.
  const featureHW = g.node('Slice', [g.node('Shape', [y]), g.ints([2]), g.ints([4])]);
  const broadcast = g.node('Expand', [pooled, g.node('Concat', [g.ints([1, 1]), featureHW], { axis: 0 })]);
  const proj = convLayer(g, g.node('Concat', [broadcast, aspp], { axis: 1 }), `${hp}.conv_projection`, head.conv_projection, tf);
  return convLayer(g, proj, `${hp}.classifier`, head.classifier, tf);
}
