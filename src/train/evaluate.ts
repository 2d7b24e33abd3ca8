// Evaluation over a whole split: one confusion matrix accumulated over every labelled pixel (HF
// evaluate's mean_iou semantics), the exact split-wide weighted loss (Σ w_y·nll / Σ w_y, not a mean of
// batch means), per-image mIoU for the worst-images ranking, and a few images kept for the report. Over
// a video split (`sequence`), also flicker and consistency of consecutive frames, optionally smoothed.
// The network is a libtorch model or an onnxruntime session (EvalNet): the same scoring for both.
import type { DataLoader, Batch } from '../data/loader.js';
import { preprocessImage, scaledSize } from '../data/preprocess.js';
import { ConfusionMatrix } from '../metrics/confusion.js';
import { computeMetrics, imageMiou } from '../metrics/miou.js';
import { isScaleList, type SegmentationModel } from '../models/contract.js';
import { labelWeightSum, segmentationLoss } from '../models/loss.js';
import type { ReportSample } from '../report/types.js';
import { batchToTensors } from '../data/tensors.js';
import { sequenceKey, TemporalStream, type SmoothSpec } from '../temporal/index.js';
import { aten, dispose, F, float, fromArray, inferenceMode, tidy, type Tensor } from '../torch/index.js';
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

/** The frames a batch of evaluation scores: the loader's uint8 images (and their size) that its pixelValues normalise. */
export type Frames = Pick<Batch, 'images' | 'n' | 'height' | 'width'>;

/** Frame i of a batch, RGB HWC uint8 (a copy: reports and the temporal stream keep it). */
export function frameImage(b: Frames, i: number): Uint8Array {
  const n = b.height * b.width * 3;
  return b.images.slice(i * n, (i + 1) * n);
}

/**
 * One view's model input: at scale 1 the loader's normalised frames (pixelValues); at another scale each
 * frame resized to scaledSize and normalised by preprocessImage, exactly as predict and the web app make
 * their model input (and as the loader resizes training frames), so that eval and predict see the same
 * pixels. The tensor is the caller's to dispose unless it is pixelValues.
 */
function viewInput(frames: Frames, pixelValues: Tensor, scale: number): Tensor {
  if (scale === 1) return pixelValues;
  const { n, height: h, width: w } = frames;
  const size = scaledSize(h, w, scale);
  const frame = 3 * h * w;
  const plane = 3 * size.height * size.width;
  const out = new Float32Array(n * plane);
  for (let i = 0; i < n; i++) preprocessImage(frames.images.subarray(i * frame, (i + 1) * frame), w, h, size, out, i * plane);
  return fromArray(out, [n, 3, size.height, size.width]);
}

const toLabelSize = (logits: Tensor, h: number, w: number): Tensor => F.interpolate(logits, { size: [h, w], mode: 'bilinear', alignCorners: false });

/**
 * What evaluate() runs: a libtorch model, or an asynchronous network (onnxruntime on an exported graph)
 * from normalised pixels (N, C, H, W) to logits that the caller disposes. Both are scored by the same code.
 */
export type EvalNet = SegmentationModel | { forwardAsync(pixelValues: Tensor): Promise<Tensor> };

/** One pass of test-time augmentation: an input scale, mirrored or not. */
interface View {
  scale: number;
  flip: boolean;
}

function viewsOf(scales: readonly number[], flip: boolean): View[] {
  const views: View[] = [];
  for (const scale of scales) for (const f of flip ? [false, true] : [false]) views.push({ scale, flip: f });
  return views;
}

/** A view's model input: viewInput, mirrored for a flipped view. */
function viewPixels(frames: Frames, pixelValues: Tensor, v: View): Tensor {
  const x = viewInput(frames, pixelValues, v.scale);
  return v.flip ? aten.flip(x, [3]) : x;
}

/**
 * Class scores at the label size (h, w) from each view's logits: one plain pass's logits upsampled, or,
 * under test-time augmentation, the log of the softmax probabilities averaged over every scale and flip
 * (log-probabilities are valid logits: cross-entropy and argmax read them unchanged). With `withProbs`,
 * also what temporal smoothing takes: the class probabilities at the model's output size for one plain
 * view (where smoothing costs little), at the label size under test-time augmentation (the averaged ones).
 */
function scoresOfViews(logits: readonly Tensor[], views: readonly View[], h: number, w: number, withProbs: boolean): { up: Tensor; probs: Tensor | null } {
  const upsampled = (l: Tensor, v: View): Tensor => (v.flip ? aten.flip(toLabelSize(l, h, w), [3]) : toLabelSize(l, h, w));
  if (views.length === 1) return { up: upsampled(logits[0]!, views[0]!), probs: withProbs ? F.softmax(logits[0]!, 1) : null };
  let sum: Tensor | null = null;
  views.forEach((v, i) => {
    const p = F.softmax(upsampled(logits[i]!, v), 1);
    sum = sum ? sum.add(p) : p;
  });
  const up = sum!.div(float(views.length)).log();
  return { up, probs: withProbs ? F.softmax(up, 1) : null };
}

