// The ONNX emitter of a model_type: each family carries its own (ModelFamily.onnx, in
// src/models/<family>/onnx.ts); this lookup lets commands check that a checkpoint is exportable from
// its config alone, before loading any weights.
import { getFamily, type SegmentationModel } from '../models/index.js';
import type { GraphBuilder } from './graph.js';
import type { EmitOptions } from './layers.js';

/** Writes the eval forward of `model` into a GraphBuilder from the NCHW input value; returns the NCHW logits value. */
export type OnnxEmitter = (model: SegmentationModel, g: GraphBuilder, pixelValues: string, o: EmitOptions) => string;

/** The emitter of `modelType`'s family; an unknown model_type is an error listing the registered ones. */
export function onnxEmitter(modelType: string): OnnxEmitter {
  const family = getFamily(modelType);
  return (model, g, x, o) => family.onnx(model, g, x, o);
}
