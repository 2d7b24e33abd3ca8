// Engine micro-benchmarks: matmul throughput, per-op overhead, a SegFormer-stem-sized conv.
import { median } from '../src/util/median.js';
import { F, inferenceMode, randn, tidy, getNumThreads, zeros } from '../src/torch/index.js';

export interface EngineBench {
  matmulGflops: number;
  opOverheadUs: number;
  conv2dMs: number;
  threads: number;
}


export function timeMs(fn: () => void, iters: number, warmup: number): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const out: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

/** sgemm (m×k @ k×n, fp32, all threads): median GFLOP/s (and ms) over `iters` runs after `warmup`. */
export function sgemmRate(m: number, k: number, n: number, iters = 10, warmup = 2): { shape: string; gflops: number; medianMs: number } {
  return inferenceMode(() =>
    tidy(() => {
      const a = randn([m, k]);
      const b = randn([k, n]);
      const t = median(timeMs(() => tidy(() => void a.matmul(b)), iters, warmup));
      return { shape: `${m}x${k} @ ${k}x${n}`, gflops: +((2 * m * k * n) / t / 1e6).toFixed(1), medianMs: +t.toFixed(3) };
    }),
  );
}

export function benchEngine(opts: { quick?: boolean } = {}): EngineBench {
  const q = opts.quick ?? false;
  return inferenceMode(() => {
    // fp32 2048×1024 @ 1024×1024 on all threads
    const matmulGflops = sgemmRate(2048, 1024, 1024, q ? 3 : 20, 3).gflops;
    // a tiny elementwise op, including handle creation and disposal
    const s = zeros([1]);
    const n = q ? 20000 : 200000;
    for (let i = 0; i < 2000; i++) s.add(s).dispose();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) s.add(s).dispose();
    const opOverheadUs = Number(process.hrtime.bigint() - t0) / 1e3 / n;
    // 2×3×360×480 input, 7×7 stride-4 conv (padding 3) to 32 channels, forward
    const x = randn([2, 3, 360, 480]);
    const w = randn([32, 3, 7, 7]);
    const bias = randn([32]);
    const conv2dMs = median(timeMs(() => tidy(() => { F.conv2d(x, w, bias, { stride: 4, padding: 3 }); }), q ? 3 : 20, 3));
    return {
      matmulGflops: +matmulGflops.toFixed(1),
      opOverheadUs: +opOverheadUs.toFixed(2),
      conv2dMs: +conv2dMs.toFixed(2),
      threads: getNumThreads(),
    };
  });
}
