// Op results against hand-computed values, and gradients against finite differences.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { F, callOp, tensor, manualSeed, rand, zeros, float, tidy, type Tensor } from '../src/torch/index.js';
import { assertClose, gradcheck, rnd } from './helpers/gradcheck.js';

describe('ops: hand-computed values', () => {
  it('matmul and linear', () => {
    const a = tensor([1, 2, 3, 4], [2, 2]);
    const b = tensor([5, 6, 7, 8], [2, 2]);
    assertClose(a.matmul(b).toList(), [19, 22, 43, 50]);
    // linear: x Wᵀ + b
    const y = F.linear(tensor([1, 2], [1, 2]), tensor([1, 0, 1, 1, 2, -1], [3, 2]), tensor([0.5, 0, -1], [3]));
    assertClose(y.toList(), [1.5, 3, -1]);
  });

  it('conv2d with stride, padding and depthwise groups', () => {
    // 1x1x3x3 input 1..9, 2x2 kernel of ones, stride 1: sums of 2x2 windows.
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const w = tensor([1, 1, 1, 1], [1, 1, 2, 2]);
    assertClose(F.conv2d(x, w).toList(), [12, 16, 24, 28]);
    // padding 1, stride 2: windows at (-1,-1), (-1,1), (1,-1), (1,1)
    assertClose(F.conv2d(x, w, tensor([1], [1]), { stride: 2, padding: 1 }).toList(), [2, 6, 12, 29]);
    // depthwise: 2 channels, each its own 1x1 kernel (×2 and ×-1)
    const x2 = tensor([1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]);
    const wd = tensor([2, -1], [2, 1, 1, 1]);
    assertClose(F.conv2d(x2, wd, null, { groups: 2 }).toList(), [2, 4, 6, 8, -10, -20, -30, -40]);
  });

  it('layer_norm and batch_norm', () => {
    const x = tensor([1, 2, 3], [1, 3]);
    // mean 2, var 2/3 -> (x-2)/sqrt(2/3+1e-5)
    const s = Math.sqrt(2 / 3 + 1e-5);
    assertClose(F.layerNorm(x, [3], null, null).toList(), [-1 / s, 0, 1 / s], 1e-6);
    const wln = tensor([2, 2, 2], [3]);
    const bln = tensor([1, 1, 1], [3]);
    assertClose(F.layerNorm(x, [3], wln, bln).toList(), [1 - 2 / s, 1, 1 + 2 / s], 1e-6);
    // batch norm, training: per-channel batch stats (biased var), running stats updated with momentum.
    const xb = tensor([1, 3, 5, 7], [2, 2, 1, 1]); // channel0: 1,5 ; channel1: 3,7
    const rm = zeros([2]);
    const rv = tensor([1, 1], [2]);
    const y = F.batchNorm(xb, rm, rv, null, null, true, 0.1, 0);
    assertClose(y.toList(), [-1, -1, 1, 1], 1e-6);
    assertClose(rm.toList(), [0.3, 0.5], 1e-6); // 0.9*0 + 0.1*mean
    assertClose(rv.toList(), [0.9 + 0.1 * 8, 0.9 + 0.1 * 8], 1e-5); // unbiased var 8
    // eval: running stats
    const ye = F.batchNorm(tensor([1], [1, 1, 1, 1]), tensor([0.5], [1]), tensor([4], [1]), tensor([3], [1]), tensor([1], [1]), false, 0.1, 0);
    assertClose(ye.toList(), [1 + (3 * 0.5) / 2], 1e-6);
  });

  it('gelu, relu, softmax, log_softmax', () => {
    const x = tensor([-1, 0, 2], [3]);
    const erf = (z: number) => {
      // Abramowitz–Stegun 7.1.26 is not exact enough; use a series for small |z|.
      let s = 0, term = z, n = 0;
      while (Math.abs(term) > 1e-17 && n < 200) { s += term / (2 * n + 1); n++; term *= (-z * z) / n; }
      return (2 / Math.sqrt(Math.PI)) * s;
    };
    const g = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
    assertClose(F.gelu(x).toList(), [g(-1), 0, g(2)], 1e-6);
    const t = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    assertClose(F.gelu(x, 'tanh').toList(), [t(-1), 0, t(2)], 1e-6);
    assertClose(F.relu(x).toList(), [0, 0, 2]);
    const e = [Math.exp(-1), 1, Math.exp(2)];
    const z = e[0]! + e[1]! + e[2]!;
    assertClose(F.softmax(x, 0).toList(), e.map((v) => v / z), 1e-6);
    assertClose(F.logSoftmax(x, 0).toList(), e.map((v) => Math.log(v / z)), 1e-6);
  });

  it('silu, relu6 (out of place and in place), constant pad', () => {
    const x = tensor([-7, -1, 0, 2.5, 6, 9], [6]);
    const silu = (v: number) => v / (1 + Math.exp(-v));
    assertClose(F.silu(x).toList(), x.toList().map(silu), 1e-6);
    assertClose(F.relu6(x).toList(), [0, 0, 0, 2.5, 6, 6]);
    assertClose(x.toList(), [-7, -1, 0, 2.5, 6, 9]); // out of place left x alone
    const y = x.clone();
    assert.equal(F.relu6(y, true), y); // in place: the caller's handle, overwritten
    assertClose(y.toList(), [0, 0, 0, 2.5, 6, 6]);
    const z = x.clone();
    assert.equal(F.silu(z, true), z);
    assertClose(z.toList(), x.toList().map(silu), 1e-6);
    // [left, right, top, bottom] on a 1×1×2×2 map: one column left, two right, one row below.
    const m = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    const p = F.pad(m, [1, 2, 0, 1]);
    assert.deepEqual(p.shape, [1, 1, 3, 5]);
    assert.deepEqual(p.toList(), [0, 1, 2, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(F.pad(m, [0, 1, 0, 0], -1.5).toList(), [1, 2, -1.5, 3, 4, -1.5]);
    assert.deepEqual(F.pad(m, [0, -1, 0, 0]).toList(), [1, 3]); // negative pads crop
  });

  it('dropout2d: whole channels dropped or scaled by 1/(1-p), identity in eval, seeded', () => {
    const x = tensor(new Array(2 * 64 * 3 * 2).fill(1), [2, 64, 3, 2]);
    manualSeed(5);
    const y = F.dropout2d(x, 0.25, true).toList();
    let kept = 0;
    for (let c = 0; c < 128; c++) {
      const ch = y.slice(c * 6, c * 6 + 6);
      const scaled = Math.fround(1 / 0.75);
      assert.ok(ch.every((v) => v === 0) || ch.every((v) => v === scaled), `channel ${c}: ${ch}`);
      if (ch[0] !== 0) kept++;
    }
    assert.ok(kept > 76 && kept < 116, `kept ${kept} of 128 channels at p=0.25`);
    manualSeed(5);
    assert.deepEqual(F.dropout2d(x, 0.25, true).toList(), y);
    assert.equal(F.dropout2d(x, 0.25, false), x);
    assert.equal(F.dropout2d(x, 0, true), x);
    assert.deepEqual(F.dropout2d(x, 1, true).toList(), new Array(768).fill(0));
    assert.throws(() => F.dropout2d(x, -0.1, true), /dropout2d: p must be in \[0, 1\], got -0.1/);
  });

  it('dropout: inverted scaling, identity in eval, seeded', () => {
    const x = tensor(new Array(1000).fill(1), [1000]);
    manualSeed(3);
    const y = F.dropout(x, 0.25, true).toList();
    assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6));
    const kept = y.filter((v) => v !== 0).length;
    assert.ok(kept > 700 && kept < 800, `kept ${kept} of 1000 at p=0.25`);
    manualSeed(3);
    assert.deepEqual(F.dropout(x, 0.25, true).toList(), y);
    assert.equal(F.dropout(x, 0.25, false), x);
    // The mask is u >= p for u from the generator's next uniform draws (one per element).
    manualSeed(3);
    const u = rand([1000]).toList();
    assert.deepEqual(y, u.map((v) => (v >= 0.25 ? Math.fround(1 / 0.75) : 0)));
    assert.deepEqual(F.dropout(x, 1, true).toList(), new Array(1000).fill(0));
    // float64 draws doubles; the gradient is the mask (only x carries one).
    const x64 = tensor(new Array(1000).fill(1), [1000], { dtype: 'float64', requiresGrad: true });
    manualSeed(3);
    const u64 = rand([1000], { dtype: 'float64' }).toList();
    manualSeed(3);
    const y64 = F.dropout(x64, 0.25, true);
    const expected = u64.map((v) => (v >= 0.25 ? 1 / 0.75 : 0));
    assert.deepEqual(y64.toList(), expected);
    y64.sum().backward();
    assert.deepEqual(x64.grad!.toList(), expected);
    // bfloat16 input: the draws are float32 (p is not rounded to bfloat16's 1/256 grid), the output bfloat16.
    const xb = tensor(new Array(1000).fill(1), [1000]).to('bfloat16');
    manualSeed(3);
    const yb = F.dropout(xb, 0.25, true);
    assert.equal(yb.dtype, 'bfloat16');
    assert.deepEqual(yb.to('float32').toList().map((v) => v !== 0), y.map((v) => v !== 0));
    assert.throws(() => F.dropout(x, 1.5, true), /dropout: p must be in \[0, 1\], got 1.5/);
  });

  it('interpolate: bilinear (align_corners false/true) and nearest', () => {
    const x = tensor([0, 1, 2, 3], [1, 1, 2, 2]);
    // align_corners=False, 2->4: src = (dst+0.5)/2-0.5 clamped at 0 -> weights per axis [0, .25, .75, 1]
    const ax = [0, 0.25, 0.75, 1];
    const expected: number[] = [];
    for (const r of ax) for (const c of ax) expected.push(2 * r + c);
    assertClose(F.interpolate(x, { size: [4, 4] }).toList(), expected, 1e-6);
    // align_corners=True, 2->3: [0, .5, 1]
    const ac = [0, 0.5, 1];
    const exp2: number[] = [];
    for (const r of ac) for (const c of ac) exp2.push(2 * r + c);
    assertClose(F.interpolate(x, { size: [3, 3], alignCorners: true }).toList(), exp2, 1e-6);
    // nearest 2->4: src = floor(dst*2/4)
    assertClose(F.interpolate(x, { size: [4, 4], mode: 'nearest' }).toList(), [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3]);
    assert.deepEqual(F.interpolate(x, { scaleFactor: 2, mode: 'nearest' }).shape, [1, 1, 4, 4]);
  });

  it('cross_entropy: class weights, ignore_index, label smoothing', () => {
    // 3 samples, 2 classes; logits rows; targets [0, 1, 255]; weights [1, 3]
    const logits = tensor([2, 0, 0, 1, 5, 5], [3, 2]);
    const target = tensor([0, 1, 255], [3], { dtype: 'int64' });
    const lse = (a: number, b: number) => Math.log(Math.exp(a) + Math.exp(b));
    const n0 = lse(2, 0) - 2;
    const n1 = lse(0, 1) - 1;
    const ce = F.crossEntropy(logits, target, { weight: tensor([1, 3], [2]), ignoreIndex: 255 });
    assertClose([ce.item()], [(1 * n0 + 3 * n1) / (1 + 3)], 1e-6);
    const sum = F.crossEntropy(logits, target, { ignoreIndex: 255, reduction: 'sum' });
    assertClose([sum.item()], [n0 + n1], 1e-6);
    // label smoothing 0.2 (no weights): (1-ε)·nll + ε·mean_c(-log p_c)
    const eps = 0.2;
    const sm = (row: [number, number], y: number) => {
      const l = lse(row[0], row[1]);
      const lp = [row[0] - l, row[1] - l];
      return (1 - eps) * -lp[y]! + (eps * -(lp[0]! + lp[1]!)) / 2;
    };
    const ls = F.crossEntropy(logits, target, { ignoreIndex: 255, labelSmoothing: eps });
    assertClose([ls.item()], [(sm([2, 0], 0) + sm([0, 1], 1)) / 2], 1e-6);
  });

  it('cat, reshape, permute, transpose, flatten, slicing, sum, mean, argmax', () => {
    const a = tensor([0, 1, 2, 3, 4, 5], [2, 3]);
    assertClose(F.cat([a, a], 0).toList(), [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5]);
    assert.deepEqual(F.cat([a, a], 1).shape, [2, 6]);
    assertClose(a.transpose(0, 1).contiguous().toList(), [0, 3, 1, 4, 2, 5]);
    assertClose(a.reshape([3, 2]).permute([1, 0]).contiguous().toList(), [0, 2, 4, 1, 3, 5]);
    assert.deepEqual(a.reshape([1, 2, 3]).flatten(1).shape, [1, 6]);
    assertClose(a.slice(1, 1, 3).contiguous().toList(), [1, 2, 4, 5]);
    assertClose(a.slice(1, 0, null, 2).contiguous().toList(), [0, 2, 3, 5]);
    assertClose(a.select(0, 1).toList(), [3, 4, 5]);
    assertClose([a.sum().item()], [15]);
    assertClose(a.sum(1).toList(), [3, 12]);
    assertClose(a.mean(0).toList(), [1.5, 2.5, 3.5]);
    assertClose(a.argmax(1).toList(), [2, 2]);
    assert.equal(a.argmax(1).dtype, 'int64');
    assertClose(tensor([3, 9, 1], [3]).argmax().toList(), [1]);
  });

  it('every argument kind through callOp: Tensor?[], multiple returns, ScalarType, Device, string, None', () => {
    const a = tensor([0, 1, 2, 3, 4, 5], [2, 3]);
    // aten::index takes Tensor?[]: a[:, [2, 0]]
    const idx = tensor([2, 0], [2], { dtype: 'int64' });
    assertClose((callOp('aten::index.Tensor', [a, [null, idx]]) as Tensor).toList(), [2, 0, 5, 3]);
    // multiple returns come back as an array: (values, indices)
    const [vals, inds] = callOp('aten::max.dim', [a, 1, false]) as [Tensor, Tensor];
    assertClose(vals.toList(), [2, 5]);
    assertClose(inds.toList(), [2, 2]);
    // ScalarType by name, optional arguments as null, Device as a string
    const z = callOp('aten::zeros', [[2]], { dtype: 'float64', layout: null, device: 'cpu', pin_memory: null }) as Tensor;
    assert.equal(z.dtype, 'float64');
    assert.equal(z.device, 'cpu');
    // int list returns
    assert.deepEqual(callOp('aten::size.int', [a, 1]), 3);
    // bool and string arguments
    assert.equal((callOp('aten::gelu', [a], { approximate: 'tanh' }) as Tensor).dtype, 'float32');
  });

  it('scalar typing: integral numbers are ints, float() forces floating point', () => {
    const i = tensor([1, 2], [2], { dtype: 'int64' });
    assert.equal(i.add(2).dtype, 'int64');
    assert.equal(i.add(float(2)).dtype, 'float32');
    assert.equal(i.mul(0.5).dtype, 'float32');
    assertClose(i.mul(0.5).toList(), [0.5, 1]);
  });
});

