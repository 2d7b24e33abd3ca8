// Evaluation over a whole split: one confusion matrix accumulated over every labelled pixel (HF
// evaluate's mean_iou semantics), the exact split-wide weighted loss (Σ w_y·nll / Σ w_y, not a mean of
// batch means), per-image mIoU for the worst-images ranking, and a few images kept for the report. Over
// a video split (`sequence`), also flicker and consistency of consecutive frames, optionally smoothed.
import type { DataLoader, Batch } from '../data/loader.js';
import { IMAGENET } from '../data/preprocess.js';
import { ConfusionMatrix } from '../metrics/confusion.js';
import { computeMetrics, imageMiou } from '../metrics/miou.js';
import { isScaleList, scaledSize, type SegmentationModel } from '../models/contract.js';
import { labelWeightSum, segmentationLoss } from '../models/loss.js';
import type { ReportSample } from '../report/types.js';
import { batchToTensors } from '../data/tensors.js';
import { sequenceKey, TemporalStream, type SmoothSpec } from '../temporal/index.js';
import { aten, F, float, inferenceMode, tidy, type Tensor } from '../torch/index.js';
import type { EvalResult } from './callback.js';

export interface EvalOptions {
  numClasses: number;
  ignoreIndex: number;
  weight: Tensor | null;
  /** images kept for the report's grid (the first ones in loader order) */
  samples?: number;
  /** worst images (by their own mIoU) kept for the report */
  worst?: number;
  epoch?: number;
  step?: number;
  /**
   * Data-parallel evaluation: sums [confusion matrix…, loss sum, weight sum, images] across ranks in
   * place (each rank evaluated its shard), so the metrics are the whole split's.
   */
  sumAcrossRanks?: (totals: Float64Array) => void;
  /**
   * Input scales relative to the loader's frame size (default [1]). Each scale's logits are upsampled to
   * the label size, so metrics always count the labels' own pixels. One scale ≠ 1 is inference at another
   * resolution (a model trained on half-size frames evaluated at half size against full-size labels);
   * several scales, or `flip`, are test-time augmentation: the softmax probabilities are averaged.
   */
  scales?: number[];
  /** test-time augmentation: also run the horizontally mirrored input and average */
  flip?: boolean;
  /** called after each batch (progress) */
  onBatch?: (done: number, total: number) => void;
  /**
   * The loader's frames are video frames in order (sequences split where sequenceKey of the id changes):
   * the result gets `temporal` (flicker, consistency). With `smooth`, the class probabilities are smoothed
   * over time and every metric (confusion, per-image mIoU, samples) scores the smoothed predictions; the
   * loss stays the per-frame model's.
   */
  sequence?: { smooth?: SmoothSpec | null };
}

