// Bad input from JS must end in a clear JS error, never a crash of the process.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { callOp, defOp, fromArray, tensor, zeros, F, noGrad } from '../src/torch/index.js';
import { native } from '../src/torch/native.js';

describe('native errors become JS errors', () => {
  it('libtorch errors name the operator and keep libtorch\'s message', () => {
    const a = zeros([2, 3]);
    const b = zeros([4, 5]);
    assert.throws(() => a.matmul(b), (e: Error) => /aten::matmul/.test(e.message) && /shapes cannot be multiplied/.test(e.message));
    assert.throws(() => F.conv2d(zeros([2, 2]), zeros([1, 1, 3, 3])), /aten::conv2d: Expected 3D \(unbatched\) or 4D/);
    assert.throws(() => a.select(0, 7), (e: Error) => e instanceof RangeError && /aten::select\.int.*out of range/.test(e.message));
  });

  it('arguments are validated against the schema before the call', () => {
    const a = zeros([2]);
    assert.throws(() => callOp('aten::add.Tensor', [a, 'x']), /argument 'other' \(Tensor\): expected a Tensor, got string/);
    assert.throws(() => callOp('aten::reshape', [a, [1.5]]), /argument 'shape'.*expected an integer, got 1\.5/);
    assert.throws(() => callOp('aten::add.Tensor', [a]), /argument 'other'.*is required/);
    assert.throws(() => callOp('aten::add.Tensor', [a, a, 2]), /is keyword-only/);
    assert.throws(() => callOp('aten::add.Tensor', [a, a], { nope: 1 }), /unknown keyword argument 'nope'/);
    assert.throws(() => callOp('aten::add.Tensor', [a, a, 1, 2, 3]), /takes 3 arguments, got 5/);
    assert.throws(() => callOp('aten::zeros', [[2]], { dtype: 'complex' }), /unknown dtype 'complex'/);
    assert.throws(() => callOp('aten::no_such_op', [a]), /unknown operator aten::no_such_op/);
    assert.throws(() => defOp('add', 'no_overload')([a, a]), /unknown operator aten::add\.no_overload/);
    assert.throws(() => callOp('aten::add.out', [a, a], { out: a }), /out= variants are not part/);
    // int[2] broadcast from one int works like Python
    assert.deepEqual(F.conv2d(zeros([1, 1, 4, 4]), zeros([1, 1, 2, 2]), null, { stride: 2 }).shape, [1, 1, 2, 2]);
    assert.deepEqual((callOp('aten::max_pool2d', [zeros([1, 1, 4, 4]), 2]) as { shape: number[] }).shape, [1, 1, 2, 2]);
  });

  it('disposed tensors, wrong arrays and direct construction are errors', () => {
    const a = tensor([1, 2], [2]);
    a.dispose();
    assert.throws(() => a.shape, /disposed/);
    assert.throws(() => zeros([2]).add(a), /disposed/);
    a.dispose(); // twice is fine
    assert.throws(() => fromArray(new Float32Array(3), [2, 2]), /has 3 elements but the shape needs 4/);
    assert.throws(() => fromArray(new Float32Array(4), [2, -2]), /invalid dimension/);
    assert.throws(() => fromArray(new Int32Array(4), [4], 'float64'), /element size 4 does not match dtype float64/);
    assert.throws(() => fromArray(new Uint8Array(10), [3], 'float32'), /10 bytes given but shape and dtype float32 need 12/);
    assert.throws(() => new (native.NativeTensor as unknown as new () => unknown)(), /cannot be constructed directly/);
    assert.throws(() => tensor([1, 2, 3], [3]).item(), /one element/);
    // objects that only pretend to be handles: errors, not crashes
    const fake = Object.create(native.NativeTensor.prototype) as never;
    assert.throws(() => (fake as { shape: number[] }).shape);
    assert.throws(() => callOp('aten::add.Tensor', [{ native: fake }, zeros([1])]));
    assert.throws(() => native.callOp(1e9, []), /unknown op id/);
    assert.throws(() => zeros([2]).native.backward(fake));
  });

  it('autograd misuse: in-place on a leaf, backward twice, backward without grad', () => {
    const w = tensor([1, 2], [2], { requiresGrad: true });
    assert.throws(() => w.add_(1), /leaf Variable that requires grad is being used in an in-place operation/);
    noGrad(() => w.add_(1)); // allowed under noGrad
    const y = w.mul(w).sum();
    y.backward();
    assert.throws(() => y.backward(), /backward through the graph a second time/);
    assert.throws(() => tensor([1], [1]).sum().backward(), /does not require grad/);
    // mutating a tensor saved for backward
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const h = x.mul(2);
    const z = h.pow(2).sum(); // pow saves its input h
    h.mul_(3);
    assert.throws(() => z.backward(), /modified by an inplace operation/);
  });
});

describe('engine info', () => {
  it('detects OpenBLAS, and warns loudly about the reference BLAS', async () => {
    const { detectBlas, engineInfo } = await import('../src/torch/info.js');
    assert.equal(engineInfo('x').blas.kind, 'openblas');
    const ref = detectBlas(['/usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13.0', '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0']);
    assert.equal(ref.kind, 'reference');
    assert.match(ref.warning ?? '', /reference \(netlib\) BLAS.*apt-get install libopenblas0-openmp/);
    const pthread = detectBlas(['/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so']);
    assert.equal(pthread.kind, 'openblas');
    assert.match(pthread.warning ?? '', /pthread build is loaded/);
    const omp = detectBlas(['/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblasp-r0.3.21.so']);
    assert.deepEqual(omp, { kind: 'openblas', path: '/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblasp-r0.3.21.so' });
    assert.equal(engineInfo('x').blas.warning, undefined, 'make setup selects the OpenMP build');
  });
});
