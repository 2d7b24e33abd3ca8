// Data-parallel training on a c10d process group, with PyTorch DDP's semantics:
//  - at start, every parameter and buffer takes rank 0's values (broadcast);
//  - after backward, gradients are averaged across ranks by bucketed allreduce: gradients (in reverse
//    parameter order, the order backward produces them) are flattened into ~25 MB buckets with cat,
//    each bucket is averaged in one collective, and the results are copied back;
//  - with local BatchNorm, buffers (running statistics) are broadcast from rank 0 before every forward
//    (DDP's broadcast_buffers=True), so every rank normalises with the same statistics at eval time and
//    the checkpoint holds rank 0's; with --sync-bn the batch statistics are global (sync-bn.ts);
//  - evaluation sums (confusion matrix, loss sums, image count) are summed across ranks.
//
// No overlap of communication with backward: the engine runs backward as one native call without
// per-parameter hooks, so buckets can only be reduced once it has returned. bench/distributed.ts
// measures what overlap could at best save (the allreduce time) against the step time.
import { BatchNorm2d, F, fromArray, noGrad, tidy, zerosLike, type Module, type Tensor } from '../../torch/index.js';
import type { ProcessGroup } from '../../torch/distributed.js';
import { SyncBatchNorm } from './sync-bn.js';

export const DEFAULT_BUCKET_BYTES = 25 * 2 ** 20;
const ITEM_BYTES: Partial<Record<string, number>> = { float32: 4, float64: 8, float16: 2, bfloat16: 2 };

export interface DdpOptions {
  /** bucket size in bytes (PyTorch's bucket_cap_mb = 25) */
  bucketBytes?: number;
  /** synchronise BatchNorm statistics across ranks instead of broadcasting rank 0's buffers */
  syncBn?: boolean;
}

export interface DdpStats {
  /** gradient allreduce calls and their total time (ms) */
  allreduces: number;
  allreduceMs: number;
  /** bytes averaged per step */
  bytesPerStep: number;
  buckets: number;
}

export class DistributedDataParallel {
  readonly syncBn: SyncBatchNorm | null;
  readonly stats: DdpStats = { allreduces: 0, allreduceMs: 0, bytesPerStep: 0, buckets: 0 };
  private readonly buckets: Tensor[][];
  private readonly buffers: Tensor[];

  constructor(
    readonly model: Module,
    readonly pg: ProcessGroup,
    o: DdpOptions = {},
  ) {
    const cap = o.bucketBytes ?? DEFAULT_BUCKET_BYTES;
    const params = model.parameters().filter((p) => p.requiresGrad);
    for (const p of params) {
      if (p.dtype !== params[0]!.dtype) throw new Error(`DistributedDataParallel: parameters of mixed dtypes (${params[0]!.dtype}, ${p.dtype}) are not supported`);
    }
    this.buckets = [];
    const itemBytes = params.length ? ITEM_BYTES[params[0]!.dtype] : 4;
    if (!itemBytes) throw new Error(`DistributedDataParallel: parameters of dtype ${params[0]!.dtype} cannot be averaged`);
    let cur: Tensor[] = [];
    let bytes = 0;
    for (const p of params.slice().reverse()) {
      cur.push(p);
      bytes += p.numel * itemBytes;
      if (bytes >= cap) {
        this.buckets.push(cur);
        cur = [];
        bytes = 0;
      }
    }
    if (cur.length) this.buckets.push(cur);
    this.stats.buckets = this.buckets.length;
    this.stats.bytesPerStep = params.reduce((s, p) => s + p.numel * itemBytes, 0);
    this.syncBn = o.syncBn ? new SyncBatchNorm(pg) : null;
    const nBn = this.syncBn?.convert(model, (m): m is BatchNorm2d => m instanceof BatchNorm2d) ?? 0;
    this.buffers = nBn > 0 ? [] : model.namedBuffers().map(([, b]) => b);
  }

  get rank(): number {
    return this.pg.rank;
  }
  get worldSize(): number {
    return this.pg.size;
  }

  /** Every parameter and buffer takes rank 0's values (call once, before training). */
  broadcastState(): void {
    const all = [...this.model.parameters(), ...this.model.namedBuffers().map(([, b]) => b)];
    noGrad(() => this.pg.broadcast(all, 0));
  }

  /** Before each forward with local BatchNorm: rank 0's running statistics everywhere. */
  beforeForward(): void {
    if (this.buffers.length && this.pg.size > 1) noGrad(() => this.pg.broadcast(this.buffers, 0));
  }

  /**
   * After loss.backward(): finishes synchronised BatchNorm's backward, then averages every gradient
   * across ranks (a parameter without a gradient on this rank counts as zeros, so every rank's buckets
   * have the same layout).
   */
  syncGradients(): void {
    this.syncBn?.backward();
    if (this.pg.size === 1) return;
    for (const bucket of this.buckets) {
      tidy(() => {
        const grads = bucket.map((p) => {
          const g = p.grad;
          if (g) return g;
          p.grad = zerosLike(p); // shares the new tensor: writing into it writes the gradient
          return p.grad!;
        });
        const flat = grads.length === 1 ? grads[0]!.reshape([-1]).clone() : F.cat(grads.map((g) => g.reshape([-1])), 0);
        const t0 = performance.now();
        this.pg.allreduce([flat], 'avg');
        this.stats.allreduceMs += performance.now() - t0;
        this.stats.allreduces++;
        let off = 0;
        noGrad(() => {
          for (const g of grads) {
            g.copy_(flat.narrow(0, off, g.numel).view(g.shape));
            off += g.numel;
          }
        });
      });
    }
  }

  /**
   * The step's loss averaged across ranks, and whether any rank asked to stop (an interrupt): one small
   * collective before backward, so that every rank takes the same branch (a rank that alone skipped a
   * non-finite step or stopped would leave the others waiting in the next allreduce).
   */
  agree(loss: number, stop: boolean): { loss: number; stop: boolean } {
    if (this.pg.size === 1) return { loss, stop };
    return tidy(() => {
      const t = fromArray(new Float64Array([loss, stop ? 1 : 0]), [2], 'float64');
      this.pg.allreduce([t], 'sum');
      const [sum, stops] = t.toArray() as Float64Array;
      return { loss: sum! / this.pg.size, stop: stops! > 0 };
    });
  }

  /** Sums an evaluation's totals (confusion matrix, loss sums, counts) across ranks, in place. */
  sumAcrossRanks(values: Float64Array): void {
    if (this.pg.size === 1) return;
    tidy(() => {
      const t = fromArray(values, [values.length], 'float64');
      this.pg.allreduce([t], 'sum');
      values.set(t.toArray() as Float64Array);
    });
  }
}