/**
 * Class scores at the label size of a batch's frames (pixelValues: their normalised tensor), under scales
 * and flip (scoresOfViews). Call inside tidy.
 */
export function labelSizeScores(model: SegmentationModel, frames: Frames, pixelValues: Tensor, scales: number[], flip: boolean): Tensor {
  const views = viewsOf(scales, flip);
  return scoresOfViews(views.map((v) => model.forward(viewPixels(frames, pixelValues, v)).logits), views, frames.height, frames.width, false).up;
}

/** labelSizeScores' scores (`up`) and the class probabilities temporal smoothing takes (scoresOfViews). */
export function smoothingScores(model: SegmentationModel, frames: Frames, pixelValues: Tensor, scales: number[], flip: boolean): { up: Tensor; probs: Tensor } {
  const views = viewsOf(scales, flip);
  const { up, probs } = scoresOfViews(views.map((v) => model.forward(viewPixels(frames, pixelValues, v)).logits), views, frames.height, frames.width, true);
  return { up, probs: probs! };
}

/**
 * Each view's logits of a batch, owned by the caller: in one synchronous pass for a libtorch model, view
 * by view through an asynchronous net (whose input is made, and freed, one view at a time).
 */
async function viewLogits(net: EvalNet, frames: Frames, pixelValues: Tensor, views: readonly View[]): Promise<Tensor[]> {
  if (!('forwardAsync' in net)) return inferenceMode(() => tidy(() => views.map((v) => net.forward(viewPixels(frames, pixelValues, v)).logits)));
  const out: Tensor[] = [];
  try {
    for (const v of views) {
      const x = inferenceMode(() => tidy(() => viewPixels(frames, pixelValues, v)));
      try {
        out.push(await net.forwardAsync(x));
      } finally {
        if (x !== pixelValues) x.dispose();
      }
    }
  } catch (e) {
    dispose(out);
    throw e;
  }
  return out;
}

export async function evaluate(net: EvalNet, loader: DataLoader, o: EvalOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const scales = o.scales ?? [1];
  if (!isScaleList(scales)) throw new RangeError(`evaluate: scales ${JSON.stringify(scales)}: expected positive numbers`);
  // a rank's shard is not a run of consecutive frames
  if (o.sequence && o.sumAcrossRanks) throw new RangeError('evaluate: sequence metrics need the whole split in one process, not shards across ranks');
  const cm = new ConfusionMatrix(o.numClasses, o.ignoreIndex);
  const model = 'forwardAsync' in net ? null : net;
  const wasTraining = model?.training ?? false;
  model?.eval();
  const views = viewsOf(scales, !!o.flip);
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
      const { pixelValues, labels } = inferenceMode(() => batchToTensors(batch));
      let logits: Tensor[] = [];
      let scored;
      try {
        logits = await viewLogits(net, batch, pixelValues, views);
        scored = inferenceMode(() =>
          tidy(() => {
            const { up, probs: pr } = scoresOfViews(logits, views, batch.height, batch.width, smoothing);
            const predT = up.argmax(1);
            if (!smoothing) cm.update(predT, labels);
            const loss = segmentationLoss(up, labels, { weight: o.weight, ignoreIndex: o.ignoreIndex, reduction: 'sum' });
            const wsum = labelWeightSum(labels, o.weight, o.ignoreIndex);
            return {
              pred: predT.to('uint8').toArray() as Uint8Array,
              probs: pr ? { data: pr.toArray() as Float32Array, height: pr.size(2), width: pr.size(3) } : null,
              l: loss.item(),
              ws: wsum.item(),
            };
          }),
        );
      } finally {
        dispose([pixelValues, labels, logits]);
      }
      const { pred, probs, l, ws } = scored;
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
          p = stream.frame(probs ? { ...frame, probs: { ...probs, data: probs.data.subarray(i * ph, (i + 1) * ph) }, image: { data: frameImage(batch, i), width: batch.width, height: batch.height } } : frame);
          if (smoothing) cm.update(p, t);
        }
        const miou = imageMiou(p, t, o.numClasses, o.ignoreIndex);
        const id = batch.ids[i]!;
        perImage.push({ id, miou });
        const keepSample = samples.length < nSamples;
        const worstCut = worst.length < nWorst || (worst.length > 0 && miou < worst[worst.length - 1]!.miou!);
        if (keepSample || (nWorst > 0 && worstCut)) {
          const s: ReportSample = { id, width: batch.width, height: batch.height, image: frameImage(batch, i), label: t.slice(), pred: p.slice(), miou };
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
    if (wasTraining) model?.train();
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
