// Video smoothing in the page: the logits' softmax over classes, then src/temporal's TemporalSmoother (the
// smoother `streetseg predict --smooth` runs), then upsampleArgmax to the frame's size. One instance
// follows one video; a frame it (re)starts on keeps the model's own ids, as predict's TemporalStream does.
// Pure TypeScript, no DOM: the tests run it in Node too.
import { upsampleArgmax } from '../../data/class-map.js';
import { parseSmoothSpec, TemporalSmoother } from '../../temporal/index.js';

/** Softmax over classes of class-major logits C × hw (max subtracted per pixel, so large logits do not overflow). */
export function softmaxClasses(logits: Float32Array, classes: number, hw: number): Float32Array {
  if (logits.length !== classes * hw) throw new RangeError(`softmaxClasses: ${logits.length} logits, expected ${classes} × ${hw}`);
  const out = new Float32Array(logits.length);
  const max = new Float32Array(hw).fill(-Infinity);
  for (let c = 0; c < classes; c++) for (let p = 0, b = c * hw; p < hw; p++) if (logits[b + p]! > max[p]!) max[p] = logits[b + p]!;
  const sum = new Float64Array(hw);
  for (let c = 0; c < classes; c++) {
    for (let p = 0, b = c * hw; p < hw; p++) {
      const e = Math.exp(logits[b + p]! - max[p]!);
      out[b + p] = e;
      sum[p]! += e;
    }
  }
  for (let c = 0; c < classes; c++) for (let p = 0, b = c * hw; p < hw; p++) out[b + p] = out[b + p]! / sum[p]!;
  return out;
}

export class VideoSmoothing {
  private readonly smoother: TemporalSmoother;

  constructor(spec: string, classes: number) {
    this.smoother = new TemporalSmoother(parseSmoothSpec(spec), classes);
  }

  /** The next frame is a video's first. */
  reset(): void {
    this.smoother.reset();
  }

  /**
   * One frame's class ids at its own size (width × height) from its logits (classes × h × w) and its RGB
   * pixels; `smoothed` is false on a frame the smoother (re)started on (the ids are the model's own).
   */
  frame(logits: Float32Array, w: number, h: number, rgb: Uint8Array, width: number, height: number): { ids: Uint8Array; smoothed: boolean } {
    const k = this.smoother.numClasses;
    const r = this.smoother.step(softmaxClasses(logits, k, w * h), w, h, rgb, width, height);
    if (r.restarted) return { ids: upsampleArgmax(logits, k, w, h, width, height), smoothed: false };
    return { ids: upsampleArgmax(r.scores, k, r.width, r.height, width, height), smoothed: true };
  }
}
