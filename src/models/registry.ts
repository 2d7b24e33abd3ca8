// Model families by HF model_type, and model names ('segformer-b0', or the bare variant 'b0' when only
// one family has it) → family and variant. Families register themselves on import; src/models/index.ts
// imports them all.
import type { GraphBuilder } from '../export/graph.js';
import type { EmitOptions } from '../export/layers.js';
import type { Tensor } from '../torch/index.js';
import type { BaseSegConfig, SegmentationModel } from './contract.js';

/**
 * A family's description: config parsing, variants, construction and its ONNX emitter. M is the
 * family's model class; the registry keys families by model_type and a model's `family` is looked up
 * by its own model_type, so `build` and `onnx` always meet a model of their own family.
 */
export interface ModelFamily<C extends BaseSegConfig = BaseSegConfig, M extends SegmentationModel<C> = SegmentationModel<C>> {
  /** HF model_type: 'segformer'. */
  modelType: string;
  /** HF architecture written to config.json: 'SegformerForSemanticSegmentation'. */
  architecture: string;
  /** Named sizes (b0…b5). */
  variants: Record<string, unknown>;
  /** Extra model names → variant ('mobilenet-v2' → '1.0'), for names users know from elsewhere. */
  aliases?: Record<string, string>;
  /** Validates a config (zod 4); errors name the file and the field. */
  parseConfig(raw: unknown, where: string): C;
  variantConfig(variant: string, labels: string[], overrides?: Partial<C>): C;
  build(config: C, opts?: { init?: boolean }): M;
  /** Renames keys of foreign checkpoints (encoder-only, image-classification heads) in place before
   * loading; returns the keys it dropped and whether the task head is absent. */
  adaptStateDict?(sd: Map<string, Tensor>, model: M): { dropped: string[]; headMissing: boolean };
  /**
   * Writes the eval forward of `model` into `g` (src/export's GraphBuilder and shared layers) from the
   * NCHW pixel-values value and returns the NCHW logits value, so that `export` needs nothing per family.
   */
  onnx(model: M, g: GraphBuilder, pixelValues: string, o: EmitOptions): string;
}

const registry = new Map<string, ModelFamily<any, any>>();

export function registerFamily<C extends BaseSegConfig, M extends SegmentationModel<C>>(f: ModelFamily<C, M>): void {
  const had = registry.get(f.modelType);
  if (had && had !== f) throw new Error(`model family '${f.modelType}' is already registered`);
  registry.set(f.modelType, f);
}

export function getFamily(modelType: string): ModelFamily<any> {
  const f = registry.get(modelType);
  if (!f) throw new RangeError(`unknown model_type ${JSON.stringify(modelType)}: registered model types are ${[...registry.keys()].join(', ') || '(none)'}`);
  return f;
}

export function families(): ModelFamily<any>[] {
  return [...registry.values()];
}

/** Every accepted model name: 'family-variant' for all, plus each variant that only one family has. */
export function modelNames(): string[] {
  return [...nameTable().keys()];
}

function nameTable(): Map<string, { family: ModelFamily<any>; variant: string }> {
  const table = new Map<string, { family: ModelFamily<any>; variant: string }>();
  const owners = new Map<string, ModelFamily<any>[]>();
  for (const family of registry.values()) {
    for (const variant of Object.keys(family.variants)) {
      table.set(`${family.modelType}-${variant}`, { family, variant });
      owners.set(variant, [...(owners.get(variant) ?? []), family]);
    }
    for (const [alias, variant] of Object.entries(family.aliases ?? {})) table.set(alias, { family, variant });
  }
  for (const [variant, fams] of owners) if (fams.length === 1 && !table.has(variant)) table.set(variant, { family: fams[0]!, variant });
  return table;
}

/** 'segformer-b0' | 'b0' → { family, variant }; unknown names → an error listing every accepted one. */
export function resolveModelName(name: string): { family: ModelFamily<any>; variant: string } {
  const table = nameTable();
  const hit = table.get(name.trim().toLowerCase());
  if (!hit) throw new RangeError(`unknown model '${name}': expected one of ${[...table.keys()].join(', ')}`);
  return hit;
}

/** A freshly initialised model of a named variant with the given class names. */
export function createModel(name: string, labels: string[], overrides: Record<string, unknown> = {}): SegmentationModel {
  const { family, variant } = resolveModelName(name);
  return family.build(family.variantConfig(variant, labels, overrides));
}
