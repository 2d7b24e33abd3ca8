// The MobileNetV2 family (DeepLabV3 head): HF model_type 'mobilenet_v2', width variants 1.4…0.35,
// registered on import.
import { adaptBackboneCheckpoint } from '../contract.js';
import { registerFamily, type ModelFamily } from '../registry.js';
import { MOBILENET_V2_VARIANTS, mobileNetV2Config, parseMobileNetV2Config, type MobileNetV2Config } from './config.js';
import { MobileNetV2ForSemanticSegmentation } from './model.js';
import { emitMobileNetV2 } from './onnx.js';

// Top-level keys of a bare MobileNetV2Model state dict.
const BARE_BACKBONE = ['conv_stem.', 'layer.', 'conv_1x1.'];

export const mobileNetV2Family: ModelFamily<MobileNetV2Config, MobileNetV2ForSemanticSegmentation> = {
  modelType: 'mobilenet_v2',
  architecture: 'MobileNetV2ForSemanticSegmentation',
  variants: MOBILENET_V2_VARIANTS,
  aliases: { 'mobilenet-v2': '1.0' },
  parseConfig: parseMobileNetV2Config,
  variantConfig: mobileNetV2Config,
  build: (config, opts) => new MobileNetV2ForSemanticSegmentation(config, opts),
  /**
   * ImageNet checkpoints (google/mobilenet_v2_*): a bare MobileNetV2Model moves under mobilenet_v2.;
   * MobileNetV2ForImageClassification's linear head (classifier.*) is dropped.
   */
  adaptStateDict: (sd, model) => adaptBackboneCheckpoint(sd, model, BARE_BACKBONE),
  onnx: emitMobileNetV2,
};

registerFamily(mobileNetV2Family);

export * from './config.js';
export * from './model.js';
