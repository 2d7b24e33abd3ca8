// nn layers (values and gradients), state dicts, optimizers and schedules against hand computation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Adam, AdamW, BatchNorm2d, Conv2d, DropPath, Dropout, LayerNorm, Linear, Module, ModuleList, StateDictError,
  clipGradNorm, cosine, linearWarmup, loadTensors, makeSchedule, manualSeed, polynomial, product, saveTensors,
  tensor, tidy, zeros, F, randn, randint, memoryStats, type Tensor,
} from '../src/torch/index.js';
import { assertClose, gradcheck, rnd } from './helpers/gradcheck.js';

class Net extends Module {
  readonly fc1 = this.child('fc1', new Linear(3, 4));
  readonly blocks = this.child('blocks', new ModuleList([new LayerNorm(4), new LayerNorm(4)]));
  readonly bn = this.child('bn', new BatchNorm2d(4));
  forward(x: Tensor): Tensor {
    let h = this.fc1.forward(x);
    for (const b of this.blocks) h = b.forward(h);
    return this.bn.forward(h.reshape([h.size(0), 4, 1, 1]));
  }
}

describe('nn layers', () => {
  it('Linear / Conv2d default init bounds and forward', () => {
    manualSeed(0);
    const l = new Linear(100, 50);
    const w = l.weight.toList();
    const bound = 1 / Math.sqrt(100);
    assert.ok(w.every((v) => Math.abs(v) <= bound) && Math.max(...w.map(Math.abs)) > 0.9 * bound);
    const c = new Conv2d(4, 8, 3, { padding: 1, groups: 4 });
    assert.deepEqual(c.weight.shape, [8, 1, 3, 3]);
    assert.deepEqual(c.forward(zeros([1, 4, 5, 5])).shape, [1, 8, 5, 5]);
  });

  it('layer gradients against finite differences (float64 modules)', () => {
    // gradcheck perturbs the inputs; the layers' own parameters are passed in as those inputs by
    // loading them into the module in place (no autograd through the copy).
    const check = (name: string, m: Module & { forward(x: Tensor): Tensor }, x: Tensor) => {
      m.to('float64');
      const params = m.parameters();
      gradcheck(name, (xi) => m.forward(xi!), [x, ...params]);
    };
    check('Linear', new Linear(3, 2), rnd([2, 3], 40));
    check('Conv2d', new Conv2d(2, 3, 3, { stride: 2, padding: 1 }), rnd([1, 2, 5, 5], 41));
    check('Conv2d depthwise', new Conv2d(3, 3, 3, { padding: 1, groups: 3 }), rnd([1, 3, 4, 4], 43));
    check('LayerNorm', new LayerNorm(4), rnd([2, 4], 44));
    check('BatchNorm2d train', new BatchNorm2d(2), rnd([3, 2, 2, 2], 45));
    check('BatchNorm2d eval', new BatchNorm2d(2).eval(), rnd([2, 2, 2, 2], 46));
  });

  it('LayerNorm, BatchNorm2d, Dropout, DropPath modules: train/eval behaviour', () => {
    const ln = new LayerNorm(3);
    assertClose(ln.forward(tensor([1, 2, 3], [1, 3])).toList(), [-1.2247, 0, 1.2247], 1e-3);
    const bn = new BatchNorm2d(1);
    bn.forward(tensor([1, 3], [2, 1, 1, 1]));
    assertClose(bn.runningMean.toList(), [0.2], 1e-6);
    assertClose(bn.runningVar.toList(), [0.9 + 0.1 * 2], 1e-6);
    assert.equal(bn.numBatchesTracked.item(), 1);
    bn.eval();
    // eval uses running stats: (1 - 0.2)/sqrt(1.1 + 1e-5)
    assertClose(bn.forward(tensor([1], [1, 1, 1, 1])).toList(), [0.8 / Math.sqrt(1.1 + 1e-5)], 1e-6);
    assert.equal(bn.numBatchesTracked.item(), 1);
    const d = new Dropout(0.5).eval();
    const x = tensor([1, 2], [2]);
    assert.equal(d.forward(x), x);
    const dp = new DropPath(0.5);
    manualSeed(1);
    const y = dp.forward(tensor(new Array(64).fill(1), [64, 1]));
    // per-sample: each row is 0 or 2
    assert.ok(y.toList().every((v) => v === 0 || v === 2));
    gradcheck('DropPath module', (z) => { manualSeed(5); return dp.forward(z!); }, [rnd([6, 2], 42)]);
  });
});

