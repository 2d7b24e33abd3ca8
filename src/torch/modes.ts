// Process-wide execution settings: autograd recording (noGrad), inference mode and the intra-op
// thread count.
import { native } from './native.js';
import { refuseAsync } from './memory.js';

/**
 * Runs fn with autograd recording off (optimizer steps, metric computation). fn must be synchronous:
 * the mode is process-wide, so it cannot follow an async fn across its awaits (a Promise is refused
 * with a TypeError, after the previous mode is restored).
 */
export function noGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(false);
  try {
    const result = fn();
    refuseAsync(result, 'noGrad()');
    return result;
  } finally {
    native.setGradEnabled(prev);
  }
}

/**
 * Runs fn in inference mode (pure evaluation/export; its tensors can never enter autograd later).
 * Synchronous only, as noGrad.
 */
export function inferenceMode<T>(fn: () => T): T {
  native.enterInferenceMode();
  try {
    const result = fn();
    refuseAsync(result, 'inferenceMode()');
    return result;
  } finally {
    native.exitInferenceMode();
  }
}

export const isGradEnabled = (): boolean => native.isGradEnabled();
export const setNumThreads = (n: number): void => native.setNumThreads(n);
export const getNumThreads = (): number => native.getNumThreads();
