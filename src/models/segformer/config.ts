// SegFormer's config: HF's SegformerConfig fields, their defaults, the zod schema that checks a
// config.json (unknown HF keys are kept), and the MiT-b0…b5 variants.
import { z } from 'zod';
import { labelMaps, type BaseSegConfig } from '../contract.js';
import { baseConfigShape, checkLabels, parseWithSchema, positiveInt, positiveNumber, rate, withLabel2id } from '../config-schema.js';

/** HF SegformerConfig fields (snake_case, exactly as in config.json). */
export interface SegformerConfig extends BaseSegConfig {
  model_type: 'segformer';
  num_encoder_blocks: number;
  depths: number[];
  sr_ratios: number[];
  hidden_sizes: number[];
  patch_sizes: number[];
  strides: number[];
  num_attention_heads: number[];
  mlp_ratios: number[];
  hidden_act: 'gelu';
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  classifier_dropout_prob: number;
  drop_path_rate: number;
  layer_norm_eps: number;
  decoder_hidden_size: number;
  reshape_last_stage?: boolean;
  architectures?: string[];
}

// One entry per encoder stage each; checked against num_encoder_blocks.
const PER_STAGE = ['depths', 'sr_ratios', 'hidden_sizes', 'patch_sizes', 'strides', 'num_attention_heads', 'mlp_ratios'] as const;

const positiveInts = z.array(positiveInt, { error: 'expected a list of positive integers' });

const schema = z
  .looseObject({
    ...baseConfigShape,
    model_type: z.literal('segformer', { error: 'expected "segformer"' }),
    num_encoder_blocks: positiveInt,
    depths: positiveInts,
    sr_ratios: positiveInts,
    hidden_sizes: positiveInts,
    patch_sizes: positiveInts,
    strides: positiveInts,
    num_attention_heads: positiveInts,
    // HF computes int(hidden * mlp_ratio), so fractional ratios are allowed.
    mlp_ratios: z.array(positiveNumber, { error: 'expected a list of positive numbers' }),
    // Defaults of HF's SegformerConfig for the fields a config.json may leave out.
    hidden_act: z.literal('gelu', { error: 'expected "gelu" (the only activation implemented)' }).default('gelu'),
    hidden_dropout_prob: rate.default(0),
    attention_probs_dropout_prob: rate.default(0),
    classifier_dropout_prob: rate.default(0.1),
    drop_path_rate: rate.default(0.1),
    layer_norm_eps: positiveNumber.default(1e-6),
    decoder_hidden_size: positiveInt.default(256),
    reshape_last_stage: z.boolean({ error: 'expected true or false' }).default(true),
  })
  .superRefine((c, ctx) => {
    // Zod runs refinements after non-fatal field issues too; check only what parsed.
    const n = c.num_encoder_blocks;
    for (const k of PER_STAGE) {
      if (Number.isInteger(n) && n > 0 && Array.isArray(c[k]) && c[k].length !== n) {
        const what = k === 'mlp_ratios' ? 'positive numbers' : 'positive integers';
        ctx.addIssue({ code: 'custom', path: [k], message: `expected ${n} ${what} (num_encoder_blocks is ${n})`, input: c[k] });
      }
    }
    const hidden = Array.isArray(c.hidden_sizes) ? c.hidden_sizes : [];
    const heads = Array.isArray(c.num_attention_heads) ? c.num_attention_heads : [];
    hidden.forEach((h, i) => {
      const nh = heads[i];
      if (Number.isInteger(h) && Number.isInteger(nh) && nh! > 0 && h % nh! !== 0) {
        ctx.addIssue({ code: 'custom', path: ['hidden_sizes', i], message: `expected a multiple of num_attention_heads[${i}]=${nh}`, input: h });
      }
    });
    checkLabels(c, ctx);
  });

/** Checks a config (e.g. a user's config.json, `where` names it) and fills HF's defaults. */
export function parseSegformerConfig(raw: unknown, where: string): SegformerConfig {
  return withLabel2id(parseWithSchema(schema, raw, where)) as SegformerConfig;
}

const MIT = { hidden_sizes: [64, 128, 320, 512], num_attention_heads: [1, 2, 5, 8] };
/** The MiT-b0…b5 encoder sizes and their decoder widths (SegFormer paper, Table 6). */
export const SEGFORMER_VARIANTS: Record<string, Pick<SegformerConfig, 'hidden_sizes' | 'depths' | 'num_attention_heads' | 'decoder_hidden_size'>> = {
  b0: { hidden_sizes: [32, 64, 160, 256], depths: [2, 2, 2, 2], num_attention_heads: [1, 2, 5, 8], decoder_hidden_size: 256 },
  b1: { ...MIT, depths: [2, 2, 2, 2], decoder_hidden_size: 256 },
  b2: { ...MIT, depths: [3, 4, 6, 3], decoder_hidden_size: 768 },
  b3: { ...MIT, depths: [3, 4, 18, 3], decoder_hidden_size: 768 },
  b4: { ...MIT, depths: [3, 8, 27, 3], decoder_hidden_size: 768 },
  b5: { ...MIT, depths: [3, 6, 40, 3], decoder_hidden_size: 768 },
};

/** A full, checked HF config for variant b0…b5 with the given class names. */
export function segformerConfig(variant: string, labels: string[], overrides: Partial<SegformerConfig> = {}): SegformerConfig {
  const v = SEGFORMER_VARIANTS[variant];
  if (!v) throw new RangeError(`unknown SegFormer variant '${variant}': expected one of ${Object.keys(SEGFORMER_VARIANTS).join(', ')}`);
  const raw = {
    model_type: 'segformer',
    architectures: ['SegformerForSemanticSegmentation'],
    num_encoder_blocks: 4,
    sr_ratios: [8, 4, 2, 1],
    patch_sizes: [7, 3, 3, 3],
    strides: [4, 2, 2, 2],
    mlp_ratios: [4, 4, 4, 4],
    ...v,
    ...labelMaps(labels),
    ...overrides,
  };
  return parseSegformerConfig(raw, `segformer-${variant} config`);
}
