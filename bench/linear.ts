// SegFormer's big token linears two ways: aten::linear (addmm → OpenBLAS sgemm) against a 1×1 conv2d
// on the tokens' channels-last NCHW view (libtorch routes it to oneDNN/mkldnn_convolution; PyTorch's
// profiler on this libtorch shows aten::mkldnn_convolution for these shapes with ≥ 2 threads).
// Same weights, same output layout (B, N, C); forward, and forward + backward (grads for x, W, b).
// usage: node dist/bench/linear.js [--iters N] [--warmup N] [--batches 1,8]  -> one JSON line
// libtorch 1.13 sends a 1×1 stride-1 conv to oneDNN only with > 1 thread or batch ≥ 16 (else it is the
// same GEMM, and maxRelDiff is 0): on one thread, --batches 16 measures oneDNN.
import { pathToFileURL } from 'node:url';
import { F, Tensor, getNumThreads, manualSeed, noGrad, randn, tidy } from '../src/torch/index.js';
import { native } from '../src/torch/native.js';
import { median } from '../src/util/median.js';
import { timeMs } from './engine.js';

export interface LinearShape {
  /** Token grid (B0 at 360×480: stage 1 is 90×120, stage 2 45×60). */
  h: number;
  w: number;
  cin: number;
  cout: number;
  what: string;
}

/** B0's largest linears at 360×480: the Mix-FFN of stages 1 and 2 (hidden ×4), both directions. */
export const B0_LINEARS: LinearShape[] = [
  { h: 90, w: 120, cin: 32, cout: 128, what: 'stage 1 mlp fc1 (10800 tokens)' },
  { h: 90, w: 120, cin: 128, cout: 32, what: 'stage 1 mlp fc2 (10800 tokens)' },
  { h: 45, w: 60, cin: 64, cout: 256, what: 'stage 2 mlp fc1 (2700 tokens)' },
  { h: 45, w: 60, cin: 256, cout: 64, what: 'stage 2 mlp fc2 (2700 tokens)' },
];

export interface LinearRow {
  what: string;
  batch: number;
  tokens: number;
  cin: number;
  cout: number;
  /** Median and best ms of each route; best is the steadier figure on a shared machine. */
  linearFwdMs: [number, number];
  convFwdMs: [number, number];
  linearFwdBwdMs: [number, number];
  convFwdBwdMs: [number, number];
  /** linear time / conv time (median, forward + backward): > 1 means oneDNN is faster. */
  fwdBwdSpeedup: number;
  /** The two routes compute the same numbers: max |difference| / max |value|, over outputs and weight grads. */
  maxRelDiff: number;
}

/** y = x Wᵀ + b through aten::linear. */
const viaLinear = (x: Tensor, w: Tensor, b: Tensor): Tensor => F.linear(x, w, b);

/** y = x Wᵀ + b as a 1×1 conv on the channels-last view of x; the result is viewed back as tokens. */
function viaConv(x: Tensor, w: Tensor, b: Tensor, s: LinearShape): Tensor {
  const bt = x.size(0);
  const img = x.view([bt, s.h, s.w, s.cin]).permute([0, 3, 1, 2]); // channels-last NCHW, no copy
  const y = F.conv2d(img, w.view([s.cout, s.cin, 1, 1]), b); // oneDNN keeps channels-last
  return y.permute([0, 2, 3, 1]).reshape([bt, s.h * s.w, s.cout]); // a view when y is channels-last
}

const stats = (xs: number[]): [number, number] => [+median(xs).toFixed(3), +Math.min(...xs).toFixed(3)];

function relDiff(a: Tensor, b: Tensor): number {
  return a.sub(b).abs().max().item() / a.abs().max().item();
}

export function benchLinear(o: { shapes?: LinearShape[]; batches?: number[]; iters?: number; warmup?: number } = {}): LinearRow[] {
  manualSeed(0);
  const iters = o.iters ?? 10;
  const warmup = o.warmup ?? 2;
  const rows: LinearRow[] = [];
  for (const s of o.shapes ?? B0_LINEARS) {
    for (const batch of o.batches ?? [1, 8]) {
      const row = tidy(() => {
        const n = s.h * s.w;
        const x = randn([batch, n, s.cin]).setRequiresGrad();
        const w = randn([s.cout, s.cin]).mul(1 / Math.sqrt(s.cin)).detach().setRequiresGrad();
        const b = randn([s.cout]).detach().setRequiresGrad();
        const g = randn([batch, n, s.cout]);
        const fwd = (route: typeof viaLinear) => () => noGrad(() => tidy(() => void route(x, w, b)));
        const fwdBwd = (route: typeof viaLinear) => () =>
          tidy(() => {
            for (const p of [x, w, b]) p.grad = null;
            route(x, w, b).backward(g);
          });
        const conv = (xx: Tensor, ww: Tensor, bb: Tensor) => viaConv(xx, ww, bb, s);
        // Check first that both routes agree, including the weight gradient.
        const yl = viaLinear(x, w, b);
        const yc = conv(x, w, b);
        if (!yc.isContiguous()) throw new Error(`bench linear: the conv route's output is not channels-last for ${s.what}`);
        fwdBwd(viaLinear)();
        const gwl = w.grad!;
        fwdBwd(conv)();
        const maxRelDiff = Math.max(relDiff(yl, yc), relDiff(gwl, w.grad!));
        const lf = timeMs(fwd(viaLinear), iters, warmup);
        const cf = timeMs(fwd(conv), iters, warmup);
        const lb = timeMs(fwdBwd(viaLinear), iters, warmup);
        const cb = timeMs(fwdBwd(conv), iters, warmup);
        return {
          what: s.what,
          batch,
          tokens: n,
          cin: s.cin,
          cout: s.cout,
          linearFwdMs: stats(lf),
          convFwdMs: stats(cf),
          linearFwdBwdMs: stats(lb),
          convFwdBwdMs: stats(cb),
          fwdBwdSpeedup: +(median(lb) / median(cb)).toFixed(2),
          maxRelDiff: +maxRelDiff.toExponential(2),
        };
      });
      rows.push(row);
    }
  }
  return rows;
}

function flag(name: string, fallback: number[]): number[] {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = (process.argv[i + 1] ?? '').split(',').map(Number);
  if (!v.every((x) => Number.isInteger(x) && x >= 1)) throw new Error(`bench linear: --${name} must be positive integers (comma-separated), got ${process.argv[i + 1]}`);
  return v;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = benchLinear({ iters: flag('iters', [10])[0], warmup: flag('warmup', [2])[0], batches: flag('batches', [1, 8]) });
  console.log(JSON.stringify({ threads: getNumThreads(), blasCore: native.blasProbe().corename, rows }));
}