describe('Module state dicts', () => {
  it('names mirror the module tree, round trip through safetensors, strict errors list keys', () => {
    manualSeed(1);
    const a = new Net();
    const names = [...a.stateDict().keys()].sort();
    assert.deepEqual(names, [
      'blocks.0.bias', 'blocks.0.weight', 'blocks.1.bias', 'blocks.1.weight',
      'bn.bias', 'bn.num_batches_tracked', 'bn.running_mean', 'bn.running_var', 'bn.weight',
      'fc1.bias', 'fc1.weight',
    ]);
    assert.equal(a.numParameters(), 3 * 4 + 4 + 4 * 4 + 4 * 2);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-sd-'));
    const file = path.join(dir, 'm.safetensors');
    saveTensors(file, a.stateDict());
    manualSeed(2);
    const b = new Net();
    const x = tensor([0.1, -0.2, 0.3, 1, 2, 3], [2, 3]);
    a.eval();
    b.eval();
    assert.notDeepEqual(b.forward(x).toList(), a.forward(x).toList());
    const sd = loadTensors(file);
    const report = b.loadStateDict(sd);
    assert.deepEqual(report, { missing: [], unexpected: [], mismatched: [] });
    assert.deepEqual(b.forward(x).toList(), a.forward(x).toList());
    // strict errors
    sd.delete('fc1.bias');
    sd.set('extra.weight', zeros([1]));
    sd.set('bn.weight', zeros([5]));
    assert.throws(() => b.loadStateDict(sd), (e: unknown) => {
      assert.ok(e instanceof StateDictError);
      assert.match(e.message, /missing keys \(1\): fc1\.bias/);
      assert.match(e.message, /unexpected keys \(1\): extra\.weight/);
      assert.match(e.message, /bn\.weight expected \[4\] got \[5\]/);
      return true;
    });
    const r = b.loadStateDict(sd, { strict: false });
    assert.deepEqual(r.missing, ['fc1.bias']);
    fs.rmSync(dir, { recursive: true });
  });
});

// A scalar reference implementation of torch.optim.Adam/AdamW (1.13), in float64.
function refAdam(p0: number, grads: number[], o: { lr: number; b1: number; b2: number; eps: number; wd: number; decoupled: boolean; amsgrad?: boolean }): number {
  let p = p0, m = 0, v = 0, vmax = 0;
  grads.forEach((g0, i) => {
    const t = i + 1;
    let g = g0;
    if (o.wd) {
      if (o.decoupled) p *= 1 - o.lr * o.wd;
      else g = g + o.wd * p;
    }
    m = o.b1 * m + (1 - o.b1) * g;
    v = o.b2 * v + (1 - o.b2) * g * g;
    vmax = Math.max(vmax, v);
    const bc1 = 1 - o.b1 ** t;
    const bc2 = 1 - o.b2 ** t;
    const denom = Math.sqrt(o.amsgrad ? vmax : v) / Math.sqrt(bc2) + o.eps;
    p -= (o.lr / bc1) * (m / denom);
  });
  return p;
}

