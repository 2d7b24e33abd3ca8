// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_ (1.13).
import { stack } from '../ops.js';
import { tidy } from '../memory.js';
import { noGrad } from '../modes.js';
import { float, type Tensor } from '../tensor.js';

/** Scales all gradients so their global p-norm is at most maxNorm. Returns the norm before clipping. */
export function clipGradNorm(params: Tensor[], maxNorm: number, normType = 2): number {
  return noGrad(() =>
    tidy(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return 0;
      const norms = grads.map((g) => g.norm(normType));
      const total = normType === Infinity ? stack(norms).max() : stack(norms).norm(normType);
      const coef = total.add(float(1e-6)).pow(-1).mul(float(maxNorm)).clamp(null, float(1));
      for (const g of grads) g.mul_(coef);
      return total.item();
    }),
  );
}
