// Augmentation for segmentation samples: pure TypeScript on typed arrays, deterministic per
// (seed, epoch, index). See types.ts for the model, ops.ts (geometric-ops.ts, photometric-ops.ts) for the
// ops and pipeline.ts for the presets.
export type { AugmentContext, BorderMode, Op, OpName, OpSpec, Range, Sample } from './types.js';
export * as kernels from './kernels.js';
export {
  affine,
  brightnessContrast,
  clahe,
  colorJitter,
  compose,
  fromSpec,
  gamma,
  gridDistortion,
  hflip,
  oneOf,
  padCrop,
  randomScale,
  recipeJitter,
  resize,
  rotate90,
  runOp,
  shiftScaleRotate,
  vflip,
} from './ops.js';
export type { AffineOptions, GridDistortionOptions, ShiftScaleRotateOptions } from './ops.js';
export { buildPreset, fromPipelineSpec, pipeline, PRESET_NAMES } from './pipeline.js';
export type { Pipeline, PipelineSpec, PresetName, PresetOptions } from './pipeline.js';
