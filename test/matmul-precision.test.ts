// setMatmulPrecision('bf16'): linear, matmul and bmm compute on bfloat16-rounded inputs with float32 results
// (against the same products computed by hand in float64), gradients come back float32, everything else is
// untouched; which precision 'auto' picks per CPU; and a training run that trains in bf16 but evaluates in
// float32 (so its val figures are what `streetseg eval` gives).
import { after, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { F, fromArray, getMatmulPrecision, setMatmulPrecision, tidy, type Tensor } from '../src/torch/index.js';
import { parseCpuinfo } from '../src/torch/blas-core.js';
import { chooseMatmulPrecision } from '../src/torch/matmul-precision.js';
import { resolveConfig } from '../src/train/config.js';
import { defaultCallbacks } from '../src/train/callbacks/index.js';
import { Trainer } from '../src/train/trainer.js';
import { Callback, type TrainContext } from '../src/train/callback.js';
import { repoRoot } from '../src/util/paths.js';
import { tinyConfig, tinyDataset, tmpRun } from './helpers/train-fixture.js';

/** float32 → bfloat16 (round to nearest even) → float32, as libtorch's conversion does. */
function bf16(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer);
  u[0] = ((u[0]! + 0x7fff + ((u[0]! >>> 16) & 1)) >>> 16) << 16;
  return f[0]!;
}

/** Deterministic float32 values with every mantissa bit in use, so that bfloat16 rounding changes them. */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
}

/** a (m×k) · b (k×n), row-major, optionally with inputs rounded to bfloat16 and the result too. */
function product(a: Float32Array, b: Float32Array, m: number, k: number, n: number, round: boolean): { y: number[]; scale: number[] } {
  const r = round ? bf16 : (v: number) => v;
  const y: number[] = [];
  const scale: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let abs = 0;
      for (let t = 0; t < k; t++) {
        const p = r(a[i * k + t]!) * r(b[t * n + j]!);
        s += p;
        abs += Math.abs(p);
      }
      y.push(round ? bf16(s) : s);
      scale.push(abs);
    }
  }
  return { y, scale };
}

/**
 * Within the textbook bound of a K-term dot product summed in any order in bfloat16 arithmetic (unit roundoff
 * u = 2⁻⁸): |error| ≤ γ_K · Σ|terms|, γ_K = K·u / (1 − K·u), plus the final rounding. oneDNN sums in
 * float32 and rounds once; ATen's own bfloat16 GEMM (CPUs without AVX-512) rounds as it goes; both fit.
 */
function assertBf16Close(got: number[], ref: { y: number[]; scale: number[] }, k: number, what: string): void {
  assert.equal(got.length, ref.y.length);
  const u = 2 ** -8;
  const gamma = (k * u) / (1 - k * u);
  got.forEach((g, i) => {
    const tol = gamma * ref.scale[i]! + u * Math.abs(ref.y[i]!);
    assert.ok(Math.abs(g - ref.y[i]!) <= tol, `${what}[${i}]: ${g}, expected ${ref.y[i]} (bf16 inputs) within ${tol}`);
  });
}

/** The same values, exactly. */
function assertSame(got: number[], want: number[], what: string): void {
  assert.equal(got.length, want.length);
  got.forEach((g, i) => assert.ok(Object.is(g, want[i]), `${what}[${i}]: ${g} vs ${want[i]}`));
}

const maxDiff = (a: number[], b: number[]): number => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));

