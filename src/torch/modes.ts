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
 * 'bf16' with bfloat16 operands and float32 results, so that libtorch hands linear, matmul and bmm (forward
 * and backward) to oneDNN's bfloat16 kernels, which on a CPU with AVX512-BF16 or AMX beat OpenBLAS's float32
 * GEMM most on the small, batched attention products (docs/benchmarks.md, bfloat16 matrix products).
 * Everything else stays float32: libtorch 1.13's bfloat16 softmax, norms and activations are slower than its
 * float32 ones, and bfloat16 convolutions did not measurably speed up a training step.
 */
export type MatmulPrecision = 'highest' | 'bf16';
let matmulPrecision: MatmulPrecision = 'highest';
export const getMatmulPrecision = (): MatmulPrecision => matmulPrecision;
export function setMatmulPrecision(p: MatmulPrecision): void {
  if (p !== 'highest' && p !== 'bf16') throw new TypeError(`matmul precision '${String(p)}': expected highest or bf16`);
  matmulPrecision = p;
}
