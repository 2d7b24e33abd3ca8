// torch.save checkpoints: the pickle subset, storages, refused malicious pickles, bad files named.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

import { makeZip } from './helpers/zip.js';
import {
  typedView,
  readSafetensors, parseTorchBin, readTorchBin, readStateDict, detectCheckpointFormat,
} from '../src/torch/serialization/index.js';

import { fixture, tmpDir, te, eqBytes, throwsNaming, bytesOf } from './helpers/serialization.js';

// ------------------------------------------------------------------ torch.save

/** Hand-assembled protocol-2 pickle bytes, as torch.save writes them. */
class Pickle {
  private parts: number[] = [0x80, 2];
  private op(...b: number[]): this {
    this.parts.push(...b);
    return this;
  }
  raw(b: Uint8Array | number[]): this {
    return this.op(...b);
  }
  mark(): this { return this.op(0x28); }
  tuple(): this { return this.op(0x74); }
  tuple1(): this { return this.op(0x85); }
  tuple2(): this { return this.op(0x86); }
  emptyTuple(): this { return this.op(0x29); }
  emptyDict(): this { return this.op(0x7d); }
  reduce(): this { return this.op(0x52); }
  build(): this { return this.op(0x62); }
  persid(): this { return this.op(0x51); }
  setitems(): this { return this.op(0x75); }
  setitem(): this { return this.op(0x73); }
  false(): this { return this.op(0x89); }
  none(): this { return this.op(0x4e); }
  stop(): this { return this.op(0x2e); }
  put(i: number): this { return this.op(0x71, i); }
  get(i: number): this { return this.op(0x68, i); }
  global(mod: string, name: string): this { return this.op(0x63, ...te.encode(`${mod}\n${name}\n`)); }
  stackGlobal(): this { return this.op(0x93); }
  int(v: number): this {
    if (v >= 0 && v < 256) return this.op(0x4b, v);
    if (v >= 0 && v < 65536) return this.op(0x4d, v & 0xff, v >> 8);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    return this.op(0x4a, ...b);
  }
  str(s: string): this {
    const b = te.encode(s);
    const n = new Uint8Array(4);
    new DataView(n.buffer).setUint32(0, b.length, true);
    return this.op(0x58, ...n, ...b);
  }
  ints(xs: number[]): this {
    this.mark();
    for (const x of xs) this.int(x);
    return this.tuple();
  }
  /** _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict()) */
  tensor(storageType: string, key: string, numel: number, offset: number, size: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.mark();
    this.mark().str('storage').global('torch', storageType).str(key).str('cpu').int(numel).tuple().persid();
    this.int(offset).ints(size).ints(stride).false();
    this.global('collections', 'OrderedDict').emptyTuple().reduce();
    return this.tuple().reduce();
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.parts);
  }
}

function torchZip(pkl: Uint8Array, storages: Record<string, Uint8Array>, extra: Record<string, string> = {}): Uint8Array {
  return makeZip([
    { name: 'archive/data.pkl', data: pkl },
    ...Object.entries(extra).map(([k, v]) => ({ name: `archive/${k}`, data: te.encode(v) })),
    ...Object.entries(storages).map(([k, v]) => ({ name: `archive/data/${k}`, data: v })),
    { name: 'archive/version', data: te.encode('3\n') },
  ]);
}

