// The public tensor engine: tensors, ops, nn, optim, serialization.
export * from './tensor.js';
export * from './memory.js';
export * from './factories.js';
export * from './modes.js';
export * from './rng.js';
export * from './profile.js';
export * as F from './ops.js';
export * as aten from './generated/aten.js';
export * from './nn/module.js';
export * from './nn/layers.js';
export * from './optim/adam.js';
export * from './optim/schedule.js';
export * from './optim/clip.js';
export { readStateDict, detectCheckpointFormat, readSafetensors, writeSafetensors, parseSafetensors, encodeSafetensors, readTorchBin, SHARD_INDEX_FILES, checkRelativeFileName, parseShardIndex, weightsBytes, type RawTensor } from './serialization/index.js';
export * from './serialization/tensors.js';
