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

/**
 * How float32 matrix products compute (torch.set_float32_matmul_precision's idea): 'highest' in float32;
 * 'bf16' with bfloat16 inputs and float32 results, so libtorch hands linear, matmul and bmm (forward and
 * backward) to oneDNN's bfloat16 kernels, which on a CPU with AVX512-BF16 or AMX run 3× and more faster
 * than OpenBLAS's float32 ones (docs/benchmarks.md). Everything else, convolutions included, stays float32:
 * libtorch 1.13's bfloat16 elementwise and conv kernels are slower than its float32 ones.
 */
export type MatmulPrecision = 'highest' | 'bf16';
let matmulPrecision: MatmulPrecision = 'highest';
export const getMatmulPrecision = (): MatmulPrecision => matmulPrecision;
export function setMatmulPrecision(p: MatmulPrecision): void {
  if (p !== 'highest' && p !== 'bf16') throw new TypeError(`matmul precision '${String(p)}': expected highest or bf16`);
  matmulPrecision = p;
}
