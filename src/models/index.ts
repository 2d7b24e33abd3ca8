// Every model family, imported so that the registry is full, and the model API in one place.
import './families.js';

export * from './contract.js';
export * from './loss.js';
export * from './registry.js';
export * from './hf.js';
export * from './checkpoint.js';
export { segformerFamily, SEGFORMER_VARIANTS, segformerConfig, parseSegformerConfig, SegformerForSemanticSegmentation, type SegformerConfig } from './segformer/index.js';
