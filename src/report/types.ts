// What the training loop hands to writeReport (src/report/index.ts). Metrics are fractions in [0, 1];
// NaN marks a class absent from both truth and prediction (shown as "n/a").
import type { RGB } from '../data/types.js';

export type { RGB };

export interface ReportSample {
  id: string;
  width: number;
  height: number;
  /** HWC RGB uint8 (not normalised). */
  image: Uint8Array;
  /** HW class ids, ignoreIndex where ignored. */
  label: Uint8Array;
  /** HW predicted class ids. */
  pred: Uint8Array;
  /** This image's own mIoU (NaN allowed). */
  miou?: number;
}

/** Temporal stability of a sequence evaluation (src/temporal): fractions in [0, 1], NaN allowed. */
export interface ReportTemporal {
  flicker: number;
  consistency: number;
  /** the labels' own flicker over the same pairs (NaN without labels) */
  labelFlicker: number;
  pairs: number;
  /** the smoothing the predictions had (canonical spec), or null */
  smooth: string | null;
  /** per consecutive frame pair, in order */
  perPair: Array<{ from: string; to: string; flicker: number; consistency: number }>;
}

export interface ReportEval {
  classes: string[];
  /** NaN allowed. */
  perClassIou: number[];
  /** NaN allowed. */
  perClassAccuracy: number[];
  meanIou: number;
  meanAccuracy: number;
  overallAccuracy: number;
  loss: number;
  numImages: number;
  /** K*K row-major, rows truth. */
  confusion: number[];
  epoch: number;
  step: number;
  /** present when the split was evaluated as video (evalSequence) */
  temporal?: ReportTemporal;
}

export interface ReportData {
  /** e.g. the run directory's name. */
  title: string;
  /** The fully resolved config (rendered as a collapsible JSON block). */
  config: unknown;
  /** metrics.csv rows: epoch, step, train_loss, val_loss, val_miou, val_macc, val_aacc, seconds, lr, epoch_train_s, train_img_s, eval_s, ... */
  history: Array<Record<string, number | string | null>>;
  /** The latest evaluation. */
  eval?: ReportEval;
  /** A fixed set of val images (grid). */
  samples: ReportSample[];
  /** Worst images by per-image mIoU. */
  worst: ReportSample[];
  palette: RGB[];
  ignoreIndex: number;
  timing: { trainImagesPerSecond?: number; evalImagesPerSecond?: number; secondsPerEpoch?: number; totalSeconds?: number };
  /** e.g. "epoch 4/20", "finished", "stopped early at epoch 9". */
  status?: string;
}
