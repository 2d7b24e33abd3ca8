// The metrics a callback can monitor, read off an evaluation.
import type { EvalResult } from '../callback.js';
import type { TrainConfig } from '../config.js';

export type MonitorKey = TrainConfig['monitor'];

export function monitoredValue(ev: EvalResult, key: MonitorKey): number {
  switch (key) {
    case 'val_loss':
      return ev.loss;
    case 'val_miou':
      return ev.metrics.meanIou;
    case 'val_macc':
      return ev.metrics.meanAccuracy;
    case 'val_aacc':
      return ev.metrics.overallAccuracy;
  }
}

/** True if `v` improves on `best` by more than minDelta in the given direction (NaN never improves). */
export function improves(v: number, best: number | null, mode: 'min' | 'max', minDelta = 0): boolean {
  if (!Number.isFinite(v)) return false;
  if (best === null) return true;
  return mode === 'min' ? v < best - minDelta : v > best + minDelta;
}
