// Exporters by model_type. A family's emitter writes the eval forward of its model into a GraphBuilder
// from the NCHW input value and returns the NCHW logits value; MobileViT and MobileNetV2 add theirs here.
import type { SegmentationModel } from '../models/index.js';
import type { SegformerForSemanticSegmentation } from '../models/segformer/model.js';
import type { GraphBuilder } from './graph.js';
import type { EmitOptions } from './layers.js';
import { emitSegformer } from './segformer.js';

export type OnnxEmitter = (model: SegmentationModel, g: GraphBuilder, pixelValues: string, o: EmitOptions) => string;

const EMITTERS = new Map<string, OnnxEmitter>([['segformer', (m, g, x, o) => emitSegformer(m as SegformerForSemanticSegmentation, g, x, o)]]);

export function registerOnnxEmitter(modelType: string, emit: OnnxEmitter): void {
  EMITTERS.set(modelType, emit);
}

export function onnxEmitter(modelType: string): OnnxEmitter {
  const e = EMITTERS.get(modelType);
  if (!e) throw new RangeError(`ONNX export: no exporter for model_type '${modelType}' (exportable: ${[...EMITTERS.keys()].join(', ')})`);
  return e;
}