describe('ops: gradients against finite differences (float64)', () => {
  it('matmul, linear', () => {
    gradcheck('matmul', (a, b) => a!.matmul(b!), [rnd([2, 3], 1), rnd([3, 4], 2)]);
    gradcheck('linear', (x, w, b) => F.linear(x!, w!, b!), [rnd([2, 3], 3), rnd([4, 3], 4), rnd([4], 5)]);
  });
  it('conv2d: stride, padding, depthwise', () => {
    gradcheck('conv2d', (x, w, b) => F.conv2d(x!, w!, b!, { stride: 2, padding: 1 }), [rnd([1, 2, 5, 5], 6), rnd([3, 2, 3, 3], 7), rnd([3], 8)]);
    gradcheck('conv2d depthwise', (x, w) => F.conv2d(x!, w!, null, { padding: 1, groups: 3 }), [rnd([1, 3, 4, 4], 9), rnd([3, 1, 3, 3], 10)]);
  });
  it('layer_norm, batch_norm (train and eval)', () => {
    gradcheck('layer_norm', (x, w, b) => F.layerNorm(x!, [4], w!, b!), [rnd([3, 4], 11), rnd([4], 12, 1), rnd([4], 13)]);
    gradcheck(
      'batch_norm train',
      (x, w, b) => F.batchNorm(x!, null, null, w!, b!, true),
      [rnd([3, 2, 2, 2], 14), rnd([2], 15, 1), rnd([2], 16)],
    );
    const rm = rnd([2], 17).detach();
    const rv = rnd([2], 18, 2).detach();
    gradcheck('batch_norm eval', (x, w, b) => F.batchNorm(x!, rm, rv, w!, b!, false), [rnd([2, 2, 2, 2], 19), rnd([2], 20, 1), rnd([2], 21)]);
  });
  it('gelu, relu, softmax, log_softmax', () => {
    gradcheck('gelu', (x) => F.gelu(x!), [rnd([7], 22, 0.1)]);
    gradcheck('gelu tanh', (x) => F.gelu(x!, 'tanh'), [rnd([7], 23)]);
    gradcheck('relu', (x) => F.relu(x!), [rnd([7], 24, 0.05)]);
    gradcheck('softmax', (x) => F.softmax(x!, 1), [rnd([2, 5], 25)]);
    gradcheck('log_softmax', (x) => F.logSoftmax(x!, 1), [rnd([2, 5], 26)]);
  });
  it('silu, relu6, pad', () => {
    gradcheck('silu', (x) => F.silu(x!), [rnd([7], 40)]);
    gradcheck('relu6', (x) => F.relu6(x!.mul(8)), [rnd([9], 41, 0.05)]);
    gradcheck('pad', (x) => F.pad(x!, [1, 0, 2, 1], 0.5), [rnd([1, 2, 2, 3], 42)]);
  });
  it('dropout and drop path (fixed seed per evaluation)', () => {
    gradcheck('dropout', (x) => { manualSeed(7); return F.dropout(x!, 0.3, true); }, [rnd([12], 27)]);
    gradcheck('drop_path', (x) => { manualSeed(8); return F.dropPath(x!, 0.5, true); }, [rnd([4, 3, 2], 28)]);
  });
  it('interpolate bilinear / nearest', () => {
    gradcheck('bilinear', (x) => F.interpolate(x!, { size: [5, 7] }), [rnd([1, 2, 3, 4], 29)]);
    gradcheck('bilinear ac', (x) => F.interpolate(x!, { size: [5, 7], alignCorners: true }), [rnd([1, 1, 3, 4], 30)]);
    gradcheck('nearest', (x) => F.interpolate(x!, { size: [6, 8], mode: 'nearest' }), [rnd([1, 1, 3, 4], 31)]);
  });
  it('cross_entropy with weights, ignore_index, label smoothing', () => {
    const target = tensor([0, 2, 255, 1, 2, 0], [2, 3], { dtype: 'int64' });
    const w = tensor([0.5, 2, 1], [3], { dtype: 'float64' });
    gradcheck('ce', (x) => F.crossEntropy(x!, target, { weight: w, ignoreIndex: 255, labelSmoothing: 0.1 }), [rnd([2, 3, 3], 32)]);
  });
  it('cat, reshape, permute, transpose, flatten, slice, sum, mean', () => {
    gradcheck('cat', (a, b) => F.cat([a!, b!], 1), [rnd([2, 2], 33), rnd([2, 3], 34)]);
    gradcheck('reshape/permute', (a) => a!.reshape([3, 2, 2]).permute([2, 0, 1]), [rnd([2, 6], 35)]);
    gradcheck('transpose/flatten', (a) => a!.transpose(0, 2).flatten(), [rnd([2, 3, 2], 36)]);
    gradcheck('slice', (a) => a!.slice(1, 1, null, 2).mul(a!.slice(1, 0, 2)), [rnd([3, 4], 37)]);
    gradcheck('sum/mean', (a) => a!.sum(1).add(a!.mean(0).sum()), [rnd([3, 4], 38)]);
    gradcheck('pow/exp/log/sqrt', (a) => a!.pow(2).add(a!.exp()).add(a!.abs().add(float(1)).log()).add(a!.abs().add(float(0.5)).sqrt()), [rnd([5], 39)]);
  });
});

