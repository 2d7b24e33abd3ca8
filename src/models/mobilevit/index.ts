// The MobileViT family: HF model_type 'mobilevit' (DeepLabV3 head), variants xx-small, x-small, small,
// registered on import.
import type { Tensor } from '../../torch/index.js';
import { lacksHead, type SegmentationModel } from '../contract.js';
import { registerFamily, type ModelFamily } from '../registry.js';
import { MOBILEVIT_VARIANTS, mobilevitConfig, parseMobileViTConfig, type MobileViTConfig } from './config.js';
import { MobileViTForSemanticSegmentation } from './model.js';

export const mobilevitFamily: ModelFamily<MobileViTConfig> = {
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
  adaptStateDict(sd: Map<string, Tensor>, model: SegmentationModel<MobileViTConfig>) {
    const prefix = `${model.checkpointPrefix}.`;
    const own = model.stateDict();
    const dropped: string[] = [];
    for (const [k, v] of [...sd]) {
      const bare = k.startsWith(prefix) ? k.slice(prefix.length) : k;
      if (bare.startsWith('conv_1x1_exp.') || (k.startsWith('classifier.') && !own.has(k))) {
        sd.delete(k);
        v.dispose();
        dropped.push(k);
      } else if (k.startsWith('conv_stem.') || k.startsWith('encoder.')) {
        sd.delete(k);
        sd.set(`${prefix}${k}`, v);
      }
    }
    return { dropped, headMissing: lacksHead(sd, model) };
  },
};

registerFamily(mobilevitFamily);

export * from './config.js';
export * from './model.js';
