// Temporal stability of per-frame segmentation: flicker (how much of the prediction changes from one frame to
// the next) and consistency (VSPW's VC at n = 2: where the truth stays the same, how often the prediction does
// too). Plain typed arrays in and numbers out, no Node or libtorch: evaluation, predict and a browser use it.

/** One consecutive frame pair. `consistency` is NaN when no pixel keeps the same labelled class (or no labels). */
export interface PairStat {
  /** ids of the two frames */
  from: string;
  to: string;
  flicker: number;
  consistency: number;
  /** the truth's own flicker: among pixels labelled in both frames, the fraction whose label changes (NaN without labels) */
  labelFlicker: number;
}

export interface TemporalMetrics {
  /** mean over consecutive pairs of the fraction of pixels whose predicted class changes (NaN without pairs) */
  flicker: number;
  /** mean over the pairs that have stable labelled pixels of the fraction of them whose prediction is stable too (NaN if none) */
  consistency: number;
  /**
   * mean over the pairs with labels of the labels' own flicker: what changes because the scene really moves,
   * the scale a prediction's flicker is read against (NaN without labels)
   */
  labelFlicker: number;
  /** consecutive frame pairs counted */
  pairs: number;
  /** sequences (runs of frames whose sequence keys are equal) */
  sequences: number;
  perPair: PairStat[];
}

/** Fraction of pixels whose class differs between two predictions of the same size. */
export function pairFlicker(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`pairFlicker: the predictions have ${a.length} and ${b.length} pixels`);
  if (a.length === 0) return NaN;
  let changed = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) changed++;
  return changed / a.length;
}

/**
 * Among the pixels whose label is the same in both frames and not `ignoreIndex`, the fraction whose
 * prediction is the same in both frames too (NaN when there is no such pixel).
 */
export function pairConsistency(predA: ArrayLike<number>, predB: ArrayLike<number>, labelA: ArrayLike<number>, labelB: ArrayLike<number>, ignoreIndex: number): number {
  const n = predA.length;
  if (predB.length !== n || labelA.length !== n || labelB.length !== n) {
    throw new RangeError(`pairConsistency: predictions of ${predA.length} and ${predB.length} pixels, labels of ${labelA.length} and ${labelB.length}`);
  }
  let stable = 0;
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const l = labelA[i];
    if (l === ignoreIndex || l !== labelB[i]) continue;
    stable++;
    if (predA[i] === predB[i]) kept++;
  }
  return stable > 0 ? kept / stable : NaN;
}

/** Among the pixels labelled (not `ignoreIndex`) in both frames, the fraction whose label differs (NaN if none). */
export function labelFlicker(labelA: ArrayLike<number>, labelB: ArrayLike<number>, ignoreIndex: number): number {
  if (labelA.length !== labelB.length) throw new RangeError(`labelFlicker: the labels have ${labelA.length} and ${labelB.length} pixels`);
  let both = 0;
  let changed = 0;
  for (let i = 0; i < labelA.length; i++) {
    const a = labelA[i];
    const b = labelB[i];
    if (a === ignoreIndex || b === ignoreIndex) continue;
    both++;
    if (a !== b) changed++;
  }
  return both > 0 ? changed / both : NaN;
}

/**
 * The sequence a frame belongs to, from its name: the name without its trailing frame number
 * (0016E5_07959 → "0016E5_", 0006R0_f00930 → "0006R0_f"). A name that does not end in digits is its own key.
 */
export function sequenceKey(id: string): string {
  return id.replace(/\d+$/, '');
}

export interface TemporalFrame {
  id: string;
  /** frames with different keys are never paired (see sequenceKey) */
  sequence: string;
  width: number;
  height: number;
  /** predicted class ids, width·height */
  pred: ArrayLike<number>;
  /** truth ids (ignoreIndex where unlabelled); without labels, consistency is not computed */
  label?: ArrayLike<number>;
}

/**
 * Accumulates flicker and consistency over frames given in order. A frame is paired with the one before it
 * when both have the same sequence key and size; otherwise a new sequence starts.
 */
export class TemporalMeter {
  private prev: { sequence: string; id: string; width: number; height: number; pred: Uint8Array; label: Int32Array | null } | null = null;
  private readonly pairs: PairStat[] = [];
  private sequences = 0;

  constructor(readonly ignoreIndex = 255) {}

  add(f: TemporalFrame): void {
    const n = f.width * f.height;
    if (f.pred.length !== n) throw new RangeError(`TemporalMeter: ${f.id}: prediction has ${f.pred.length} pixels, expected ${f.width}x${f.height}`);
    if (f.label && f.label.length !== n) throw new RangeError(`TemporalMeter: ${f.id}: label has ${f.label.length} pixels, expected ${f.width}x${f.height}`);
    const p = this.prev;
    if (p && p.sequence === f.sequence && p.width === f.width && p.height === f.height) {
      const labelled = p.label && f.label ? { a: p.label, b: f.label } : null;
      const consistency = labelled ? pairConsistency(p.pred, f.pred, labelled.a, labelled.b, this.ignoreIndex) : NaN;
      const truth = labelled ? labelFlicker(labelled.a, labelled.b, this.ignoreIndex) : NaN;
      this.pairs.push({ from: p.id, to: f.id, flicker: pairFlicker(p.pred, f.pred), consistency, labelFlicker: truth });
    } else {
      this.sequences++;
    }
    this.prev = { sequence: f.sequence, id: f.id, width: f.width, height: f.height, pred: Uint8Array.from(f.pred), label: f.label ? Int32Array.from(f.label) : null };
  }

  /** The next frame starts a new sequence whatever its key (a new video). */
  break(): void {
    this.prev = null;
  }

  result(): TemporalMetrics {
    return { ...summarizePairs(this.pairs), sequences: this.sequences, perPair: this.pairs.slice() };
  }
}

/** Mean flicker, consistency and label flicker of pair statistics (NaN consistencies and label flickers left out). */
export function summarizePairs(pairs: readonly PairStat[]): { flicker: number; consistency: number; labelFlicker: number; pairs: number } {
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const defined = (xs: number[]): number[] => xs.filter((x) => !Number.isNaN(x));
  return {
    flicker: mean(pairs.map((p) => p.flicker)),
    consistency: mean(defined(pairs.map((p) => p.consistency))),
    labelFlicker: mean(defined(pairs.map((p) => p.labelFlicker))),
    pairs: pairs.length,
  };
}
