// Engine hardening: native calls end in JS errors, never in a crash; autograd sees
// copyFromArray; scopes keep tensors held by class instances; V8 hears about each storage once; the
// addon stays on the main thread; SharedArrayBuffer-backed arrays work; the RNG state round-trips.
// Cases that crashed the process run in a child process, which must exit 0 with a JS error.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  dispose, fromArray, getRngState, inferenceMode, isGradEnabled, keep, manualSeed, memoryStats, noGrad, ones, rand,
  randn, setRngState, tensor, tidy, zeros, type Tensor,
} from '../src/torch/index.js';
import { native } from '../src/torch/native.js';

const torchUrl = new URL('../src/torch/index.js', import.meta.url).href;
const nativeUrl = new URL('../src/torch/native.js', import.meta.url).href;

/** Runs an ES module body in a fresh node; `torch` and `native` are imported. Returns its JSON output. */
function child(body: string): unknown {
  const code = `import * as torch from ${JSON.stringify(torchUrl)};\nimport { native } from ${JSON.stringify(nativeUrl)};\n${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.signal, null, `child died of ${r.signal}; stderr:\n${r.stderr}`);
  assert.equal(r.status, 0, `child exited ${r.status}; stderr:\n${r.stderr}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last);
}

describe('engine hardening', () => {
  it('every export and NativeTensor method turns bad arguments into a JS error (child process)', () => {
    const out = child(`
      const results = {};
      const attempt = (name, fn) => {
        try { const v = fn(); results[name] = { ok: typeof v }; }
        catch (e) { results[name] = { error: e instanceof Error ? e.constructor.name + ': ' + e.message : String(e) }; }
      };
      const fake = Object.create(native.NativeTensor.prototype);
      const dead = torch.zeros([2]).native; dead.dispose();
      // Exported functions with wrong types, fake handles and disposed tensors.
      attempt('NativeTensor()', () => new native.NativeTensor());
      attempt('fromArray(wrong types)', () => native.fromArray([1, 2], 'x', 3));
      attempt('fromArray(huge shape)', () => native.fromArray(new Float32Array(1), [2 ** 40, 2 ** 40], 'float32'));
      attempt('fromArray(bad dtype)', () => native.fromArray(new Float32Array(1), [1], 'complex64'));
      attempt('resolveOp(numbers)', () => native.resolveOp(1, 2));
      attempt('opSchema(string)', () => native.opSchema('x'));
      attempt('opSchema(-1)', () => native.opSchema(-1));
      attempt('callOp(fake handle)', () => native.callOp(native.resolveOp('aten::neg', ''), [fake]));
      attempt('callOp(plain object)', () => native.callOp(native.resolveOp('aten::neg', ''), [{}]));
      attempt('callOp(disposed)', () => native.callOp(native.resolveOp('aten::neg', ''), [dead]));
      attempt('callOp(bad device)', () => torch.zeros([2]).toDevice('gpu'));
      attempt('callOp(cuda on a cpu build)', () => torch.zeros([2]).toDevice('cuda'));
      attempt('callOp(NaN id)', () => native.callOp(NaN, []));
      attempt('setGradEnabled(1)', () => native.setGradEnabled(1));
      attempt('setNumThreads(-1)', () => native.setNumThreads(-1));
      attempt('manualSeed(-1)', () => native.manualSeed(-1));
      attempt('manualSeed(1e300)', () => native.manualSeed(1e300));
      attempt('manualSeed(-1n)', () => native.manualSeed(-1n));
      attempt('setRngState([1])', () => native.setRngState([1]));
      attempt('setRngState(short)', () => native.setRngState(new Uint8Array(3)));
      attempt('exitInferenceMode()', () => native.exitInferenceMode());
      // c10d: wrong handles (a store for a group, a fake tensor), bad options, a destroyed group.
      const storePath = (await import('node:os')).tmpdir() + '/ss-hardening-store-' + process.pid;
      const st = native.distCreateStore({ kind: 'file', path: storePath, worldSize: 1 });
      const g = native.distNewGroup(st, { backend: 'gloo', rank: 0, size: 1, hostname: '127.0.0.1', timeoutMs: 5000 });
      attempt('distCreateStore(5)', () => native.distCreateStore(5));
      attempt('distCreateStore(bad kind)', () => native.distCreateStore({ kind: 'udp', worldSize: 1 }));
      attempt('distCreateStore(port)', () => native.distCreateStore({ kind: 'tcp', host: '127.0.0.1', port: -1, isServer: true, worldSize: 1 }));
      attempt('distStoreSet(fake)', () => native.distStoreSet(fake, 'k', 'v'));
      attempt('distStoreGet(group)', () => native.distStoreGet(g, 'k'));
      attempt('distStoreAdd(bad n)', () => native.distStoreAdd(st, 'k', 'x'));
      attempt('distNewGroup({})', () => native.distNewGroup({}, { backend: 'gloo', rank: 0, size: 1 }));
      attempt('distNewGroup(rank)', () => native.distNewGroup(st, { backend: 'gloo', rank: 1, size: 1, hostname: '127.0.0.1' }));
      attempt('distNewGroup(mpi)', () => native.distNewGroup(st, { backend: 'mpi', rank: 0, size: 1 }));
      attempt('distAllreduce(store)', () => native.distAllreduce(st, [torch.zeros([1]).native], 'sum'));
      attempt('distAllreduce(fake tensor)', () => native.distAllreduce(g, [fake], 'sum'));
      attempt('distAllreduce(prod)', () => native.distAllreduce(g, [torch.zeros([1]).native], 'prod'));
      attempt('distAllreduce(strided)', () => native.distAllreduce(g, [torch.zeros([2, 2]).transpose(0, 1).native], 'sum'));
      attempt('distBroadcast(root)', () => native.distBroadcast(g, [torch.zeros([1]).native], 1));
      attempt('distBarrier(5)', () => native.distBarrier(5));
      attempt('distGroupInfo({})', () => native.distGroupInfo({}));
      attempt('distBackends(junk)', () => native.distBackends({}, fake));
      native.distDestroy(g);
      attempt('distBarrier(destroyed)', () => native.distBarrier(g));
      attempt('distDestroy(again)', () => native.distDestroy(g));
      // Functions without parameters ignore junk arguments and answer.
      for (const f of ['isGradEnabled', 'isInferenceMode', 'getNumThreads', 'stats', 'allocatorStats', 'emptyCache', 'buildInfo', 'getRngState', 'blasProbe']) {
        attempt(f + '(junk)', () => native[f]({}, fake, 'x'));
      }
      // The profiler: misuse is a JS error; junk arguments are ignored.
      attempt('profileStop(not running)', () => native.profileStop(fake));
      attempt('profileStart(junk)', () => native.profileStart({}, fake));
      attempt('profileStart(running)', () => native.profileStart());
      attempt('profileStop(junk)', () => native.profileStop({}, 'x'));
      // Every getter and method: on a disposed handle, on a fake handle, on a plain object, with bad arguments.
      const proto = native.NativeTensor.prototype;
      const members = Object.getOwnPropertyNames(proto).filter((k) => k !== 'constructor');
      // Valid arguments, so that only \`this\` is wrong.
      const good = { setRequiresGrad: [true], copyFromArray: [new Float32Array(2)], sameStorage: [torch.zeros([1]).native] };
      for (const k of members) {
        const d = Object.getOwnPropertyDescriptor(proto, k);
        const call = (self, ...args) => (d.get ? d.get.call(self) : d.value.call(self, ...args));
        const args = good[k] ?? [];
        attempt(k + ' on disposed', () => call(dead, ...args));
        attempt(k + ' on fake', () => call(fake, ...args));
        attempt(k + ' on {}', () => call({}, ...args));
        attempt(k + ' on 5', () => call(5, ...args));
        if (!d.get) attempt(k + '(bad args)', () => call(torch.zeros([2]).native, fake, fake));
      }
      console.log(JSON.stringify({ results, members, exports: Object.keys(native).sort(), cuda: native.buildInfo().cudaAvailable }));
    `) as { results: Record<string, { ok?: string; error?: string }>; members: string[]; exports: string[]; cuda: boolean };
    const { results: r } = out;
    const threw = (name: string, re: RegExp): void => {
      assert.ok(r[name], `no result for ${name}`);
      assert.ok(r[name]!.error, `${name}: expected a JS error, got ${JSON.stringify(r[name])}`);
      assert.match(r[name]!.error!, re, name);
    };
    // The test must cover every export: a new one has to be added here.
    assert.deepEqual(out.exports, [
      'NativeTensor', 'allocatorStats', 'blasProbe', 'buildInfo', 'callOp',
      'distAllreduce', 'distBackends', 'distBarrier', 'distBroadcast', 'distCreateStore', 'distDestroy', 'distGroupInfo', 'distNewGroup',
      'distStoreAdd', 'distStoreGet', 'distStoreSet',
      'emptyCache', 'enterInferenceMode', 'exitInferenceMode',
      'fromArray', 'getNumThreads', 'getRngState', 'isGradEnabled', 'isInferenceMode', 'manualSeed', 'opSchema', 'profileStart', 'profileStop', 'resolveOp',
      'setGradEnabled', 'setNumThreads', 'setRngState', 'stats',
    ]);
    threw('NativeTensor()', /cannot be constructed directly/);
    threw('profileStop(not running)', /^Error: profileStop: no profile is running/);
    assert.deepEqual(r['profileStart(junk)'], { ok: 'undefined' });
    threw('profileStart(running)', /^Error: profileStart: a profile is already running/);
    assert.deepEqual(r['profileStop(junk)'], { ok: 'object' });
    threw('fromArray(wrong types)', /^TypeError: fromArray\(typedArray, shape, dtype\): bad arguments/);
    threw('fromArray(huge shape)', /element count overflows int64/);
    threw('fromArray(bad dtype)', /unknown dtype 'complex64'/);
    threw('resolveOp(numbers)', /expected two strings/);
    threw('opSchema(string)', /expected an op id/);
    threw('opSchema(-1)', /unknown op id/);
    threw('callOp(fake handle)', /^TypeError: aten::neg: expected a Tensor/);
    threw('callOp(plain object)', /argument 'self' \(Tensor\): expected a Tensor, got object/);
    threw('callOp(disposed)', /disposed/);
    threw('callOp(bad device)', /^TypeError: aten::to\.device: argument 'device'.*unknown device 'gpu'/);
    if (!out.cuda) threw('callOp(cuda on a cpu build)', /^Error: aten::to\.device: device 'cuda': this libtorch build has no CUDA$/);
    threw('callOp(NaN id)', /unknown op id/);
    threw('setGradEnabled(1)', /setGradEnabled\(bool\)/);
    threw('setNumThreads(-1)', /expected n >= 1/);
    threw('manualSeed(-1)', /non-negative integer/);
    threw('manualSeed(1e300)', /non-negative integer/);
    threw('manualSeed(-1n)', /outside/);
    threw('setRngState([1])', /^TypeError: setRngState\(bytes\): expected a Uint8Array/);
    threw('setRngState(short)', /^RangeError: setRngState: expected \d+ bytes .*got 3$/);
    threw('exitInferenceMode()', /without a matching enter/);
    threw('distCreateStore(5)', /^TypeError: distCreateStore: expected an options object/);
    threw('distCreateStore(bad kind)', /unknown store kind 'udp'/);
    threw('distCreateStore(port)', /^RangeError: distCreateStore: expected 'port' to be an integer in \[1, 65535\], got -1/);
    threw('distStoreSet(fake)', /^TypeError: distStoreSet: expected a store handle/);
    threw('distStoreGet(group)', /^TypeError: distStoreGet: expected a store handle/);
    threw('distStoreAdd(bad n)', /^TypeError: distStoreAdd\(store, key, n\)/);
    threw('distNewGroup({})', /^TypeError: distNewGroup: expected a store handle/);
    threw('distNewGroup(rank)', /^RangeError: distNewGroup: expected 'rank' to be an integer in \[0, 0\], got 1/);
    threw('distNewGroup(mpi)', /unknown backend 'mpi'/);
    threw('distAllreduce(store)', /^TypeError: distAllreduce: expected a process group handle/);
    threw('distAllreduce(fake tensor)', /^TypeError: distAllreduce: tensors\[0\]/);
    threw('distAllreduce(prod)', /unknown op 'prod'/);
    threw('distAllreduce(strided)', /tensors\[0\] is not contiguous/);
    threw('distBroadcast(root)', /^RangeError: distBroadcast: root 1 is outside \[0, 1\)/);
    threw('distBarrier(5)', /^TypeError: distBarrier: expected a process group handle/);
    threw('distGroupInfo({})', /^TypeError: distGroupInfo: expected a process group handle/);
    assert.ok(r['distBackends(junk)']?.ok, JSON.stringify(r['distBackends(junk)']));
    threw('distBarrier(destroyed)', /the process group was destroyed/);
    assert.deepEqual(r['distDestroy(again)'], { ok: 'undefined' });
    for (const f of ['isGradEnabled', 'isInferenceMode', 'getNumThreads', 'stats', 'allocatorStats', 'emptyCache', 'buildInfo', 'getRngState', 'blasProbe']) {
      assert.ok(r[`${f}(junk)`]?.ok, `${f}: ${JSON.stringify(r[`${f}(junk)`])}`);
    }
    assert.equal(out.members.length, 21, `members: ${out.members}`);
    for (const k of out.members) {
      for (const self of ['fake', '{}', '5']) threw(`${k} on ${self}`, new RegExp(`^TypeError: NativeTensor\\.${k}: \`this\` is not a tensor handle$`));
      if (k === 'isDisposed') assert.deepEqual(r[`${k} on disposed`], { ok: 'boolean' });
      else if (k === 'dispose') assert.deepEqual(r[`${k} on disposed`], { ok: 'undefined' }); // idempotent
      else threw(`${k} on disposed`, /tensor was disposed/);
    }
    for (const k of ['setRequiresGrad', 'setGrad', 'copyFromArray', 'sameStorage', 'backward']) threw(`${k}(bad args)`, /^TypeError: /);
  });

  it('callOp keeps its operator while argument getters resolve many new operators (child process)', () => {
    const opNames = (
      'abs absolute acos acosh addbmm addcdiv addcmul addmm addmv addr arccos arccosh arcsin arcsinh arctan arctanh asin ' +
      'asinh atan atanh baddbmm cauchy ceil celu clamp clip copy cos cosh cumprod cumsum detach digamma dropout elu erf erfc ' +
      'erfinv exp exponential fix floor frac gcd gelu geometric hardsigmoid hardswish hardtanh heaviside hypot igamma igammac ' +
      'lcm lgamma log logit mish mvlgamma neg negative nextafter polygamma put random reciprocal relu rename renorm resize ' +
      'round rrelu rsqrt selu set sgn sigmoid sign silu'
    ).split(' ');
    const out = child(`
      const names = ${JSON.stringify(opNames)}.flatMap((n) => [n, n + '_']);
      const add = native.resolveOp('aten::add', 'Tensor');
      let resolved = 0;
      const resolveMany = () => { for (const n of names) { native.resolveOp(n, ''); resolved++; } };
      const a = torch.tensor([1, 2, 3], [3]);
      const b = torch.tensor([10, 20, 30], [3]);
      // 1. A getter that resolves ~160 operators (the op table grows several times) and returns a bad
      //    value: the error names the operator of the call, read after the getter ran.
      const bad = [a.native, null];
      Object.defineProperty(bad, 1, { get() { resolveMany(); return 'not a tensor'; } });
      let message = null;
      try { native.callOp(add, bad); } catch (e) { message = e.message; }
      // 2. The same through kwargs (a Proxy runs JS on every lookup), then a valid call.
      const sub = native.resolveOp('aten::sub', 'Tensor');
      const kw = new Proxy({ alpha: 2 }, { has(t, k) { names.forEach((n) => native.resolveOp(n, '')); return k in t; } });
      const r = native.callOp(sub, [b.native, a.native], kw);
      console.log(JSON.stringify({ resolved, message, values: Array.from(r.toArray()) }));
    `) as { resolved: number; message: string | null; values: number[] };
    assert.equal(out.resolved, 158);
    assert.equal(out.message, "aten::add.Tensor: argument 'other' (Tensor): expected a Tensor, got string");
    assert.deepEqual(out.values, [8, 16, 24]); // b - 2a
  });

  it('copyFromArray into a tensor saved for backward makes backward fail; plain copies stay right', () => {
    tidy(() => {
      const x = tensor([1, 2, 3], [3], { requiresGrad: true });
      const y = x.mul(x).sum(); // saves x for backward
      x.copyFromArray(Float32Array.of(10, 20, 30));
      assert.throws(() => y.backward(), /modified by an inplace operation/);
      // A parameter overwritten before the forward pass: gradients of the new values (2x).
      const w = tensor([1, 2, 3], [3], { requiresGrad: true });
      w.copyFromArray(Float32Array.of(4, 5, 6));
      w.mul(w).sum().backward();
      assert.deepEqual(w.grad!.toList(), [8, 10, 12]);
      assert.deepEqual(zeros([2, 2]).copyFromArray(Float32Array.of(1, 2, 3, 4)).toList(), [1, 2, 3, 4]);
      // Raw bytes for another dtype, and a channels-last destination (written in logical order).
      const bytes = new Uint8Array(Float64Array.of(0.5, -1.25).buffer);
      assert.deepEqual(zeros([2], { dtype: 'float64' }).copyFromArray(bytes).toList(), [0.5, -1.25]);
      const cl = zeros([1, 2, 2, 2]).contiguous('channels_last');
      cl.copyFromArray(Float32Array.from({ length: 8 }, (_, i) => i));
      assert.ok(cl.isContiguous('channels_last'));
      assert.deepEqual(cl.toList(), [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.throws(() => zeros([3]).copyFromArray(new Float32Array(2)), /has 2 elements but the shape needs 3/);
    });
  });

  it('noGrad and inferenceMode refuse async functions and restore the previous mode', async () => {
    assert.equal(isGradEnabled(), true);
    let ranAfterAwait = false;
    assert.throws(
      () => noGrad(async () => {
        await null;
        ranAfterAwait = true;
        throw new Error('rejected later'); // must not become an unhandled rejection
      }),
      (e: Error) => e instanceof TypeError && /noGrad\(\): the function returned a Promise/.test(e.message),
    );
    assert.equal(isGradEnabled(), true);
    noGrad(() => {
      assert.throws(() => noGrad(async () => 1), TypeError);
      assert.equal(isGradEnabled(), false); // the enclosing noGrad's mode, not "on"
    });
    assert.equal(isGradEnabled(), true);
    assert.throws(() => inferenceMode(async () => 1), /inferenceMode\(\): the function returned a Promise/);
    assert.equal(native.isInferenceMode(), false);
    // Synchronous use is unchanged.
    assert.equal(tidy(() => noGrad(() => tensor([1], [1], { requiresGrad: true }).mul(2).requiresGrad)), false);
    assert.equal(inferenceMode(() => native.isInferenceMode()), true);
    await new Promise((res) => setTimeout(res, 10));
    assert.ok(ranAfterAwait);
  });

  it('tidy, keep and dispose find tensors inside class instances, with cycles', () => {
    class Output {
      aux: { inner: Tensor[] };
      constructor(public logits: Tensor, inner: Tensor) {
        this.aux = { inner: [inner] };
      }
    }
    class Cyclic {
      self: Cyclic = this;
      items = new Set<Tensor>();
      constructor(public t: Tensor) {}
    }
    const live0 = memoryStats().liveTensors;
    const out = tidy(() => {
      const tmp = ones([2]).mul(3); // not returned: freed
      return new Output(tmp.add(1), zeros([1]));
    });
    assert.equal(memoryStats().liveTensors, live0 + 2);
    assert.deepEqual(out.logits.toList(), [4, 4]);
    assert.deepEqual(out.aux.inner[0]!.toList(), [0]);
    const c = tidy(() => {
      const k = new Cyclic(ones([1]));
      k.items.add(zeros([3]));
      return k;
    });
    assert.equal(c.t.isDisposed, false);
    assert.equal([...c.items][0]!.isDisposed, false);
    let kept: Output | undefined;
    tidy(() => {
      kept = keep(new Output(ones([1]), ones([1])));
    });
    assert.equal(kept!.logits.isDisposed, false);
    assert.equal(kept!.aux.inner[0]!.isDisposed, false);
    dispose([out, c, kept]);
    assert.ok(out.logits.isDisposed && out.aux.inner[0]!.isDisposed && c.t.isDisposed && [...c.items][0]!.isDisposed);
    assert.ok(kept!.logits.isDisposed && kept!.aux.inner[0]!.isDisposed);
    assert.equal(memoryStats().liveTensors, live0);
    // Typed arrays in results are not walked element by element, and are returned untouched.
    const big = tidy(() => ({ data: new Float32Array(1 << 20), t: ones([1]) }));
    assert.equal(big.data.length, 1 << 20);
    assert.equal(big.t.isDisposed, false);
    big.t.dispose();
  });

  it('external memory is reported once per storage, not per handle (child process)', () => {
    const out = child(`
      const MiB4 = 4 << 20;
      const bytes = () => torch.memoryStats().externalBytes;
      const b0 = bytes();
      const x = torch.zeros([1 << 20]); // 4 MiB
      const one = bytes() - b0;
      const handles = Array.from({ length: 10 }, () => x.detach());
      const ten = bytes() - b0;
      x.dispose();
      const afterBase = bytes() - b0; // the detach() handles still hold the storage
      torch.dispose(handles);
      const none = bytes() - b0;
      const v = torch.tidy(() => torch.zeros([1024, 1024]).view([-1])); // the view is the storage's last owner
      const view = bytes() - b0;
      v.dispose();
      const end = bytes() - b0;
      console.log(JSON.stringify({ MiB4, one, ten, afterBase, none, view, end }));
    `) as Record<string, number>;
    assert.deepEqual(out, { MiB4: 4 << 20, one: 4 << 20, ten: 4 << 20, afterBase: 4 << 20, none: 0, view: 4 << 20, end: 0 });
  });

  it('a worker that imports the engine gets a clear error and the process lives (child process)', () => {
    const out = child(`
      const { Worker } = await import('node:worker_threads');
      const w = new Worker(
        // dynamic imports only: the eval'd worker is CommonJS or ESM depending on the inherited --input-type
        "import('node:worker_threads').then(({ parentPort }) => import(" + JSON.stringify(${JSON.stringify(torchUrl)}) + ")" +
        ".then(() => parentPort.postMessage({ loaded: true }), (e) => parentPort.postMessage({ error: e.message })));",
        { eval: true },
      );
      const msg = await new Promise((res, rej) => { w.once('message', res); w.once('error', rej); });
      await w.terminate();
      const sum = torch.tensor([1, 2], [2]).add(1).toList();
      console.log(JSON.stringify({ msg, sum }));
    `) as { msg: { loaded?: boolean; error?: string }; sum: number[] };
    assert.ok(out.msg.error, `the worker loaded the addon: ${JSON.stringify(out.msg)}`);
    assert.match(out.msg.error, /can only be loaded on the main thread/);
    assert.deepEqual(out.sum, [2, 3]);
  });

  it('typed arrays backed by a SharedArrayBuffer work in fromArray and copyFromArray', () => {
    tidy(() => {
      const sab = new SharedArrayBuffer(8 + 6 * 4);
      const f = new Float32Array(sab, 8, 6); // a non-zero byte offset too
      f.set([1, 2, 3, 4, 5, 6]);
      assert.deepEqual(fromArray(f, [2, 3]).toList(), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(zeros([3, 2]).copyFromArray(f).toList(), [1, 2, 3, 4, 5, 6]);
      const raw = new Uint8Array(sab, 8, 8); // raw bytes of f[0..1] read as float32
      assert.deepEqual(fromArray(raw, [2], 'float32').toList(), [1, 2]);
      const i = new BigInt64Array(new SharedArrayBuffer(16));
      i.set([7n, -9n]);
      assert.deepEqual(fromArray(i, [2]).toList(), [7, -9]);
    });
  });

  it('the RNG state round-trips: restoring it repeats the draws; manualSeed still seeds', () => {
    tidy(() => {
      manualSeed(1234);
      const s = getRngState();
      assert.ok(s instanceof Uint8Array && s.length > 1000, `state of ${s.length} bytes`);
      const u = rand([5]).toList();
      const n = randn([3]).toList(); // odd count: a cached normal sample stays in the state
      const n2 = randn([3]).toList();
      setRngState(s);
      assert.deepEqual(rand([5]).toList(), u);
      assert.deepEqual(randn([3]).toList(), n);
      assert.deepEqual(randn([3]).toList(), n2);
      manualSeed(1234);
      assert.deepEqual(getRngState(), s);
      assert.deepEqual(rand([5]).toList(), u);
      manualSeed(99);
      assert.notDeepEqual(rand([5]).toList(), u);
      assert.throws(() => setRngState(s.subarray(1)), (e: Error) => e instanceof RangeError && new RegExp(`expected ${s.length} bytes.*got ${s.length - 1}`).test(e.message));
      setRngState(s); // a failed set leaves the generator usable
      assert.deepEqual(rand([5]).toList(), u);
    });
  });
});
