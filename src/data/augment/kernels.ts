// The deterministic kernels behind the random ops, for callers that want fixed parameters.
export * from './geometry.js';
export * from './photometric.js';
