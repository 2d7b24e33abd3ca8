// Segmentation metrics with HuggingFace evaluate's `mean_iou` semantics: intersections and unions are
// summed over the whole dataset first (not averaged per image); IoU_c = TP/(TP+FP+FN), Acc_c = TP/(TP+FN);
// a class with a zero denominator is NaN and left out of the means (numpy's nanmean); overall accuracy
// is ΣTP / Σ labelled pixels. Ignored pixels never reach the confusion matrix.
import { writeFileAtomic } from '../util/fs.js';
import { ConfusionMatrix, type LabelInput } from './confusion.js';

/** A metric as `streetseg eval` prints it (4 decimals; n/a where undefined): the zoo cards quote these digits. */
export const formatMetric = (v: number): string => (Number.isFinite(v) ? v.toFixed(4) : ' n/a ');

export interface SegMetrics {
  meanIou: number;
  meanAccuracy: number;
  overallAccuracy: number;
  /** NaN where the class is absent from both truth and prediction. */
  perClassIou: number[];
  /** NaN where the class is absent from the truth. */
  perClassAccuracy: number[];
  /** Labelled (non-ignored) pixels counted. */
  numPixels: number;
}

/** Mean of the non-NaN values; NaN when there are none (numpy's nanmean, without the warning). */
function nanMean(xs: readonly number[]): number {
  let sum = 0;
  let n = 0;
  for (const x of xs) {
    if (!Number.isNaN(x)) {
      sum += x;
      n++;
    }
  }
  return n > 0 ? sum / n : NaN;
}

export function computeMetrics(cm: ConfusionMatrix | Float64Array, numClasses?: number): SegMetrics {
  let m: Float64Array;
  let K: number;
  if (cm instanceof ConfusionMatrix) {
    if (numClasses !== undefined && numClasses !== cm.numClasses) throw new RangeError(`computeMetrics: numClasses ${numClasses} differs from the matrix's ${cm.numClasses}`);
    m = cm.matrix;
    K = cm.numClasses;
  } else {
    m = cm;
    K = numClasses ?? Math.round(Math.sqrt(m.length));
    if (!Number.isInteger(K) || K < 1 || K * K !== m.length) {
      throw new RangeError(`computeMetrics: a confusion matrix of ${m.length} entries is not ${numClasses === undefined ? 'square' : `${numClasses}×${numClasses}`}`);
    }
  }
  const perClassIou: number[] = [];
  const perClassAccuracy: number[] = [];
  let tpSum = 0;
  let total = 0;
  for (let c = 0; c < K; c++) {
    let truth = 0; // TP + FN: row sum
    let predicted = 0; // TP + FP: column sum
    for (let j = 0; j < K; j++) {
      truth += m[c * K + j]!;
      predicted += m[j * K + c]!;
    }
    const tp = m[c * K + c]!;
    const union = truth + predicted - tp;
    perClassIou.push(union > 0 ? tp / union : NaN);
    perClassAccuracy.push(truth > 0 ? tp / truth : NaN);
    tpSum += tp;
    total += truth;
  }
  return {
    meanIou: nanMean(perClassIou),
    meanAccuracy: nanMean(perClassAccuracy),
    overallAccuracy: total > 0 ? tpSum / total : NaN,
    perClassIou,
    perClassAccuracy,
    numPixels: total,
  };
}

function checkNames(what: string, names: readonly string[], K: number): void {
  if (names.length !== K) throw new RangeError(`${what}: ${names.length} class names given for ${K} classes`);
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new RangeError(`${what}: class name "${n}" appears twice`);
    seen.add(n);
  }
}

const nullIfNaN = (x: number): number | null => (Number.isNaN(x) ? null : x);

/** The report JSON's shape, per-class values keyed by class name; NaN (not measurable) becomes null. */
export function metricsJson(m: SegMetrics, names: string[]): Record<string, unknown> {
  checkNames('metricsJson', names, m.perClassIou.length);
  const byName = (xs: number[]): Record<string, number | null> => Object.fromEntries(names.map((n, i) => [n, nullIfNaN(xs[i]!)]));
  return {
    meanIou: nullIfNaN(m.meanIou),
    meanAccuracy: nullIfNaN(m.meanAccuracy),
    overallAccuracy: nullIfNaN(m.overallAccuracy),
    perClassIou: byName(m.perClassIou),
    perClassAccuracy: byName(m.perClassAccuracy),
  };
}

/** RFC 4180 quoting, only where needed. */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** confusion.csv: header "truth\pred,<names...>", then one row per truth class with its counts. Atomic. */
export function writeConfusionCsv(file: string, cm: ConfusionMatrix, names: string[]): void {
  const K = cm.numClasses;
  checkNames(`writeConfusionCsv(${file})`, names, K);
  const m = cm.matrix;
  const lines = [['truth\\pred', ...names].map(csvField).join(',')];
  for (let t = 0; t < K; t++) lines.push([csvField(names[t]!), ...Array.from(m.subarray(t * K, (t + 1) * K), String)].join(','));
  writeFileAtomic(file, lines.join('\n') + '\n');
}

/** One image's mIoU (for ranking best/worst predictions): nanmean over classes present in truth or prediction. */
export function imageMiou(pred: LabelInput, target: LabelInput, numClasses: number, ignoreIndex = 255): number {
  const cm = new ConfusionMatrix(numClasses, ignoreIndex);
  cm.update(pred, target);
  return computeMetrics(cm).meanIou;
}
