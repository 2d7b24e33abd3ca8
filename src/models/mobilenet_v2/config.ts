// MobileNetV2's config: HF's MobileNetV2Config fields, their defaults, the zod schema that checks a
// config.json (unknown HF keys are kept), and the width variants (depth multipliers).
import { z } from 'zod';
import { labelMaps, type BaseSegConfig } from '../contract.js';
import { baseConfigShape, checkLabels, parseWithSchema, positiveInt, positiveNumber, rate, withLabel2id } from '../config-schema.js';

/** HF MobileNetV2Config fields (snake_case, exactly as in config.json). */
export interface MobileNetV2Config extends BaseSegConfig {
  model_type: 'mobilenet_v2';
  image_size: number;
  depth_multiplier: number;
  depth_divisible_by: number;
  min_depth: number;
  expand_ratio: number;
  output_stride: number;
  first_layer_is_expansion: boolean;
  finegrained_output: boolean;
  hidden_act: 'relu6';
  tf_padding: boolean;
  classifier_dropout_prob: number;
  layer_norm_eps: number;
  architectures?: string[];
}

const bool = z.boolean({ error: 'expected true or false' });
// The backbone's total stride is 32; HF keeps striding until it reaches output_stride and dilates after,
// so any other value would silently give stride 32.
const OUTPUT_STRIDES = [2, 4, 8, 16, 32] as const;

const schema = z
  .looseObject({
    ...baseConfigShape,
    model_type: z.literal('mobilenet_v2', { error: 'expected "mobilenet_v2"' }),
    // Defaults of HF's MobileNetV2Config for the fields a config.json may leave out.
    image_size: positiveInt.default(224),
    depth_multiplier: positiveNumber.default(1.0),
    depth_divisible_by: positiveInt.default(8),
    min_depth: positiveInt.default(8),
    expand_ratio: positiveNumber.default(6.0),
    output_stride: z
      .number({ error: `expected one of ${OUTPUT_STRIDES.join(', ')}` })
      .refine((v) => (OUTPUT_STRIDES as readonly number[]).includes(v), { error: `expected one of ${OUTPUT_STRIDES.join(', ')}` })
      .default(32),
    first_layer_is_expansion: bool.default(true),
    finegrained_output: bool.default(true),
    hidden_act: z.literal('relu6', { error: 'expected "relu6" (the only activation implemented)' }).default('relu6'),
    tf_padding: bool.default(true),
    classifier_dropout_prob: rate.default(0.8),
    layer_norm_eps: positiveNumber.default(0.001),
  })
  .superRefine((c, ctx) => checkLabels(c, ctx));

/** Checks a config (e.g. a user's config.json, `where` names it) and fills HF's defaults. */
export function parseMobileNetV2Config(raw: unknown, where: string): MobileNetV2Config {
  return withLabel2id(parseWithSchema(schema, raw, where)) as MobileNetV2Config;
}

/**
 * The widths Google released MobileNetV2 checkpoints for (google/mobilenet_v2_<multiplier>_<size>);
 * the DeepLabV3 one, google/deeplabv3_mobilenet_v2_1.0_513, is width 1.0 at output stride 8.
 */
export const MOBILENET_V2_VARIANTS: Record<string, Pick<MobileNetV2Config, 'depth_multiplier'>> = {
  '1.4': { depth_multiplier: 1.4 },
  '1.0': { depth_multiplier: 1.0 },
  '0.75': { depth_multiplier: 0.75 },
  '0.5': { depth_multiplier: 0.5 },
  '0.35': { depth_multiplier: 0.35 },
};

/** A full, checked HF config for a width variant with the given class names (DeepLabV3 settings: 513², output stride 8). */
export function mobileNetV2Config(variant: string, labels: string[], overrides: Partial<MobileNetV2Config> = {}): MobileNetV2Config {
  const v = MOBILENET_V2_VARIANTS[variant];
  if (!v) throw new RangeError(`unknown MobileNetV2 variant '${variant}': expected one of ${Object.keys(MOBILENET_V2_VARIANTS).join(', ')}`);
  const raw = {
    model_type: 'mobilenet_v2',
    architectures: ['MobileNetV2ForSemanticSegmentation'],
    image_size: 513,
    output_stride: 8,
    ...v,
    ...labelMaps(labels),
    ...overrides,
  };
  return parseMobileNetV2Config(raw, `mobilenet_v2-${variant} config`);
}
