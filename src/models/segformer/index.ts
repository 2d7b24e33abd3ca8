// The SegFormer family: HF model_type 'segformer', variants b0…b5, registered on import.
import { adaptBackboneCheckpoint } from '../contract.js';
import { registerFamily, type ModelFamily } from '../registry.js';
import { parseSegformerConfig, SEGFORMER_VARIANTS, segformerConfig, type SegformerConfig } from './config.js';
import { SegformerForSemanticSegmentation } from './model.js';
import { emitSegformer } from './onnx.js';

export const segformerFamily: ModelFamily<SegformerConfig, SegformerForSemanticSegmentation> = {
  modelType: 'segformer',
  architecture: 'SegformerForSemanticSegmentation',
  variants: SEGFORMER_VARIANTS,
  parseConfig: parseSegformerConfig,
  variantConfig: segformerConfig,
  build: (config, opts) => new SegformerForSemanticSegmentation(config, opts),
  /**
   * Encoder-only checkpoints (nvidia/mit-b*): a bare SegformerModel (encoder.*) moves under segformer.;
   * SegformerForImageClassification's head (classifier.*) is dropped.
   */
  adaptStateDict: (sd, model) => adaptBackboneCheckpoint(sd, model, ['encoder.']),
  onnx: emitSegformer,
};

registerFamily(segformerFamily);

export * from './config.js';
export * from './model.js';