describe('matmul precision bf16', () => {
  after(() => setMatmulPrecision('highest'));

  it('linear: bfloat16 inputs, float32 result, the bias added in float32; gradients float32', () => {
    const [m, k, n] = [5, 37, 3];
    const x = values(m * k, 1);
    const w = values(n * k, 2); // (out, in)
    const b = values(n, 3);
    const wT = Float32Array.from({ length: k * n }, (_, i) => w[(i % n) * k + Math.floor(i / n)]!);
    const fp32 = tidy(() => F.linear(fromArray(x, [m, k]), fromArray(w, [n, k]), fromArray(b, [n])).toList());
    setMatmulPrecision('bf16');
    try {
      tidy(() => {
        const xt = fromArray(x, [m, k]).setRequiresGrad(true);
        const wt = fromArray(w, [n, k]).setRequiresGrad(true);
        const bt = fromArray(b, [n]).setRequiresGrad(true);
        const y = F.linear(xt, wt, bt);
        assert.equal(y.dtype, 'float32');
        // exactly libtorch's bfloat16 product, made float32, plus the float32 bias
        const explicit = F.linear(xt.to('bfloat16'), wt.to('bfloat16')).to('float32').add(bt);
        assertSame(y.toList(), explicit.toList(), 'linear vs explicit bf16');
        const ref = product(x, wT, m, k, n, true);
        assertBf16Close(y.toList(), { y: ref.y.map((v, i) => v + b[i % n]!), scale: ref.scale }, k, 'linear');
        assert.ok(maxDiff(y.toList(), fp32) > 1e-4, 'the bf16 result differs from float32 (the mode is in effect)');
        // L = Σ y · g: dL/dW = gᵀ x with the grad and x in bfloat16; dL/db = Σ_rows g in float32, exactly
        const g = values(m * n, 4);
        y.mul(fromArray(g, [m, n])).sum().backward();
        assert.equal(wt.grad!.dtype, 'float32');
        assert.equal(xt.grad!.dtype, 'float32');
        const gT = Float32Array.from({ length: n * m }, (_, i) => g[(i % m) * n + Math.floor(i / m)]!);
        assertBf16Close(wt.grad!.toList(), product(gT, x, n, m, k, true), m, 'dL/dW');
        assertBf16Close(xt.grad!.toList(), product(g, w, m, n, k, true), n, 'dL/dx');
        const db = Array.from({ length: n }, (_, j) => Array.from({ length: m }, (_, i) => g[i * n + j]!).reduce((s, v) => s + v, 0));
        bt.grad!.toList().forEach((v, j) => assert.ok(Math.abs(v - db[j]!) <= 1e-6, `dL/db[${j}] ${v} vs ${db[j]}`));
      });
    } finally {
      setMatmulPrecision('highest');
    }
  });

  it('matmul (batched) and bmm round their inputs the same way; conv2d and float64 are left alone', () => {
    const [B, m, k, n] = [2, 4, 29, 3];
    const a = values(B * m * k, 5);
    const b = values(B * k * n, 6);
    setMatmulPrecision('bf16');
    try {
      tidy(() => {
        const at = fromArray(a, [B, m, k]);
        const bt = fromArray(b, [B, k, n]);
        const explicit = F.matmul(at.to('bfloat16'), bt.to('bfloat16')).to('float32').toList();
        for (const [name, y] of [['matmul', F.matmul(at, bt)], ['bmm', F.bmm(at, bt)]] as [string, Tensor][]) {
          assert.equal(y.dtype, 'float32');
          const got = y.toList();
          assertSame(got, explicit, `${name} vs explicit bf16`);
          for (let i = 0; i < B; i++) {
            const ref = product(a.subarray(i * m * k, (i + 1) * m * k), b.subarray(i * k * n, (i + 1) * k * n), m, k, n, true);
            assertBf16Close(got.slice(i * m * n, (i + 1) * m * n), ref, k, `${name} batch ${i}`);
          }
        }
        // float64 products are not lowered: exact against the float64 sum
        const y64 = F.matmul(at.to('float64'), bt.to('float64')).toList();
        const ref64 = product(a.subarray(0, m * k), b.subarray(0, k * n), m, k, n, false);
        y64.slice(0, m * n).forEach((v, i) => assert.ok(Math.abs(v - ref64.y[i]!) <= 1e-12, `float64 matmul[${i}]`));
        // convolutions stay float32: a 1×1 conv is the same product without rounding
        const x = fromArray(a.subarray(0, k * m), [1, k, m, 1]);
        const w = fromArray(b.subarray(0, n * k), [n, k, 1, 1]);
        const conv = F.conv2d(x, w).toList();
        const xT = Float32Array.from({ length: m * k }, (_, i) => a[(i % k) * m + Math.floor(i / k)]!);
        const wT = Float32Array.from({ length: k * n }, (_, i) => b[(i % n) * k + Math.floor(i / n)]!);
        const refConv = product(xT, wT, m, k, n, false); // (m × n), conv output is (n × m)
        conv.forEach((v, i) => {
          const r = refConv.y[(i % m) * n + Math.floor(i / m)]!;
          assert.ok(Math.abs(v - r) <= 1e-5, `conv2d[${i}] ${v} vs ${r}`);
        });
      });
    } finally {
      setMatmulPrecision('highest');
    }
  });

  it('refuses an unknown precision', () => {
    assert.throws(() => setMatmulPrecision('fp16' as 'bf16'), /matmul precision 'fp16': expected highest or bf16/);
    assert.equal(getMatmulPrecision(), 'highest');
  });
});

