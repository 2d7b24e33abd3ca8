// The runtime interface of `predict`: a batch of preprocessed images in, one class-id map per image out.
// Both runtimes end the same way (classIdsFromLogits): the logits are upsampled bilinearly
// (align_corners=False) to each image's output size and argmax'd over classes, as evaluation does.
import type { Plane } from '../temporal/index.js';
import { F, inferenceMode, tidy, type Tensor } from '../torch/index.js';

// Evaluation's preprocessing (resize as the loader does, ImageNet normalisation), shared with the web app.
export { preprocessImage } from '../data/preprocess.js';

export interface SegmentBatch {
  /** (n, 3, height, width) float32, normalised like evaluation's inputs (preprocessImage). */
  pixels: Float32Array;
  n: number;
  height: number;
  width: number;
  /** Each image's output size (the logits are upsampled to it). */
  sizes: readonly { height: number; width: number }[];
}

/** Class ids of an image and its class probabilities at the model's output size (what a smoother takes). */
export interface SegmentedWithProbabilities {
  ids: Uint8Array;
  probs: Plane<Float32Array>;
}

export interface Segmenter {
  readonly runtime: 'torch' | 'onnx';
  /** Class names in id order (the checkpoint's id2label). */
  readonly labels: readonly string[];
  /** Class ids (height·width uint8, row-major) of each image of the batch. */
  segment(batch: SegmentBatch): Promise<Uint8Array[]>;
  /** The same ids, with each image's softmax probabilities (class-major) at the model's output size. */
  segmentWithProbabilities(batch: SegmentBatch): Promise<SegmentedWithProbabilities[]>;
  dispose(): void;
}

/** The class-id PNGs are 8-bit: a model with more classes cannot be written. */
export function checkLabelCount(labels: readonly string[], where: string): void {
  if (labels.length < 1 || labels.length > 256) throw new Error(`${where}: ${labels.length} labels; predict writes 8-bit class-id PNGs, so 1 to 256 labels are supported`);
}

/** Logits (n, C, h, w) → per image, argmax over C of the logits bilinearly upsampled to sizes[i]. */
export function classIdsFromLogits(logits: Tensor, sizes: SegmentBatch['sizes']): Uint8Array[] {
  return inferenceMode(() =>
    tidy(() => {
      const n = logits.size(0);
      if (n !== sizes.length) throw new RangeError(`classIdsFromLogits: ${n} logits but ${sizes.length} output sizes`);
      const same = sizes.every((s) => s.height === sizes[0]!.height && s.width === sizes[0]!.width);
      const ids = (x: Tensor, s: { height: number; width: number }): Tensor =>
        F.interpolate(x, { size: [s.height, s.width], mode: 'bilinear', alignCorners: false }).argmax(1).to('uint8');
      if (same) {
        const all = ids(logits, sizes[0]!).toArray() as Uint8Array;
        const hw = sizes[0]!.height * sizes[0]!.width;
        return sizes.map((_, i) => all.slice(i * hw, (i + 1) * hw));
      }
      return sizes.map((s, i) => ids(logits.narrow(0, i, 1), s).toArray() as Uint8Array);
    }),
  );
}

/** classIdsFromLogits, plus each image's softmax over classes at the logits' own size. */
export function idsAndProbabilities(logits: Tensor, sizes: SegmentBatch['sizes']): SegmentedWithProbabilities[] {
  const ids = classIdsFromLogits(logits, sizes);
  const [, k, height, width] = logits.shape as [number, number, number, number];
  const all = inferenceMode(() => tidy(() => F.softmax(logits, 1).toArray() as Float32Array));
  const plane = k * height * width;
  return ids.map((id, i) => ({ ids: id, probs: { data: all.subarray(i * plane, (i + 1) * plane), width, height } }));
}
