// The MobileViT family: HF model_type 'mobilevit' (DeepLabV3 head), variants xx-small, x-small, small,
// registered on import.
import { adaptBackboneCheckpoint } from '../contract.js';
import { registerFamily, type ModelFamily } from '../registry.js';
import { MOBILEVIT_VARIANTS, mobilevitConfig, parseMobileViTConfig, type MobileViTConfig } from './config.js';
import { MobileViTForSemanticSegmentation } from './model.js';
import { emitMobileViT } from './onnx.js';

export const mobilevitFamily: ModelFamily<MobileViTConfig, MobileViTForSemanticSegmentation> = {
  modelType: 'mobilevit',
  architecture: 'MobileViTForSemanticSegmentation',
  variants: MOBILEVIT_VARIANTS,
  aliases: { 'mobilevit-xxs': 'xx-small', 'mobilevit-xs': 'x-small', 'mobilevit-s': 'small' },
  parseConfig: parseMobileViTConfig,
  variantConfig: mobilevitConfig,
  build: (config, opts) => new MobileViTForSemanticSegmentation(config, opts),
  /**
   * Backbone-only checkpoints (apple/mobilevit-*): a bare MobileViTModel (conv_stem.*, encoder.*) moves
   * under mobilevit.; MobileViTForImageClassification's head (classifier.*) and its expansion conv
   * (conv_1x1_exp.*, which the segmentation model does not have) are dropped.
   */
  adaptStateDict: (sd, model) => adaptBackboneCheckpoint(sd, model, ['conv_stem.', 'encoder.'], (bare) => bare.startsWith('conv_1x1_exp.')),
  onnx: emitMobileViT,
};

registerFamily(mobilevitFamily);

export * from './config.js';
export * from './model.js';
export * from './transformer.js';
export { MobileViTConvLayer, MobileViTInvertedResidual, MobileViTMobileNetLayer } from './conv-blocks.js';
