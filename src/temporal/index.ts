// Temporal stability of video segmentation: metrics (flicker, consistency) and smoothing of per-frame class
// probabilities. Dependency-free (typed arrays in, typed arrays and numbers out), for Node and browsers.
export { labelFlicker, pairConsistency, pairFlicker, sequenceKey, summarizePairs, TemporalMeter, type PairStat, type TemporalFrame, type TemporalMetrics } from './metrics.js';
export { argmaxClasses, upsampleArgmax } from '../data/class-map.js';
export { areaResizeRgb, AUTO_SMOOTH, configSmooth, DEFAULT_SMOOTH, formatSmoothSpec, meanFrameDifference, parseSmoothSpec, SMOOTH_KEY, SMOOTH_METHODS, SmoothSpecError, TemporalSmoother, type SmoothMethod, type SmoothSpec, type SmoothStep } from './smooth.js';
export { TemporalStream, type Plane, type StreamFrame, type StreamResult } from './stream.js';
export { blockMotion, gridSize, resizePlanes } from './flow.js';
