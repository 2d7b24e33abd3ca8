// The operator profiler (native/profiler.cc): call counts for a known sequence of ops, self ≤ total,
// nesting (a composite op's self time excludes its children), autograd nodes, and start/stop misuse.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { profileOps, randn, tidy, type OpProfileRow } from '../src/torch/index.js';
import { native } from '../src/torch/native.js';

const row = (ops: OpProfileRow[], name: string): OpProfileRow => {
  const r = ops.find((o) => o.name === name);
  assert.ok(r, `${name} not among ${ops.map((o) => o.name).join(', ')}`);
  return r;
};

describe('operator profiler', () => {
  it('counts each operator call, with self time at most its inclusive time', () => {
    const a = randn([64, 64]);
    const b = randn([64, 64]);
    const { value, ops } = profileOps(() =>
      tidy(() => {
        let x = a;
        for (let i = 0; i < 3; i++) x = x.matmul(b);
        return x.add(a).add(b).shape;
      }),
    );
    assert.deepEqual(value, [64, 64]);
    assert.equal(row(ops, 'aten::mm').calls, 3);
    assert.equal(row(ops, 'aten::add').calls, 2);
    for (const o of ops) {
      assert.ok(o.calls >= 1 && Number.isFinite(o.selfMs) && o.selfMs >= 0, JSON.stringify(o));
      assert.ok(o.selfMs <= o.totalMs + 1e-6, JSON.stringify(o));
    }
    // by self time, largest first
    for (let i = 1; i < ops.length; i++) assert.ok(ops[i - 1]!.selfMs >= ops[i]!.selfMs);
    a.dispose();
    b.dispose();
  });

  it('a composite op (matmul → mm) keeps its children out of its self time', () => {
    const a = randn([256, 256]);
    const { ops } = profileOps(() => tidy(() => void a.matmul(a)));
    const matmul = row(ops, 'aten::matmul');
    const mm = row(ops, 'aten::mm');
    assert.ok(matmul.totalMs >= mm.totalMs, `matmul ${matmul.totalMs} ms inclusive < mm ${mm.totalMs} ms`);
    assert.ok(matmul.selfMs <= matmul.totalMs - mm.totalMs + 1e-6);
    a.dispose();
  });

  it('records the backward pass: autograd nodes and the kernels they run', () => {
    const w = randn([32, 16]);
    w.setRequiresGrad(true);
    const x = randn([8, 32]);
    const { ops } = profileOps(() => tidy(() => x.matmul(w).sum().backward()));
    assert.equal(row(ops, 'MmBackward0').calls, 1);
    assert.ok(row(ops, 'aten::mm').calls >= 2, 'forward mm plus the gradient mm');
    w.dispose();
    x.dispose();
  });

  it('stops when the profiled function throws, and refuses misuse', () => {
    assert.throws(() => profileOps(() => { throw new Error('boom'); }), /boom/);
    // stopped: a new profile starts, with nothing left from before
    const t = randn([4]);
    const { ops } = profileOps(() => tidy(() => void t.mul(t)));
    assert.equal(row(ops, 'aten::mul').calls, 1);
    t.dispose();
    assert.throws(() => native.profileStop(), /no profile is running/);
    native.profileStart();
    try {
      assert.throws(() => native.profileStart(), /a profile is already running/);
    } finally {
      native.profileStop();
    }
    assert.throws(() => profileOps(() => profileOps(() => 1)), /a profile is already running/);
    assert.throws(() => profileOps(async () => 1), /profileOps\(\): the function returned a Promise/);
    profileOps(() => 1); // and the refused call stopped its profile
  });
});
