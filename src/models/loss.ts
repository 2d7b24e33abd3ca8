// HF's semantic-segmentation loss (logits upsampled bilinearly, align_corners=False, to the label
// size, then weighted cross-entropy with an ignore index), plus focal loss normalised the same way,
// and the weight sum the trainer needs for exact weighted means over a whole split.
import { F, float, tidy, zerosLike, type Tensor } from '../torch/index.js';
import type { SegLossOptions } from './contract.js';

export type SegLossReduction = 'mean' | 'sum';

/**
 * Loss of logits (N, C, h, w) against labels (N, H, W) int64, after upsampling the logits to H×W.
 * mean: Σ w_y·ℓ / Σ w_y over non-ignored pixels (torch's weighted mean); sum: Σ w_y·ℓ.
 */
export function segmentationLoss(logits: Tensor, labels: Tensor, o: SegLossOptions & { reduction?: SegLossReduction } = {}): Tensor {
  // Its own scope: the upsampled logits (N×C×H×W at label size, the largest tensor of a step) are not
  // saved for backward, so they go as soon as the loss exists rather than at the end of the step.
  return tidy(() => lossAtLabelSize(logits, labels, o));
}

function lossAtLabelSize(logits: Tensor, labels: Tensor, o: SegLossOptions & { reduction?: SegLossReduction }): Tensor {
  const [hl, wl] = labels.shape.slice(-2) as [number, number];
  // Already at the labels' size (evaluation upsamples once for argmax and loss): bilinear to the same size
  // is the identity, so skip a pass over N×C×H×W.
  const [hs, ws] = logits.shape.slice(-2) as [number, number];
  const up = hs === hl && ws === wl ? logits : F.interpolate(logits, { size: [hl, wl], mode: 'bilinear', alignCorners: false });
  const ignoreIndex = o.ignoreIndex ?? 255;
  const reduction = o.reduction ?? 'mean';
  const gamma = o.focalGamma ?? 0;
  const smoothing = o.labelSmoothing ?? 0;
  if (!(gamma >= 0)) throw new RangeError(`segmentationLoss: focalGamma must be ≥ 0, got ${gamma}`);
  if (!(smoothing >= 0 && smoothing <= 1)) throw new RangeError(`segmentationLoss: labelSmoothing must be in [0, 1], got ${smoothing}`);
  if (gamma === 0) return F.crossEntropy(up, labels, { weight: o.weight ?? null, ignoreIndex, labelSmoothing: smoothing, reduction });
  // Focal loss has no smoothed form in torch; mixing the two would be a loss nobody defined.
  if (smoothing > 0) throw new RangeError('segmentationLoss: focalGamma and labelSmoothing cannot be combined');
  const w = pixelWeights(labels, o.weight ?? null, ignoreIndex);
  const logp = F.gather(F.logSoftmax(up, 1), 1, w.target.unsqueeze(1)).squeeze(1);
  // 1 - p_y is clamped away from 0 so that (1-p)^γ keeps a finite gradient for γ < 1.
  const oneMinusP = logp.exp().neg().add(1).clamp(float(1e-30));
  const total = oneMinusP.pow(float(gamma)).mul(logp).mul(w.weights).sum().neg();
  return reduction === 'sum' ? total : total.div(w.weights.sum());
}

/** Σ w_y over the non-ignored pixels of labels (their count without weights), as a float32 scalar. */
export function labelWeightSum(labels: Tensor, weight: Tensor | null, ignoreIndex: number): Tensor {
  return pixelWeights(labels, weight, ignoreIndex).weights.sum();
}

// Per pixel: w_y (1 without weights), 0 where ignored; and the labels with ignored pixels set to
// class 0, so that they can index (their terms are zeroed by the weights).
function pixelWeights(labels: Tensor, weight: Tensor | null, ignoreIndex: number): { weights: Tensor; target: Tensor } {
  const valid = labels.ne(ignoreIndex);
  const target = F.where(valid, labels, zerosLike(labels));
  const mask = valid.to(weight?.dtype ?? 'float32');
  if (!weight) return { weights: mask, target };
  return { weights: weight.indexSelect(0, target.flatten()).view(labels.shape).mul(mask), target };
}