/** Undoes the loader's ImageNet normalisation: NCHW float → HWC RGB uint8 of image i. */
export function denormalize(b: Batch, i: number): Uint8Array {
  const { height: h, width: w } = b;
  const hw = h * w;
  const out = new Uint8Array(hw * 3);
  const base = i * 3 * hw;
  for (let c = 0; c < 3; c++) {
    const m = IMAGENET.mean[c]!;
    const s = IMAGENET.std[c]!;
    for (let p = 0; p < hw; p++) {
      const v = (b.pixelValues[base + c * hw + p]! * s + m) * 255;
      out[p * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    }
  }
  return out;
}

/**
 * One view's model input: the frames at `scale` of (h, w). Plain bilinear (align_corners false), the
 * loader's own resize of training frames (resizeImageRgb), so that a model trained on resized frames sees
 * the same filtering here. At exactly half size it is a 2×2 box filter.
 */
function viewInput(pixelValues: Tensor, h: number, w: number, scale: number): Tensor {
  if (scale === 1) return pixelValues;
  const s = scaledSize(h, w, scale, 1);
  return F.interpolate(pixelValues, { size: [s.height, s.width], mode: 'bilinear' });
}

const toLabelSize = (logits: Tensor, h: number, w: number): Tensor => F.interpolate(logits, { size: [h, w], mode: 'bilinear', alignCorners: false });

/**
 * Class scores at the label size (h, w) for a batch of normalised frames: the logits of one plain pass,
 * or, under test-time augmentation, the log of the softmax probabilities averaged over every scale and
 * flip (log-probabilities are valid logits: cross-entropy and argmax read them unchanged).
 */
export function labelSizeScores(model: SegmentationModel, pixelValues: Tensor, h: number, w: number, scales: number[], flip: boolean): Tensor {
  const views: { scale: number; flip: boolean }[] = [];
  for (const scale of scales) for (const f of flip ? [false, true] : [false]) views.push({ scale, flip: f });
  const one = (v: { scale: number; flip: boolean }): Tensor => {
    let x = viewInput(pixelValues, h, w, v.scale);
    if (v.flip) x = aten.flip(x, [3]);
    const up = toLabelSize(model.forward(x).logits, h, w);
    return v.flip ? aten.flip(up, [3]) : up;
  };
  if (views.length === 1) return one(views[0]!);
  let sum: Tensor | null = null;
  for (const v of views) {
    const p = F.softmax(one(v), 1);
    sum = sum ? sum.add(p) : p;
  }
  return sum!.div(float(views.length)).log();
}

/**
 * What temporal smoothing needs besides labelSizeScores' scores (`up`, the same numbers): the class
 * probabilities to smooth, at the model's output size for one plain view (where smoothing costs little), at
 * the label size under test-time augmentation (the averaged probabilities).
 */
export function smoothingScores(model: SegmentationModel, pixelValues: Tensor, h: number, w: number, scales: number[], flip: boolean): { up: Tensor; probs: Tensor } {
  if (scales.length === 1 && !flip) {
    const logits = model.forward(viewInput(pixelValues, h, w, scales[0]!)).logits;
    return { up: toLabelSize(logits, h, w), probs: F.softmax(logits, 1) };
  }
  const up = labelSizeScores(model, pixelValues, h, w, scales, flip);
  return { up, probs: F.softmax(up, 1) };
}

export async function evaluate(model: SegmentationModel, loader: DataLoader, o: EvalOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const scales = o.scales ?? [1];
  if (!isScaleList(scales)) throw new RangeError(`evaluate: scales ${JSON.stringify(scales)}: expected positive numbers`);
  // a rank's shard is not a run of consecutive frames
  if (o.sequence && o.sumAcrossRanks) throw new RangeError('evaluate: sequence metrics need the whole split in one process, not shards across ranks');
  const cm = new ConfusionMatrix(o.numClasses, o.ignoreIndex);
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  let weightSum = 0;
  let n = 0;
  const perImage: { id: string; miou: number }[] = [];
  const samples: ReportSample[] = [];
  let worst: ReportSample[] = [];
  const nSamples = o.samples ?? 0;
  const nWorst = o.worst ?? 0;
  const total = loader.batchesPerEpoch;
  let done = 0;
  const stream = o.sequence ? new TemporalStream({ numClasses: o.numClasses, smooth: o.sequence.smooth ?? null, ignoreIndex: o.ignoreIndex }) : null;
  const smoothing = stream?.smoothing ?? false;
  try {
    for await (const batch of loader.epoch(0)) {
      const { pred, probs, l, ws } = inferenceMode(() =>
        tidy(() => {
          const { pixelValues, labels } = batchToTensors(batch);
          const sm = smoothing ? smoothingScores(model, pixelValues, batch.height, batch.width, scales, !!o.flip) : null;
          const up = sm?.up ?? labelSizeScores(model, pixelValues, batch.height, batch.width, scales, !!o.flip);
          const predT = up.argmax(1);
          if (!smoothing) cm.update(predT, labels);
          const loss = segmentationLoss(up, labels, { weight: o.weight, ignoreIndex: o.ignoreIndex, reduction: 'sum' });
          const wsum = labelWeightSum(labels, o.weight, o.ignoreIndex);
          return {
            pred: predT.to('uint8').toArray() as Uint8Array,
            probs: sm ? { data: sm.probs.toArray() as Float32Array, height: sm.probs.size(2), width: sm.probs.size(3) } : null,
            l: loss.item(),
            ws: wsum.item(),
          };
        }),
      );
      lossSum += l;
      weightSum += ws;
      const hw = batch.height * batch.width;
      for (let i = 0; i < batch.n; i++) {
        let p = pred.subarray(i * hw, (i + 1) * hw);
        const t = batch.labels.subarray(i * hw, (i + 1) * hw);
        if (stream) {
          const id = batch.ids[i]!;
          const frame = { id, sequence: sequenceKey(id), width: batch.width, height: batch.height, ids: p, label: t };
          const ph = probs ? probs.height * probs.width * o.numClasses : 0;
          p = stream.frame(probs ? { ...frame, probs: { ...probs, data: probs.data.subarray(i * ph, (i + 1) * ph) }, image: { data: denormalize(batch, i), width: batch.width, height: batch.height } } : frame);
          if (smoothing) cm.update(p, t);
        }
        const miou = imageMiou(p, t, o.numClasses, o.ignoreIndex);
        const id = batch.ids[i]!;
        perImage.push({ id, miou });
        const keepSample = samples.length < nSamples;
        const worstCut = worst.length < nWorst || (worst.length > 0 && miou < worst[worst.length - 1]!.miou!);
        if (keepSample || (nWorst > 0 && worstCut)) {
          const s: ReportSample = { id, width: batch.width, height: batch.height, image: denormalize(batch, i), label: t.slice(), pred: p.slice(), miou };
          if (keepSample) samples.push(s);
          if (nWorst > 0 && worstCut) {
            worst.push(s);
            // NaN (nothing labelled) sorts last: it says nothing about failure modes.
            worst.sort((a, b) => (Number.isNaN(a.miou!) ? 1 : Number.isNaN(b.miou!) ? -1 : a.miou! - b.miou!));
            worst = worst.slice(0, nWorst);
          }
        }
      }
      n += batch.n;
      o.onBatch?.(++done, total);
      await new Promise<void>((r) => setImmediate(r)); // let Node finalise freed handles (see architecture.md)
    }
  } finally {
    if (wasTraining) model.train();
  }
  let confusion = cm.matrix.slice();
  if (o.sumAcrossRanks) {
    const k = confusion.length;
    const totals = new Float64Array(k + 3);
    totals.set(confusion);
    totals.set([lossSum, weightSum, n], k);
    o.sumAcrossRanks(totals);
    confusion = totals.slice(0, k);
    [lossSum, weightSum, n] = [totals[k]!, totals[k + 1]!, totals[k + 2]!];
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    epoch: o.epoch ?? 0,
    step: o.step ?? 0,
    loss: weightSum > 0 ? lossSum / weightSum : NaN,
    metrics: computeMetrics(confusion, o.numClasses),
    confusion,
    numImages: n,
    seconds,
    imagesPerSecond: n / seconds,
    perImage,
    samples,
    worst,
    ...(stream ? { temporal: stream.result() } : {}),
  };
}
