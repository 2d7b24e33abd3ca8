// MobileViT's config: HF's MobileViTConfig fields, their defaults, the zod schema that checks a
// config.json (unknown HF keys are kept), and the DeepLabV3 variants apple/deeplabv3-mobilevit-xx-small,
// -x-small and -small (sizes from HF's convert_mlcvnets_to_pytorch.py: output stride 16, image 512).
import { z } from 'zod';
import { labelMaps, type BaseSegConfig } from '../contract.js';
import { baseConfigShape, checkLabels, parseWithSchema, positiveInt, positiveNumber, rate, withLabel2id } from '../config-schema.js';

/** HF MobileViTConfig fields (snake_case, exactly as in config.json). */
export interface MobileViTConfig extends BaseSegConfig {
  model_type: 'mobilevit';
  image_size: number;
  patch_size: number;
  /** Transformer widths of the three MobileViT blocks (encoder.layer.2–4). */
  hidden_sizes: number[];
  /** Stem, the five encoder stages' outputs, and the classifier expansion (unused for segmentation). */
  neck_hidden_sizes: number[];
  num_attention_heads: number;
  mlp_ratio: number;
  expand_ratio: number;
  /** SiLU (HF also calls it swish). */
  hidden_act: 'silu' | 'swish';
  conv_kernel_size: number;
  output_stride: 8 | 16 | 32;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  classifier_dropout_prob: number;
  layer_norm_eps: number;
  qkv_bias: boolean;
  aspp_out_channels: number;
  atrous_rates: number[];
  aspp_dropout_prob: number;
  architectures?: string[];
}

const positiveInts = (n: number) =>
  z.array(positiveInt, { error: `expected a list of ${n} positive integers` }).length(n, { error: `expected a list of ${n} positive integers` });

const schema = z
  .looseObject({
    ...baseConfigShape,
    model_type: z.literal('mobilevit', { error: 'expected "mobilevit"' }),
    // Defaults of HF's MobileViTConfig for the fields a config.json may leave out (its defaults are
    // mobilevit-small's sizes at output stride 32).
    image_size: positiveInt.default(256),
    patch_size: positiveInt.default(2),
    hidden_sizes: positiveInts(3).default([144, 192, 240]),
    neck_hidden_sizes: positiveInts(7).default([16, 32, 64, 96, 128, 160, 640]),
    num_attention_heads: positiveInt.default(4),
    mlp_ratio: positiveNumber.default(2.0),
    expand_ratio: positiveNumber.default(4.0),
    hidden_act: z.enum(['silu', 'swish'], { error: 'expected "silu" or "swish" (the only activation implemented)' }).default('silu'),
    // HF pads (k-1)/2: an even kernel would shrink the map and break the fusion's concatenation.
    conv_kernel_size: positiveInt.refine((k) => k % 2 === 1, { error: 'expected an odd positive integer' }).default(3),
    // HF dilates the last stage for 16 and the last two for 8; any other value means no dilation (32).
    output_stride: z.union([z.literal(8), z.literal(16), z.literal(32)], { error: 'expected 8, 16 or 32' }).default(32),
    hidden_dropout_prob: rate.default(0.1),
    attention_probs_dropout_prob: rate.default(0),
    classifier_dropout_prob: rate.default(0.1),
    layer_norm_eps: positiveNumber.default(1e-5),
    qkv_bias: z.boolean({ error: 'expected true or false' }).default(true),
    aspp_out_channels: positiveInt.default(256),
    atrous_rates: positiveInts(3).default([6, 12, 18]),
    aspp_dropout_prob: rate.default(0.1),
  })
  .superRefine((c, ctx) => {
    // Zod runs refinements after non-fatal field issues too; check only what parsed.
    const heads = c.num_attention_heads;
    if (Number.isInteger(heads) && heads > 0 && Array.isArray(c.hidden_sizes)) {
      c.hidden_sizes.forEach((h, i) => {
        if (Number.isInteger(h) && h % heads !== 0) {
          ctx.addIssue({ code: 'custom', path: ['hidden_sizes', i], message: `expected a multiple of num_attention_heads=${heads}`, input: h });
        }
      });
    }
    checkLabels(c, ctx);
  });

/** Checks a config (e.g. a user's config.json, `where` names it) and fills HF's defaults. */
export function parseMobileViTConfig(raw: unknown, where: string): MobileViTConfig {
  return withLabel2id(parseWithSchema(schema, raw, where)) as MobileViTConfig;
}

type VariantFields = Pick<MobileViTConfig, 'hidden_sizes' | 'neck_hidden_sizes' | 'expand_ratio' | 'hidden_dropout_prob'>;
/** The published DeepLabV3 MobileViT sizes (apple/deeplabv3-mobilevit-*). */
export const MOBILEVIT_VARIANTS: Record<string, VariantFields> = {
  'xx-small': { hidden_sizes: [64, 80, 96], neck_hidden_sizes: [16, 16, 24, 48, 64, 80, 320], expand_ratio: 2.0, hidden_dropout_prob: 0.05 },
  'x-small': { hidden_sizes: [96, 120, 144], neck_hidden_sizes: [16, 32, 48, 64, 80, 96, 384], expand_ratio: 4.0, hidden_dropout_prob: 0.1 },
  small: { hidden_sizes: [144, 192, 240], neck_hidden_sizes: [16, 32, 64, 96, 128, 160, 640], expand_ratio: 4.0, hidden_dropout_prob: 0.1 },
};

/** A full, checked HF config for variant xx-small / x-small / small with the given class names. */
export function mobilevitConfig(variant: string, labels: string[], overrides: Partial<MobileViTConfig> = {}): MobileViTConfig {
  const v = MOBILEVIT_VARIANTS[variant];
  if (!v) throw new RangeError(`unknown MobileViT variant '${variant}': expected one of ${Object.keys(MOBILEVIT_VARIANTS).join(', ')}`);
  const raw = {
    model_type: 'mobilevit',
    architectures: ['MobileViTForSemanticSegmentation'],
    image_size: 512,
    output_stride: 16,
    ...v,
    ...labelMaps(labels),
    ...overrides,
  };
  return parseMobileViTConfig(raw, `mobilevit-${variant} config`);
}
