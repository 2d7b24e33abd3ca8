// A K×K confusion matrix accumulated over a whole evaluation (rows = truth, columns = prediction).
// Segmentation metrics are ratios of dataset-wide sums (HF evaluate's mean_iou), so the matrix is the only
// state an evaluation needs: shards merge by addition, and every metric is computed from it at the end.
import { F, noGrad, Tensor, tidy } from '../torch/index.js';

/** Label maps as plain arrays: what decoders and tests hold. BigInt64Array is what int64 tensors give back. */
export type LabelArray = ArrayLike<number> | BigInt64Array;
export type LabelInput = Tensor | LabelArray;

export interface ConfusionMatrixJson {
  numClasses: number;
  ignoreIndex: number;
  matrix: number[];
}

const INT_DTYPES = new Set(['int64', 'int32', 'int16', 'int8', 'uint8']);

export class ConfusionMatrix {
  readonly numClasses: number;
  readonly ignoreIndex: number;
  // Counts stay exact in float64 up to 2^53 pixels, far beyond any dataset.
  private readonly counts: Float64Array;

  constructor(numClasses: number, ignoreIndex = 255) {
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`ConfusionMatrix: numClasses must be a positive integer, got ${numClasses}`);
    if (!Number.isInteger(ignoreIndex)) throw new RangeError(`ConfusionMatrix: ignoreIndex must be an integer, got ${ignoreIndex}`);
    this.numClasses = numClasses;
    this.ignoreIndex = ignoreIndex;
    this.counts = new Float64Array(numClasses * numClasses);
  }

  /**
   * Adds one batch. pred and target: integer tensors of the same shape, or arrays of equal length.
   * Pixels whose target is ignoreIndex are skipped (whatever their prediction); any other target or
   * prediction outside [0, numClasses) is an error naming the value.
   */
  update(pred: LabelInput, target: LabelInput): void {
    const pt = pred instanceof Tensor;
    const tt = target instanceof Tensor;
    if (pt !== tt) throw new TypeError('ConfusionMatrix.update: pred and target must both be tensors or both be arrays');
    if (pt && tt) this.updateTensor(pred, target);
    else this.updateArray(pred as LabelArray, target as LabelArray);
  }

  /** Adds another matrix's counts (evaluation shards, distributed ranks). */
  add(other: ConfusionMatrix): void {
    if (other.numClasses !== this.numClasses || other.ignoreIndex !== this.ignoreIndex) {
      throw new RangeError(
        `ConfusionMatrix.add: cannot merge a ${other.numClasses}-class matrix (ignoreIndex ${other.ignoreIndex}) ` +
          `into a ${this.numClasses}-class one (ignoreIndex ${this.ignoreIndex})`,
      );
    }
    const src = other.counts;
    for (let i = 0; i < src.length; i++) this.counts[i]! += src[i]!;
  }

  /** K*K counts, row-major: matrix[truth * K + pred]. A copy; mutating it does not change the matrix. */
  get matrix(): Float64Array {
    return this.counts.slice();
  }

  reset(): void {
    this.counts.fill(0);
  }

  toJSON(): ConfusionMatrixJson {
    return { numClasses: this.numClasses, ignoreIndex: this.ignoreIndex, matrix: Array.from(this.counts) };
  }

  static fromJSON(j: unknown): ConfusionMatrix {
    const o = j as Partial<ConfusionMatrixJson> | null;
    if (o === null || typeof o !== 'object') throw new TypeError(`ConfusionMatrix.fromJSON: expected an object, got ${o === null ? 'null' : typeof o}`);
    if (typeof o.numClasses !== 'number') throw new TypeError(`ConfusionMatrix.fromJSON: numClasses must be a number, got ${typeof o.numClasses}`);
    if (typeof o.ignoreIndex !== 'number') throw new TypeError(`ConfusionMatrix.fromJSON: ignoreIndex must be a number, got ${typeof o.ignoreIndex}`);
    const cm = new ConfusionMatrix(o.numClasses, o.ignoreIndex);
    const m = o.matrix;
    const n = cm.counts.length;
    if (!Array.isArray(m) || m.length !== n) {
      throw new RangeError(`ConfusionMatrix.fromJSON: matrix must be an array of ${n} counts (${cm.numClasses}²), got ${Array.isArray(m) ? `${m.length} entries` : typeof m}`);
    }
    for (let i = 0; i < n; i++) {
      const v: unknown = m[i];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new RangeError(`ConfusionMatrix.fromJSON: matrix[${i}] must be a non-negative integer count, got ${String(v)}`);
      cm.counts[i] = v;
    }
    return cm;
  }

  // Per-pixel loop in JS: for label maps already in JS memory (decoded PNGs, tests).
  private updateArray(pred: LabelArray, target: LabelArray): void {
    if (pred.length !== target.length) throw new RangeError(`ConfusionMatrix.update: pred has ${pred.length} pixels, target ${target.length}`);
    const K = this.numClasses;
    const ignore = this.ignoreIndex;
    const c = this.counts;
    // Validate first so that a bad pixel leaves the matrix unchanged (a caller may catch and go on).
    for (let i = 0; i < target.length; i++) {
      const t = Number(target[i]);
      if (t === ignore) continue;
      if (!Number.isInteger(t) || t < 0 || t >= K) throw new RangeError(`ConfusionMatrix.update: target value ${t} at index ${i} is outside [0, ${K}) and is not the ignore index ${ignore}`);
      const p = Number(pred[i]);
      if (!Number.isInteger(p) || p < 0 || p >= K) throw new RangeError(`ConfusionMatrix.update: predicted class ${p} at index ${i} is outside [0, ${K})`);
    }
    for (let i = 0; i < target.length; i++) {
      const t = Number(target[i]);
      if (t !== ignore) c[t * K + Number(pred[i])]! += 1;
    }
  }

  // Everything on the libtorch side: range checks are four reductions, counting is one bincount of
  // target*K + pred with ignored pixels sent to an extra bin K*K that is dropped.
  private updateTensor(pred: Tensor, target: Tensor): void {
    for (const [name, t] of [['pred', pred], ['target', target]] as const) {
      if (!INT_DTYPES.has(t.dtype)) throw new TypeError(`ConfusionMatrix.update: ${name} must be an integer tensor (class ids), got ${t.dtype}`);
    }
    if (pred.shape.join(',') !== target.shape.join(',')) {
      throw new RangeError(`ConfusionMatrix.update: pred shape [${pred.shape}] differs from target shape [${target.shape}]`);
    }
    if (target.numel === 0) return;
    const K = this.numClasses;
    const counts = noGrad(() =>
      tidy(() => {
        const t = target.long().flatten();
        const p = pred.long().flatten();
        const ignored = t.eq(this.ignoreIndex);
        const tz = F.maskedFill(t, ignored, 0);
        const pz = F.maskedFill(p, ignored, 0);
        const tMin = tz.min().item();
        const tMax = tz.max().item();
        if (tMin < 0 || tMax >= K) {
          throw new RangeError(`ConfusionMatrix.update: target value ${tMin < 0 ? tMin : tMax} is outside [0, ${K}) and is not the ignore index ${this.ignoreIndex}`);
        }
        const pMin = pz.min().item();
        const pMax = pz.max().item();
        if (pMin < 0 || pMax >= K) throw new RangeError(`ConfusionMatrix.update: predicted class ${pMin < 0 ? pMin : pMax} is outside [0, ${K})`);
        const idx = F.maskedFill(tz.mul(K).add(pz), ignored, K * K);
        return F.bincount(idx, K * K + 1).toArray() as BigInt64Array;
      }),
    );
    for (let i = 0; i < K * K; i++) this.counts[i]! += Number(counts[i]);
  }
}
