// Inference on images, folders and videos (`streetseg predict`), with the libtorch or onnxruntime runtime.
export { predict, type PredictOptions, type PredictSummary } from './predict.js';
export { expandInputs, IMAGE_EXTENSIONS, type PredictInput } from './inputs.js';
export { classIdsFromLogits, preprocessImage, type SegmentBatch, type Segmenter } from './segmenter.js';
export { TorchSegmenter } from './torch-runtime.js';
export { OnnxSegmenter } from './onnx-runtime.js';
export { blendOverlay, labelPalette, type LabelPalette } from './colors.js';
export { colorMask, encodePng, writeImageOutputs, type ImageResult } from './outputs.js';
export { decodeFrames, probeMedia, probeVideo, VideoEncoder, type VideoInfo } from './video.js';