describe('torch.save checkpoints', () => {
  test('tiny fixture: pytorch_model.bin equals model.safetensors (keys, dtypes, shapes, bytes)', () => {
    const bin = readTorchBin(fixture('tiny/pytorch_model.bin'));
    const st = readSafetensors(fixture('tiny/model.safetensors')).tensors;
    assert.equal(bin.size, 124);
    assert.deepEqual([...bin.keys()].sort(), [...st.keys()].sort());
    for (const [k, a] of st) {
      const b = bin.get(k)!;
      assert.equal(b.dtype, a.dtype, k);
      assert.deepEqual(b.shape, a.shape, k);
      assert.ok(eqBytes(b.data, a.data), `${k} bytes`);
    }
    const nbt = bin.get('decode_head.batch_norm.num_batches_tracked')!;
    assert.equal(nbt.dtype, 'int64');
    assert.deepEqual(nbt.shape, []);
    assert.equal(nbt.data.byteLength, 8);
    assert.deepEqual(bin.get('segformer.encoder.patch_embeddings.0.proj.weight')!.shape, [16, 3, 7, 7]);
    // readStateDict picks the reader by content
    const viaAuto = readStateDict(fixture('tiny/pytorch_model.bin'));
    assert.equal(viaAuto.size, 124);
    assert.equal(detectCheckpointFormat(fs.readFileSync(fixture('tiny/model.safetensors')), 'x.bin'), 'safetensors');
  });

  test('offsets, strides, shared storages, parameters, _metadata, fp16/bool/int64', () => {
    // storage "0": float32 [0..11]; tensors share it
    const f = new Float32Array(12).map((_, i) => i);
    const h = new Uint16Array([0x3c00, 0xc000, 0x7bff]); // fp16 1, -2, 65504
    const l = new BigInt64Array([37988n]);
    const b = new Uint8Array([1, 0, 1, 1]);
    const p = new Pickle();
    p.global('collections', 'OrderedDict').put(0).emptyTuple().reduce().put(1);
    p.mark();
    p.str('mat').tensor('FloatStorage', '0', 12, 0, [3, 4], [4, 1]);
    p.str('offset_view').tensor('FloatStorage', '0', 12, 5, [2, 3], [3, 1]); // elements 5..10
    p.str('transposed').tensor('FloatStorage', '0', 12, 0, [4, 3], [1, 4]); // mat.T
    p.str('strided').tensor('FloatStorage', '0', 12, 1, [2, 2], [6, 2]); // [[1,3],[7,9]]
    p.str('expanded').tensor('FloatStorage', '0', 12, 2, [2, 3], [0, 1]); // rows of [2,3,4]
    p.str('param').global('torch._utils', '_rebuild_parameter');
    p.mark().tensor('FloatStorage', '0', 12, 0, [12], [1]).false().global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
    p.str('half').tensor('HalfStorage', 'h', 3, 0, [3], [1]);
    p.str('count').tensor('LongStorage', 'n', 1, 0, [], []);
    p.str('mask').tensor('BoolStorage', 'b', 4, 0, [2, 2], [2, 1]);
    p.str('empty').tensor('FloatStorage', '0', 12, 0, [0, 5], [5, 1]);
    p.setitems();
    // state = {'_metadata': OrderedDict({'': {'version': 1}})} applied with BUILD, like HF state dicts
    p.emptyDict().str('_metadata').global('collections', 'OrderedDict').emptyTuple().reduce();
    p.str('').emptyDict().str('version').int(1).setitem().setitem().setitem().build();
    p.stop();
    const zip = torchZip(p.bytes(), { 0: bytesOf(f), h: bytesOf(h), n: bytesOf(l), b }, { byteorder: 'little' });
    const sd = parseTorchBin(zip, 'hand.pt');
    assert.deepEqual([...sd.keys()], ['mat', 'offset_view', 'transposed', 'strided', 'expanded', 'param', 'half', 'count', 'mask', 'empty']);
    const vals = (k: string): number[] => [...(typedView(sd.get(k)!) as Float32Array)];
    assert.deepEqual(vals('mat'), [...f]);
    assert.deepEqual(sd.get('offset_view')!.shape, [2, 3]);
    assert.deepEqual(vals('offset_view'), [5, 6, 7, 8, 9, 10]);
    assert.deepEqual(vals('transposed'), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    assert.deepEqual(vals('strided'), [1, 3, 7, 9]);
    assert.deepEqual(vals('expanded'), [2, 3, 4, 2, 3, 4]);
    assert.deepEqual(vals('param'), [...f]);
    assert.deepEqual([...(typedView(sd.get('half')!) as Uint16Array)], [0x3c00, 0xc000, 0x7bff]);
    assert.equal(sd.get('half')!.dtype, 'float16');
    assert.deepEqual(sd.get('count'), { dtype: 'int64', shape: [], data: sd.get('count')!.data });
    assert.deepEqual([...(typedView(sd.get('count')!) as BigInt64Array)], [37988n]);
    assert.equal(sd.get('mask')!.dtype, 'bool');
    assert.deepEqual([...sd.get('mask')!.data], [1, 0, 1, 1]);
    assert.deepEqual(sd.get('empty')!.shape, [0, 5]);
    assert.equal(sd.get('empty')!.data.byteLength, 0);
    // contiguous tensors sharing a storage alias the same bytes
    assert.equal(sd.get('mat')!.data.buffer, sd.get('offset_view')!.data.buffer);
    assert.equal(sd.get('offset_view')!.data.byteOffset - sd.get('mat')!.data.byteOffset, 20);
  });

  test('big-endian checkpoints are byte-swapped', () => {
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 1.5, false);
    new DataView(be.buffer).setFloat32(4, -3, false);
    const p = new Pickle();
    p.emptyDict().str('w').tensor('FloatStorage', '0', 2, 0, [2], [1]).setitem().stop();
    const sd = parseTorchBin(torchZip(p.bytes(), { 0: be }, { byteorder: 'big' }), 'be.pt');
    assert.deepEqual([...(typedView(sd.get('w')!) as Float32Array)], [1.5, -3]);
  });

  describe('malicious pickles are refused and nothing runs', () => {
    const variants: [string, string, string, (p: Pickle, cmd: string) => void][] = [
      ['os.system via GLOBAL', 'os', 'system', (p, cmd) => p.global('os', 'system').str(cmd).tuple1().reduce()],
      ['posix.system via GLOBAL', 'posix', 'system', (p, cmd) => p.global('posix', 'system').str(cmd).tuple1().reduce()],
      ['builtins.eval via STACK_GLOBAL', 'builtins', 'eval', (p, cmd) =>
        p.str('builtins').str('eval').stackGlobal().str(`__import__('os').system(${JSON.stringify(cmd)})`).tuple1().reduce()],
      ['subprocess.call via GLOBAL', 'subprocess', 'call', (p, cmd) =>
        p.global('subprocess', 'call').str(cmd).tuple1().reduce()],
    ];
    for (const [label, mod, name, emit] of variants) {
      test(label, () => {
        const dir = tmpDir();
        const marker = path.join(dir, 'pwned');
        const cmd = `touch ${marker}`;
        // top-level payload
        const p1 = new Pickle();
        emit(p1, cmd);
        p1.stop();
        // payload hidden as a value inside an otherwise valid state dict
        const p2 = new Pickle();
        p2.emptyDict().mark().str('ok').tensor('FloatStorage', '0', 1, 0, [1], [1]).str('evil');
        emit(p2, cmd);
        p2.setitems().stop();
        for (const pkl of [p1.bytes(), p2.bytes()]) {
          const file = path.join(dir, 'evil.pt');
          fs.writeFileSync(file, torchZip(pkl, { 0: new Uint8Array(4) }));
          assert.throws(() => readTorchBin(file), (e: unknown) => {
            assert.ok(e instanceof Error);
            assert.equal(e.message.split(': only')[0], `refusing to unpickle global ${mod}.${name} in ${file} (archive/data.pkl)`);
            assert.match(e.message, /only tensor rebuilds and plain containers are allowed/);
            return true;
          });
        }
        assert.equal(fs.existsSync(marker), false, 'the command must not have run');
        fs.rmSync(dir, { recursive: true, force: true });
      });
    }
  });

  describe('bad checkpoints name the file', () => {
    const good = (): Pickle => new Pickle().emptyDict().str('w').tensor('FloatStorage', '0', 4, 0, [4], [1]).setitem();
    const f4 = new Uint8Array(16);
    test('non-tensor value at top level names the key', () => {
      const p = good().str('epoch').int(3).setitem().stop();
      throwsNaming(() => parseTorchBin(torchZip(p.bytes(), { 0: f4 }), 'nt.pt'), 'nt.pt', /state_dict entry "epoch" is not a tensor \(got int\)/);
      const q = new Pickle().emptyDict().str('state_dict').emptyDict().setitem().stop();
      throwsNaming(() => parseTorchBin(torchZip(q.bytes(), {}), 'nested.pt'), 'nested.pt', /entry "state_dict" is not a tensor \(got dict\)/);
    });
    test('top level is not a dict', () => {
      const p = new Pickle().ints([1, 2]).stop();
      throwsNaming(() => parseTorchBin(torchZip(p.bytes(), {}), 'tuple.pt'), 'tuple.pt', /holds a tuple, expected a state_dict/);
    });
    test('truncated pickle', () => {
      const pkl = good().stop().bytes();
      throwsNaming(() => parseTorchBin(torchZip(pkl.subarray(0, pkl.length - 30), { 0: f4 }), 'tp.pt'), 'tp.pt', /truncated pickle|stack underflow|MARK expected/);
    });
    test('missing storage entry', () => {
      throwsNaming(() => parseTorchBin(torchZip(good().stop().bytes(), {}), 'ms.pt'), 'ms.pt', /storage "0" has no entry archive\/data\/0/);
    });
    test('storage smaller than declared / view out of bounds', () => {
      throwsNaming(() => parseTorchBin(torchZip(good().stop().bytes(), { 0: new Uint8Array(12) }), 'small.pt'), 'small.pt', /holds 12 bytes but 4 x float32 needs 16/);
      const p = new Pickle().emptyDict().str('w').tensor('FloatStorage', '0', 4, 2, [3], [1]).setitem().stop();
      throwsNaming(() => parseTorchBin(torchZip(p.bytes(), { 0: f4 }), 'oob.pt'), 'oob.pt', /reaches element 4 but the storage has 4/);
    });
    test('unsupported opcode, unknown storage type, not a zip, legacy format', () => {
      const p = new Pickle().raw([0x69]).stop(); // INST
      throwsNaming(() => parseTorchBin(torchZip(p.bytes(), {}), 'op.pt'), 'op.pt', /unsupported pickle opcode 0x69/);
      const q = new Pickle().emptyDict().str('w').tensor('ComplexFloatStorage', '0', 4, 0, [4], [1]).setitem().stop();
      throwsNaming(() => parseTorchBin(torchZip(q.bytes(), { 0: f4 }), 'cx.pt'), 'cx.pt', /refusing to unpickle global torch\.ComplexFloatStorage/);
      throwsNaming(() => parseTorchBin(te.encode('hello world'), 'txt.pt'), 'txt.pt', /not a torch\.save checkpoint/);
      throwsNaming(() => parseTorchBin(new Uint8Array([0x80, 0x02, 0x8a, 0x0a]), 'old.pt'), 'old.pt', /legacy/);
      throwsNaming(() => parseTorchBin(makeZip([{ name: 'x/y', data: f4 }]), 'nopkl.pt'), 'nopkl.pt', /data\.pkl/);
    });
  });

  test('real torch.save output from python (python3-torch is installed by make setup)', () => {
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
    assert.equal(probe.status, 0, `/usr/bin/python3 cannot import torch (run make setup): ${probe.stderr}`);
    const dir = tmpDir();
    const script = `
import torch, json, sys
torch.manual_seed(0)
lin = torch.nn.Linear(3, 4)
bn = torch.nn.BatchNorm1d(4)
m = torch.nn.Sequential(lin, bn)
sd = m.state_dict()                      # OrderedDict with _metadata
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
sd['t.transposed'] = base.t()            # non-contiguous, shares storage with base
sd['t.base'] = base
sd['t.slice'] = base[1:3, 2:5]           # offset + strides
sd['t.f16'] = torch.randn(2, 3).half()
sd['t.bf16'] = torch.randn(5).bfloat16()
sd['t.f64'] = torch.randn(2, 2, dtype=torch.float64)
sd['t.i32'] = torch.tensor([[-1, 2], [3, -4]], dtype=torch.int32)
sd['t.i16'] = torch.tensor([-300, 300], dtype=torch.int16)
sd['t.i8'] = torch.tensor([-5, 7], dtype=torch.int8)
sd['t.u8'] = torch.tensor([250, 1], dtype=torch.uint8)
sd['t.bool'] = torch.tensor([True, False, True])
sd['t.scalar'] = torch.tensor(3.5)
sd['t.empty'] = torch.zeros(0, 3)
sd['t.param'] = torch.nn.Parameter(torch.ones(2))
torch.save(sd, sys.argv[1] + '/real.pt')
exp = {}
for k, v in sd.items():
    c = v.detach().contiguous().reshape(-1).view(torch.uint8)
    exp[k] = {'dtype': str(v.dtype).replace('torch.', ''), 'shape': list(v.shape), 'hex': c.numpy().tobytes().hex()}
json.dump(exp, open(sys.argv[1] + '/expected.json', 'w'))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', script, dir], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
    assert.equal(r.status, 0, r.stderr);
    const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as
      Record<string, { dtype: string; shape: number[]; hex: string }>;
    const sd = readStateDict(path.join(dir, 'real.pt'));
    assert.deepEqual([...sd.keys()], Object.keys(expected));
    for (const [k, e] of Object.entries(expected)) {
      const tns = sd.get(k)!;
      assert.equal(tns.dtype, e.dtype, k);
      assert.deepEqual(tns.shape, e.shape, k);
      assert.equal(Buffer.from(tns.data).toString('hex'), e.hex, k);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