describe('optimizers', () => {
  const grads = [0.5, -1.25, 2.0];
  for (const [name, Opt, wd, decoupled, amsgrad] of [
    ['Adam', Adam, 0, false, false],
    ['Adam + L2 weight decay', Adam, 0.1, false, false],
    ['Adam amsgrad', Adam, 0, false, true],
    ['AdamW', AdamW, 0.05, true, false],
  ] as const) {
    it(`${name}: three steps match the hand-computed update`, () => {
      const p = tensor([1.5, -0.5], [2], { dtype: 'float64', requiresGrad: true });
      const opt = new Opt([p], { lr: 0.1, betas: [0.8, 0.9], eps: 1e-8, weightDecay: wd, amsgrad });
      for (const g of grads) {
        p.grad = tensor([g, 2 * g], [2], { dtype: 'float64' });
        opt.step();
      }
      const o = { lr: 0.1, b1: 0.8, b2: 0.9, eps: 1e-8, wd, decoupled, amsgrad };
      assertClose(p.toList(), [refAdam(1.5, grads, o), refAdam(-0.5, grads.map((g) => 2 * g), o)], 1e-12);
    });
  }

  it('AdamW state round trip resumes exactly', () => {
    const mk = () => tensor([1, 2, 3], [3], { dtype: 'float64', requiresGrad: true });
    const p1 = mk();
    const o1 = new AdamW([p1], { lr: 0.01 });
    const gs = [[0.1, 0.2, -0.3], [0.5, -0.1, 0.2], [0.3, 0.3, 0.3], [-1, 0, 1]];
    for (const g of gs) { p1.grad = tensor(g, [3], { dtype: 'float64' }); o1.step(); }
    const p2 = mk();
    const o2 = new AdamW([p2], { lr: 0.01 });
    for (const g of gs.slice(0, 2)) { p2.grad = tensor(g, [3], { dtype: 'float64' }); o2.step(); }
    const saved = o2.stateDict();
    const p3 = tensor(p2.toList(), [3], { dtype: 'float64', requiresGrad: true });
    const o3 = new AdamW([p3], { lr: 0.5 });
    o3.loadStateDict(saved);
    assert.equal(o3.lr, 0.01);
    for (const g of gs.slice(2)) { p3.grad = tensor(g, [3], { dtype: 'float64' }); o3.step(); }
    assert.deepEqual(p3.toList(), p1.toList());
  });

  it('bad hyper-parameters are rejected', () => {
    const p = zeros([1], { requiresGrad: true });
    assert.throws(() => new Adam([p], { lr: -1 }), /invalid lr/);
    assert.throws(() => new AdamW([p], { betas: [1, 0.9] }), /invalid betas/);
  });

  it('clipGradNorm scales to the max norm and returns the total norm', () => {
    const a = tensor([3, 0], [2], { requiresGrad: true });
    const b = tensor([4], [1], { requiresGrad: true });
    a.grad = tensor([3, 0], [2]);
    b.grad = tensor([4], [1]);
    const n = clipGradNorm([a, b], 1);
    assertClose([n], [5], 1e-6);
    assertClose(a.grad!.toList(), [3 / (5 + 1e-6), 0], 1e-6);
    assertClose(b.grad!.toList(), [4 / (5 + 1e-6)], 1e-6);
    a.grad = tensor([0.3, 0], [2]);
    b.grad = tensor([0.4], [1]);
    clipGradNorm([a, b], 1);
    assertClose(a.grad!.toList(), [0.3, 0], 1e-6);
  });
});

describe('lr schedules', () => {
  it('warmup × poly reproduces the CamVid recipe formula', () => {
    const T = 900;
    const s = makeSchedule({ kind: 'poly', total: T, warmup: 100, power: 1 });
    for (const i of [0, 1, 50, 99, 100, 450, 899]) {
      assertClose([s(i)], [Math.min(1, (i + 1) / 100) * (1 - i / T)], 1e-12, `iter ${i}`);
    }
    assertClose([product(linearWarmup(10), polynomial(100, 2))(5)], [0.6 * (0.95 ** 2)], 1e-12);
    assertClose([cosine(100)(0), cosine(100)(50), cosine(100)(100)], [1, 0.5, 0], 1e-12);
    assertClose([cosine(100, 0.1)(100)], [0.1], 1e-12);
  });
});

describe('memory soak', () => {
  // Disposal frees libtorch memory at once; the small JS shells of handles are reclaimed by GC and
  // Node runs their finalizers on the event loop, so a training loop yields once per step (ours
  // awaits the data loader there anyway).
  it('10,000 training steps of a small model keep RSS and live tensors flat', async () => {
    manualSeed(0);
    class MLP extends Module {
      readonly a = this.child('a', new Linear(16, 64));
      readonly n = this.child('n', new LayerNorm(64));
      readonly b = this.child('b', new Linear(64, 4));
      forward(x: Tensor) { return this.b.forward(this.n.forward(this.a.forward(x)).relu()); }
    }
    const m = new MLP();
    const opt = new AdamW(m.parameters(), { lr: 1e-3 });
    const x = randn([32, 16]);
    const y = randint(0, 4, [32]);
    const step = () => tidy(() => {
      opt.zeroGrad();
      const loss = F.crossEntropy(m.forward(x), y);
      loss.backward();
      opt.step();
      return loss.item();
    });
    let first = 0;
    for (let i = 0; i < 1000; i++) {
      first = step();
      await new Promise(setImmediate);
    }
    const live0 = memoryStats();
    const rss0 = process.memoryUsage().rss;
    let last = 0;
    for (let i = 0; i < 9000; i++) {
      last = step();
      await new Promise(setImmediate);
    }
    const rss1 = process.memoryUsage().rss;
    const live1 = memoryStats();
    assert.equal(live1.liveTensors, live0.liveTensors, 'live tensor count grew');
    assert.equal(live1.externalBytes, live0.externalBytes, 'native bytes grew');
    const growMiB = (rss1 - rss0) / 2 ** 20;
    assert.ok(growMiB < 16, `RSS grew by ${growMiB.toFixed(1)} MiB over 9000 steps`);
    assert.ok(last < first, `loss did not decrease (${first} -> ${last})`);
  });
});
