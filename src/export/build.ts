// Model → ONNX bytes: the family's emitter (src/models/<family>/onnx.ts) run on a GraphBuilder, and the
// int8 settings of `export --int8`.
import { noGrad, tidy } from '../torch/index.js';
import type { SegmentationModel } from '../models/index.js';
import { onnxEmitter } from './families.js';
import { GraphBuilder, type Int8Options } from './graph.js';
import type { EmitOptions } from './layers.js';
import { encodeModel } from './serialize.js';

/**
 * --int8: weights of 4096 elements or more int8 (smaller convs and the classifier of few labels stay
 * fp32); the linear layers' as DynamicQuantizeMatMul, integer GEMMs at run time (Int8Options).
 */
export const DEFAULT_INT8: Int8Options = { minElements: 4096, dynamicLinear: true };
/** int8 weights only, every layer computing in fp32 after load: a smaller file, fp32's speed and numerics. */
export const WEIGHTS_ONLY_INT8: Int8Options = { minElements: 4096 };

export interface BuildOptions {
  opset?: number;
  int8?: boolean | Int8Options;
  emit?: EmitOptions;
}

export interface BuiltOnnx {
  bytes: Uint8Array;
  builder: GraphBuilder;
  nodes: number;
}

/** Builds the ONNX model of `model` (put in eval mode: the graph is the inference forward). */
export function buildOnnx(model: SegmentationModel, o: BuildOptions = {}): BuiltOnnx {
  const emit = onnxEmitter(model.config.model_type);
  const int8 = o.int8 === true ? DEFAULT_INT8 : o.int8 || null;
  const g = new GraphBuilder({ opset: o.opset, int8, name: model.family.architecture });
  model.eval();
  const x = g.input('pixel_values', ['batch_size', model.config.num_channels, 'height', 'width']);
  const logits = noGrad(() => tidy(() => emit(model, g, x, o.emit ?? {})));
  g.output('logits', logits, ['batch_size', model.numLabels, 'logits_height', 'logits_width']);
  const bytes = encodeModel(g.toModelProto({ model_type: model.config.model_type, int8: String(!!int8) }));
  return { bytes, builder: g, nodes: g.nodeCount };
}