describe('ops: leak-free scopes', () => {
  it('tidy disposes intermediates and keeps results', async () => {
    const { memoryStats } = await import('../src/torch/index.js');
    const before = memoryStats().liveTensors;
    const kept = tidy(() => {
      const a = tensor([1, 2, 3], [3]);
      const b = a.mul(2).add(1);
      return { b, list: [b.sum()] };
    });
    assert.equal(memoryStats().liveTensors, before + 2);
    assertClose(kept.b.toList(), [3, 5, 7]);
    kept.b.dispose();
    kept.list[0]!.dispose();
    assert.equal(memoryStats().liveTensors, before);
    assert.throws(() => kept.b.toList(), /disposed/);
    assert.throws(() => tidy(() => { tensor([1], [1]); throw new Error('boom'); }), /boom/);
    assert.equal(memoryStats().liveTensors, before);
    assert.throws(() => tidy(() => Promise.resolve(1) as unknown as number), /Promise/);
  });
});

export type { Tensor };

describe('int[N] arguments', () => {
  it('take lists of any length (int[1]? dim), and a single value broadcasts to N', () => {
    tidy(() => {
      const x = tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
      assert.deepEqual(x.mean([1, 2]).toList(), [2.5, 6.5]); // mean.dim with two dims
      assert.deepEqual(x.amax([0, 2]).toList(), [6, 8]);
      assert.deepEqual(x.amax().toList(), [8]); // amax over every dim (dim=[])
    });
  });
});