describe('matmul precision per CPU', () => {
  const cpu = (flags: string) => parseCpuinfo(`processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: ${flags}\n`);
  const AVX2 = 'sse sse2 avx avx2 fma';
  const AVX512 = `${AVX2} avx512f avx512bw avx512dq avx512vl`;

  it('auto: bf16 with AVX512-BF16 or AMX-BF16, float32 elsewhere, saying why', () => {
    assert.equal(chooseMatmulPrecision('auto', cpu(`${AVX512} avx512_bf16`)).precision, 'bf16');
    assert.equal(chooseMatmulPrecision('auto', cpu(`${AVX512} amx_bf16 amx_tile`)).precision, 'bf16');
    const avx512 = chooseMatmulPrecision('auto', cpu(AVX512));
    assert.deepEqual([avx512.precision, /no avx512_bf16 or amx_bf16/.test(avx512.reason)], ['highest', true]);
    const avx2 = chooseMatmulPrecision('auto', cpu(`${AVX2} avx512_bf16`)); // oneDNN's bf16 path needs AVX-512 BW/VL/DQ too
    assert.deepEqual([avx2.precision, /no avx512bw, avx512vl, avx512dq/.test(avx2.reason)], ['highest', true]);
    assert.equal(chooseMatmulPrecision('auto', null).precision, 'highest');
  });

  it('highest and bf16 are what is asked; bf16 on a CPU without bfloat16 dot products warns', () => {
    assert.equal(chooseMatmulPrecision('highest', cpu(`${AVX512} avx512_bf16`)).precision, 'highest');
    const forced = chooseMatmulPrecision('bf16', cpu(AVX2));
    assert.equal(forced.precision, 'bf16');
    assert.match(forced.reason, /lacks avx512bw, avx512vl, avx512dq, avx512_bf16 or amx_bf16: expect matrix products slower than float32/);
  });
});

/** Records the matmul precision each forward of the model runs under, in training and in evaluation. */
class PrecisionProbe extends Callback {
  readonly name = 'test_precision_probe';
  readonly seen = { train: new Set<string>(), eval: new Set<string>() };
  override onFitStart(ctx: TrainContext): void {
    const model = ctx.model;
    const forward = model.forward.bind(model);
    model.forward = (...args: Parameters<typeof forward>) => {
      this.seen[model.training ? 'train' : 'eval'].add(getMatmulPrecision());
      return forward(...args);
    };
  }
}

describe('training with matmulPrecision bf16', () => {
  it('trains in bf16, evaluates in float32, records it, and gives the process its precision back', async () => {
    const data = await tinyDataset();
    const cfg = resolveConfig(tinyConfig(data, { matmulPrecision: 'bf16', epochs: 1 }));
    const dir = tmpRun('bf16');
    const probe = new PrecisionProbe();
    const logs: string[] = [];
    const result = await new Trainer(cfg, dir, { callbacks: [probe, ...defaultCallbacks(cfg, 'none').callbacks], log: (l) => logs.push(l) }).fit();
    assert.equal(result.how, 'finished');
    assert.deepEqual([[...probe.seen.train], [...probe.seen.eval]], [['bf16'], ['highest']]);
    assert.ok(Number.isFinite(result.lastEval?.metrics.meanIou), 'evaluated');
    assert.equal(getMatmulPrecision(), 'highest');
    assert.ok(logs.some((l) => /^matrix products: bfloat16 inputs/.test(l)), logs.join('\n'));
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).resolved.matmulPrecision, 'bf16');
  });
});

describe('bench model --matmul-precision', () => {
  const cli = (args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'dist', 'src', 'cli', 'main.js'), 'bench', 'model', ...args], { encoding: 'utf8' });

  it("times a checkpoint's architecture in bf16 and says so in its JSON", () => {
    const ckpt = path.join(repoRoot, 'test', 'fixtures', 'hf', 'mobilevit', 'tiny-odd');
    const r = cli(['--checkpoint', ckpt, '--train', '--batch', '2', '--height', '32', '--width', '32', '--iters', '1', '--warmup', '0', '--matmul-precision', 'bf16']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.deepEqual([j.checkpoint, j.matmulPrecision, j.mode, j.runtime], [ckpt, 'bf16', 'train', 'torch']);
    assert.ok(j.msPerStep > 0);
  });

  it('refuses what it cannot do, naming the option', () => {
    const onnx = cli(['--runtime', 'onnx', '--matmul-precision', 'bf16']);
    assert.equal(onnx.status, 2);
    assert.match(onnx.stderr, /--matmul-precision is libtorch's \(--runtime torch\)/);
    const peer = cli(['--checkpoint', 'models/camvid-best', '--compare-pytorch']);
    assert.equal(peer.status, 2);
    assert.match(peer.stderr, /--checkpoint times our side only/);
    const bad = cli(['--matmul-precision', 'fp16']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--matmul-precision/);
  });
});
