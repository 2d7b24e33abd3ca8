// Finite-difference gradient checks in float64: analytic grads from libtorch autograd against central
// differences of L = Σ out·w with fixed random w.
import assert from 'node:assert/strict';
import { fromArray, noGrad, tidy, type Tensor } from '../../src/torch/index.js';
import { recordTolerance } from './tolerance.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

/** A float64 tensor with deterministic values in [-1, 1) (or shifted by offset), requiring grad. */
export function rnd(shape: number[], seed: number, offset = 0): Tensor {
  const r = lcg(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float64Array(n).map(() => r() + offset);
  return fromArray(a, shape).setRequiresGrad(true);
}

export function gradcheck(name: string, fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: { eps?: number; atol?: number; rtol?: number } = {}): void {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-6;
  const rtol = opts.rtol ?? 1e-5;
  tidy(() => {
    for (const x of inputs) x.grad = null;
    const out = fn(...inputs);
    const r = lcg(12345);
    const wArr = new Float64Array(out.numel).map(() => r());
    const w = fromArray(wArr, out.shape).to(out.dtype);
    out.mul(w).sum().backward();
    const loss = (): number => noGrad(() => tidy(() => fn(...inputs).mul(w).sum().item()));
    let worst = 0;
    inputs.forEach((x, xi) => {
      if (!x.requiresGrad) return;
      const g = x.grad;
      assert.ok(g, `${name}: input ${xi} got no gradient`);
      const analytic = g.toArray() as Float64Array;
      const data = x.toArray() as Float64Array;
      for (let j = 0; j < data.length; j++) {
        const v = data[j]!;
        data[j] = v + eps;
        x.copyFromArray(data);
        const lp = loss();
        data[j] = v - eps;
        x.copyFromArray(data);
        const lm = loss();
        data[j] = v;
        x.copyFromArray(data);
        const numeric = (lp - lm) / (2 * eps);
        const diff = Math.abs(numeric - analytic[j]!);
        worst = Math.max(worst, diff / (atol + rtol * Math.abs(numeric)));
        assert.ok(
          diff <= atol + rtol * Math.abs(numeric),
          `${name}: d/dinput${xi}[${j}] analytic ${analytic[j]} vs numeric ${numeric} (diff ${diff})`,
        );
      }
    });
    recordTolerance(`gradcheck ${name}: max |analytic − numeric| / (atol + rtol·|numeric|)`, worst, 1);
  });
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-6, msg = ''): void {
  assert.equal(actual.length, expected.length, `${msg} length ${actual.length} vs ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(Number(actual[i]) - Number(expected[i]));
    worst = Math.max(worst, d);
    assert.ok(d <= atol, `${msg} [${i}]: ${actual[i]} vs expected ${expected[i]} (diff ${d}, atol ${atol})`);
  }
  recordTolerance(`assertClose ${msg || `[${expected.length} values]`}`, worst, atol);
}
