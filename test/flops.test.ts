// The FLOP counter (src/torch/flops.ts) against hand-computed counts: a strided grouped conv, a
// depthwise conv, a linear, a bmm and a broadcasting matmul, forward and the derived backward (one GEMM
// per operand that takes a gradient), the bytes of the other ops, phases, and that the observer goes away.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { F, noGrad, randn, setOpObserver, tidy } from '../src/torch/index.js';
import { convFlops, countFlops, matmulFlops } from '../src/torch/flops.js';

describe('FLOP counter', () => {
  it('a grouped conv with stride: 2·N·Cout·Hout·Wout·(Cin/groups)·kh·kw, backward only for the weight when the input is data', () => {
    tidy(() => {
      const x = randn([2, 4, 9, 9]); // data: no grad
      const w = randn([6, 2, 3, 3]).setRequiresGrad(); // Cin/groups = 4/2
      const { value: y, count } = countFlops(() => F.conv2d(x, w, null, { stride: 2, padding: 1, groups: 2 }));
      assert.deepEqual(y.shape, [2, 6, 5, 5]); // (9 + 2 - 3) / 2 + 1 = 5
      const fwd = 2 * 2 * 6 * 5 * 5 * 2 * 3 * 3;
      assert.equal(fwd, 10800);
      assert.deepEqual(count.gemm, { fwd, bwd: fwd });
      assert.equal(count.shapes.length, 1);
      assert.equal(count.shapes[0]!.gradOperands, 1);
      assert.equal(count.shapes[0]!.op, 'conv2d');
      // the same conv on an activation that takes grads: grad input + grad weight
      const h = randn([2, 4, 9, 9]).setRequiresGrad();
      const both = countFlops(() => F.conv2d(h, w, null, { stride: 2, padding: 1, groups: 2 })).count;
      assert.deepEqual(both.gemm, { fwd, bwd: 2 * fwd });
    });
  });

  it('a depthwise conv (groups = C) counts one input channel per output channel', () => {
    tidy(() => {
      const x = randn([1, 8, 6, 6]).setRequiresGrad();
      const w = randn([8, 1, 3, 3]).setRequiresGrad();
      const { count } = countFlops(() => F.conv2d(x, w, null, { padding: 1, groups: 8 }));
      assert.equal(count.gemm.fwd, 2 * 1 * 8 * 6 * 6 * 1 * 3 * 3);
      assert.equal(convFlops([8, 1, 3, 3], [1, 8, 6, 6]), 2 * 8 * 36 * 9);
    });
  });

  it('a linear over (B, N, in) tokens: 2·B·N·in·out, backward 2× (the bias grad is a reduction, not counted)', () => {
    tidy(() => {
      const x = randn([3, 5, 7]).setRequiresGrad();
      const w = randn([4, 7]).setRequiresGrad();
      const b = randn([4]).setRequiresGrad();
      const { count } = countFlops(() => F.linear(x, w, b));
      assert.deepEqual(count.gemm, { fwd: 2 * 15 * 7 * 4, bwd: 2 * 2 * 15 * 7 * 4 });
    });
  });

  it('bmm and a broadcasting matmul, and torch.matmul\'s 1-D rules', () => {
    tidy(() => {
      const a = randn([2, 3, 4]).setRequiresGrad();
      const b = randn([2, 4, 5]).setRequiresGrad();
      const { count } = countFlops(() => F.bmm(a, b));
      assert.deepEqual(count.gemm, { fwd: 240, bwd: 480 }); // 2·2·3·4·5
      const p = randn([2, 1, 3, 4]);
      const q = randn([5, 4, 6]);
      const mm = countFlops(() => F.matmul(p, q)).count; // batch (2, 5); neither operand takes grads
      assert.deepEqual(mm.gemm, { fwd: 2 * 10 * 3 * 4 * 6, bwd: 0 });
    });
    assert.equal(matmulFlops([4], [4, 6]), 2 * 4 * 6);
    assert.equal(matmulFlops([3, 4], [4]), 2 * 3 * 4);
    assert.equal(matmulFlops([8, 1, 10, 32], [8, 1, 32, 16]), 2 * 8 * 10 * 32 * 16);
  });

  it('nothing is owed to backward under noGrad, even for operands that require grad', () => {
    tidy(() => {
      const x = randn([4, 3]).setRequiresGrad();
      const w = randn([2, 3]).setRequiresGrad();
      const { count } = countFlops(() => noGrad(() => F.linear(x, w)));
      assert.deepEqual(count.gemm, { fwd: 2 * 4 * 3 * 2, bwd: 0 });
      assert.equal(count.shapes[0]!.gradOperands, 0);
    });
  });

  it('a forward + backward step: GEMMs by phase, other ops by bytes, views free, backward ops unseen', () => {
    tidy(() => {
      const x = randn([2, 3, 8, 8]);
      const w1 = randn([4, 3, 3, 3]).setRequiresGrad();
      const w2 = randn([5, 4]).setRequiresGrad();
      const { count } = countFlops((mark) => {
        const h = F.relu(F.conv2d(x, w1, null, { padding: 1 })); // (2, 4, 8, 8)
        const t = h.permute([0, 2, 3, 1]); // a view: no bytes
        const y = F.linear(t, w2); // (2, 8, 8, 5)
        const loss = y.sum();
        mark('backward');
        loss.backward();
        mark('optimizer');
        noGrad(() => w2.sub(w2.grad!));
      });
      const conv = 2 * 2 * 4 * 8 * 8 * 3 * 3 * 3;
      const lin = 2 * 2 * 64 * 4 * 5;
      assert.equal(count.gemm.fwd, conv + lin);
      assert.equal(count.gemm.bwd, conv + 2 * lin); // the conv's input is data
      assert.equal(count.phases.forward!.gemmFlops, conv + lin);
      assert.equal(count.phases.backward, undefined); // autograd runs natively: no op passes the observer
      const relu = count.otherOps.find((o) => o.op === 'relu')!;
      assert.equal(relu.bytes, 2 * 2 * 4 * 8 * 8 * 4); // read + write, float32
      assert.equal(relu.flops, 2 * 4 * 8 * 8);
      assert.ok(!count.otherOps.some((o) => o.op === 'permute'));
      assert.equal(count.phases.optimizer!.otherBytes, 3 * 5 * 4 * 4); // sub: two operands and the result
      assert.equal(count.other.bytes, count.otherOps.reduce((s, o) => s + o.bytes, 0));
    });
  });

  it('records each GEMM call shape once with its calls, largest FLOPs first', () => {
    tidy(() => {
      const w = randn([8, 8]).setRequiresGrad();
      const small = randn([2, 8]);
      const big = randn([16, 8]);
      const { count } = countFlops(() => {
        F.linear(small, w);
        F.linear(big, w);
        F.linear(big, w);
      });
      assert.deepEqual(count.shapes.map((s) => s.calls), [2, 1]);
      assert.deepEqual(count.shapes[0]!.args.map((a) => ('tensor' in a ? a.tensor.shape : null)), [[16, 8], [8, 8]]);
      assert.deepEqual(count.shapes[0]!.args.map((a) => ('tensor' in a ? a.tensor.layout : null)), ['contiguous', 'contiguous']);
      const tr = countFlops(() => F.matmul(big, randn([16, 8]).transpose(0, 1))).count; // kᵀ of attention
      assert.equal(tr.shapes[0]!.args.map((a) => ('tensor' in a ? a.tensor.layout : null))[1], 'transposed');
    });
  });

  it('removes its observer afterwards, also when the counted function throws', () => {
    assert.throws(() => countFlops(() => { throw new Error('boom'); }), /boom/);
    const prev = setOpObserver(null);
    assert.equal(prev, null);
    countFlops(() => tidy(() => void randn([2]).add(1)));
    assert.equal(setOpObserver(null), null);
  });
});
