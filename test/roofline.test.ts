// bench/roofline.ts's bookkeeping: which profile rows are GEMM-type, memory-bound or dispatch-only (sample
// rows of libtorch 1.13's CPU profile of a training step), the shares, the FLOP summary, and the replay of
// a recorded GEMM shape (it runs and reports rates; no timed assertions).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { F, randn, tidy } from '../src/torch/index.js';
import { countFlops } from '../src/torch/flops.js';
import { classifyOp, flopSummary, medianRows, shapeRate, splitProfile } from '../bench/roofline.js';

describe('roofline: op classification', () => {
  it('GEMM kernels, their entry points and backward nodes are GEMM-type', () => {
    for (const n of [
      'aten::mm', 'aten::addmm', 'aten::bmm', 'aten::baddbmm', 'aten::matmul', 'aten::linear', 'aten::mv', 'aten::conv2d',
      'aten::convolution', 'aten::_convolution', 'aten::mkldnn_convolution', 'aten::convolution_backward', 'aten::slow_conv_dilated2d',
      'aten::_slow_conv2d_forward', 'aten::_slow_conv2d_backward', 'AddmmBackward0', 'MmBackward0', 'BmmBackward0', 'ConvolutionBackward0',
      'autograd::engine::evaluate_function: AddmmBackward0',
    ]) assert.equal(classifyOp(n), 'gemm', n);
  });

  it('elementwise, norms, softmax, copies, reductions, upsampling, loss, RNG and optimizer ops are memory-bound', () => {
    for (const n of [
      'aten::mul', 'aten::add_', 'aten::copy_', 'aten::_softmax', 'aten::_softmax_backward_data', 'aten::native_layer_norm',
      'aten::native_batch_norm_backward', 'aten::gelu_backward', 'aten::silu', 'aten::upsample_bilinear2d_backward', 'aten::sum',
      'aten::_log_softmax', 'aten::nll_loss2d_forward', 'aten::uniform_', 'aten::addcdiv_', 'aten::fill_', 'aten::cat',
      'torch::autograd::AccumulateGrad', 'GeluBackward0', 'NativeLayerNormBackward0',
    ]) assert.equal(classifyOp(n), 'memory', n);
  });

  it('views, metadata, allocation and autograd\'s wrappers only dispatch', () => {
    for (const n of [
      'aten::view', 'aten::as_strided', 'aten::select', 'aten::empty', 'aten::empty_strided', 'aten::t', 'aten::resolve_conj', 'detach',
      'aten::to', 'autograd::engine::evaluate_function: GeluBackward0', 'ViewBackward0', 'PermuteBackward0',
    ]) assert.equal(classifyOp(n), 'dispatch', n);
    // a name that merely starts like a GEMM op is not one
    assert.equal(classifyOp('aten::mmx'), 'memory');
    assert.equal(classifyOp('MulBackward0'), 'memory');
  });

  it('splits a profile into class times and shares, with the top memory-bound rows', () => {
    const rows = [
      { name: 'aten::mm', calls: 10, totalMs: 60, selfMs: 60 },
      { name: 'aten::copy_', calls: 100, totalMs: 20, selfMs: 20 },
      { name: 'aten::_softmax', calls: 8, totalMs: 10, selfMs: 10 },
      { name: 'aten::view', calls: 500, totalMs: 5, selfMs: 5 },
      { name: 'MmBackward0', calls: 5, totalMs: 50, selfMs: 5 },
    ];
    const s = splitProfile(rows, 1);
    assert.equal(s.profiledMs, 100);
    assert.deepEqual(s.ms, { gemm: 65, memory: 30, dispatch: 5 });
    assert.deepEqual(s.share, { gemm: 0.65, memory: 0.3, dispatch: 0.05 });
    assert.deepEqual(s.topMemory, [{ name: 'aten::copy_', calls: 100, selfMs: 20, share: 0.2 }]);
    assert.equal(s.topGemm[0]!.name, 'aten::mm');
  });

  it('merges several profiles of a step into per-row medians', () => {
    const a = [{ name: 'aten::mm', calls: 2, totalMs: 10, selfMs: 10 }, { name: 'aten::add', calls: 1, totalMs: 70, selfMs: 70 }];
    const b = [{ name: 'aten::mm', calls: 2, totalMs: 12, selfMs: 12 }, { name: 'aten::add', calls: 1, totalMs: 8, selfMs: 8 }];
    const c = [{ name: 'aten::mm', calls: 2, totalMs: 11, selfMs: 11 }, { name: 'aten::add', calls: 1, totalMs: 9, selfMs: 9 }, { name: 'aten::view', calls: 1, totalMs: 1, selfMs: 1 }];
    assert.deepEqual(medianRows([a, b, c]), [
      { name: 'aten::mm', calls: 2, selfMs: 11, totalMs: 11 },
      { name: 'aten::add', calls: 1, selfMs: 9, totalMs: 9 }, // one step's 70 ms burst does not count
      { name: 'aten::view', calls: 0, selfMs: 0, totalMs: 0 }, // seen in one profile of three
    ]);
  });
});

describe('roofline: FLOP summary and shape replay', () => {
  it('sums a count by direction and op and names the calls without an input gradient', () => {
    tidy(() => {
      const x = randn([1, 3, 8, 8]);
      const w = randn([4, 3, 3, 3]).setRequiresGrad();
      const v = randn([6, 4]).setRequiresGrad();
      const { count } = countFlops(() => F.linear(F.conv2d(x, w, null, { padding: 1 }).permute([0, 2, 3, 1]), v));
      const s = flopSummary(count);
      const conv = 2 * 4 * 64 * 27;
      const lin = 2 * 64 * 4 * 6;
      assert.equal(s.forward.gemm, +((conv + lin) / 1e9).toFixed(3));
      assert.deepEqual(Object.keys(s.byOp).sort(), ['conv2d', 'linear']);
      assert.equal(s.byOp.conv2d!.calls, 1);
      assert.deepEqual(s.noGradInput, ['conv2d 1x3x8x8, 4x3x3x3']);
    });
  });

  it('replays a recorded call shape alone, forward and forward + backward', () => {
    tidy(() => {
      const a = randn([64, 32]).setRequiresGrad();
      const b = randn([48, 32]).setRequiresGrad();
      const { count } = countFlops(() => F.matmul(a, b.transpose(0, 1)));
      const total = count.gemm.fwd + count.gemm.bwd;
      const r = shapeRate(count.shapes[0]!, total, 2);
      assert.equal(r.op, 'matmul');
      assert.equal(r.shapes, '64x32, 32x48 (transposed)');
      assert.equal(r.flopShare, 1);
      assert.equal(r.replayedContiguous, false);
      assert.ok(r.fwdGflops > 0 && r.fwdBwdGflops !== null && r.fwdBwdGflops > 0);
    });
  });
});
