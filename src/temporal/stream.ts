// Frames of one or more videos in order, through an optional smoother and the temporal meter: what eval
// --sequence, predict and bench smooth share. The smoother restarts where a sequence (or video) starts, and
// a frame it (re)starts on keeps the frame's own class ids, so a video's first frame is never smoothed.
import { TemporalMeter, type TemporalMetrics } from './metrics.js';
import { upsampleArgmax } from '../data/class-map.js';
import { formatSmoothSpec, TemporalSmoother, type SmoothSpec } from './smooth.js';

/** A plane of values with its size (class-major probabilities, or RGB pixels). */
export interface Plane<T> {
  data: T;
  width: number;
  height: number;
}

export interface StreamFrame {
  id: string;
  /** sequence key (sequenceKey of the name, or one key per video): a new key starts a new sequence */
  sequence: string;
  /** the output size */
  width: number;
  height: number;
  /** the frame's own class ids (width·height) */
  ids: Uint8Array;
  /** with a smoother: class probabilities, class-major C × h × w, at any size (e.g. the model's output) */
  probs?: Plane<Float32Array>;
  /** with a smoother: the frame as RGB h × w × 3, at any size */
  image?: Plane<Uint8Array>;
  /** truth ids for consistency */
  label?: ArrayLike<number>;
}

export interface StreamResult extends TemporalMetrics {
  /** the smoothing applied (canonical spec text), or null */
  smooth: string | null;
  /** scene cuts the smoother detected (and restarted at) */
  cuts: number;
}

export class TemporalStream {
  private readonly meter: TemporalMeter;
  private readonly smoother: TemporalSmoother | null;
  private sequence: string | null = null;

  constructor(o: { numClasses: number; smooth?: SmoothSpec | null; ignoreIndex?: number }) {
    this.meter = new TemporalMeter(o.ignoreIndex ?? 255);
    this.smoother = o.smooth && o.smooth.method !== 'none' ? new TemporalSmoother(o.smooth, o.numClasses) : null;
  }

  /** Whether frames need probabilities and images (a smoother is on). */
  get smoothing(): boolean {
    return this.smoother !== null;
  }

  /** One frame, in order; returns the class ids to keep (smoothed, or the frame's own). */
  frame(f: StreamFrame): Uint8Array {
    if (f.sequence !== this.sequence) {
      this.smoother?.reset();
      this.sequence = f.sequence;
    }
    let ids = f.ids;
    if (this.smoother) {
      if (!f.probs || !f.image) throw new Error(`TemporalStream: ${f.id}: smoothing needs the frame's probabilities and its image`);
      const { probs, image } = f;
      const r = this.smoother.step(probs.data, probs.width, probs.height, image.data, image.width, image.height);
      if (!r.restarted) ids = upsampleArgmax(r.scores, this.smoother.numClasses, r.width, r.height, f.width, f.height);
    }
    this.meter.add({ id: f.id, sequence: f.sequence, width: f.width, height: f.height, pred: ids, ...(f.label ? { label: f.label } : {}) });
    return ids;
  }

  /** A new video starts: no pair across it, and the smoother restarts. */
  break(): void {
    this.meter.break();
    this.smoother?.reset();
    this.sequence = null;
  }

  result(): StreamResult {
    return { ...this.meter.result(), smooth: this.smoother ? formatSmoothSpec(this.smoother.spec) : null, cuts: this.smoother?.cuts ?? 0 };
  }
}
