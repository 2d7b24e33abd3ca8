// Synchronised BatchNorm (PyTorch's SyncBatchNorm) for engines without custom autograd functions.
//
// Forward, in train mode: each rank's per-channel count, Σx and Σx² (float64) are summed across ranks;
// the batch is normalised with the global mean and biased variance, and the running statistics move
// with the global unbiased variance, as one BatchNorm over the whole global batch would. The output
// is cut from the autograd graph (a leaf), because its gradient needs the other ranks' sums too.
// Backward, run by the DDP wrapper after loss.backward(): with dy = the leaf's gradient, Σdy and
// Σdy·(x−μ) are summed across ranks and
//     dx = γ·σ⁻¹·(dy − Σdy/N − (x−μ)·σ⁻²·Σdy(x−μ)/N)        (N = the global count)
// is pushed into the graph before the BN with x.backward(dx); dγ = σ⁻¹·Σdy(x−μ) and dβ = Σdy are this
// rank's own sums (the gradient averaging that follows makes them global). This is exactly PyTorch's
// SyncBatchNorm backward. With several synchronised BNs, their backwards run in reverse forward order,
// so a later one's dx reaches an earlier one's leaf before that one runs.
import { dispose, fromArray, keep, noGrad, F, type BatchNorm2d, type Module, type Tensor } from '../../torch/index.js';
import type { ProcessGroup } from '../../torch/distributed.js';

interface Pending {
  bn: BatchNorm2d;
  x: Tensor;
  leaf: Tensor;
  mean: Tensor; // float32 [C]
  invstd: Tensor; // float32 [C]
  count: number; // global elements per channel
}

export class SyncBatchNorm {
  private pending: Pending[] = [];
  /** the BatchNorm2d layers this synchronises (their forward is replaced) */
  readonly layers: BatchNorm2d[] = [];

  constructor(private readonly pg: ProcessGroup) {}

  /** Replaces the forward of every BatchNorm2d in the model (as torch's convert_sync_batchnorm); returns how many. */
  convert(model: Module, isBatchNorm: (m: Module) => m is BatchNorm2d): number {
    for (const [, m] of model.modules()) {
      if (!isBatchNorm(m)) continue;
      const bn = m;
      const local = bn.forward.bind(bn);
      // Eval mode uses the running statistics: nothing to synchronise.
      bn.forward = (x: Tensor): Tensor => (bn.training ? this.forward(bn, x) : local(x));
      this.layers.push(bn);
    }
    return this.layers.length;
  }

  private forward(bn: BatchNorm2d, x: Tensor): Tensor {
    const c = x.size(1);
    const dims = [0, 2, 3];
    const leaf = noGrad(() => {
      const x64 = x.detach().double();
      const local = x.numel / c;
      const stats = F.cat([x64.sum(dims), x64.mul(x64).sum(dims), fromArray(new Float64Array([local]), [1], 'float64')], 0);
      this.pg.allreduce([stats], 'sum');
      const n = stats.narrow(0, 2 * c, 1).item() as number;
      if (n < 2) throw new Error(`SyncBatchNorm: expected more than 1 value per channel across the group, got ${n}`);
      const mean64 = stats.narrow(0, 0, c).div(n);
      const var64 = stats.narrow(0, c, c).div(n).sub(mean64.mul(mean64)).clamp(0);
      const mean = mean64.float();
      const variance = var64.float();
      bn.numBatchesTracked.add_(1);
      const m = bn.momentum;
      bn.runningMean.mul_(1 - m).add_(mean.mul(m));
      bn.runningVar.mul_(1 - m).add_(var64.mul(n / (n - 1)).float().mul(m));
      const y = F.batchNorm(x.detach(), mean, variance, bn.weight.detach(), bn.bias.detach(), false, 0, bn.eps);
      y.setRequiresGrad(true);
      // The model runs blocks in tidy scopes that end before backward: what backward() needs is taken
      // out of every scope here and disposed by backward() or clear().
      const invstd = variance.add(bn.eps).rsqrt();
      keep([x, y, mean, invstd]);
      this.pending.push({ bn, x, leaf: y, mean, invstd, count: n });
      return y;
    });
    // A non-leaf copy (outside noGrad, so it is in the graph): the model may apply in-place ops (relu_)
    // to the output, which a leaf refuses.
    return leaf.clone();
  }

  /** Pushes the gradients through every BN of this step (after loss.backward()). */
  backward(): void {
    const todo = this.pending.reverse();
    this.pending = [];
    for (const p of todo) {
      const dy = p.leaf.grad;
      if (!dy) {
        release(p); // the output did not reach the loss
        continue;
      }
      const c = p.mean.numel;
      const dims = [0, 2, 3];
      const dx = noGrad(() => {
        const view = (t: Tensor) => t.view([1, c, 1, 1]);
        const xmu = p.x.detach().sub(view(p.mean));
        const local = F.cat([dy.double().sum(dims), dy.double().mul(xmu.double()).sum(dims)], 0);
        const global = local.clone();
        this.pg.allreduce([global], 'sum');
        const sumDy = global.narrow(0, 0, c).float();
        const sumDyXmu = global.narrow(0, c, c).float();
        const gamma = p.bn.weight.detach();
        const t = dy.sub(view(sumDy.div(p.count))).sub(xmu.mul(view(p.invstd.mul(p.invstd).mul(sumDyXmu).div(p.count))));
        accumulate(p.bn.weight, local.narrow(0, c, c).float().mul(p.invstd));
        accumulate(p.bn.bias, local.narrow(0, 0, c).float());
        return t.mul(view(gamma.mul(p.invstd)));
      });
      if (p.x.requiresGrad) p.x.backward(dx);
      release(p);
    }
  }

  /** Drops a step's pending state without a backward (a skipped step). */
  clear(): void {
    for (const p of this.pending) release(p);
    this.pending = [];
  }
}

function release(p: Pending): void {
  dispose([p.x, p.leaf, p.mean, p.invstd]);
}

function accumulate(param: Tensor, g: Tensor): void {
  const cur = param.grad;
  if (cur) cur.add_(g);
  else param.grad = g.clone();
}
