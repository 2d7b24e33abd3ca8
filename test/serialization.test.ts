import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

import { crc32, ZipReader } from '../src/util/zip.js';
import { makeZip } from './helpers/zip.js';
import { hfFixture } from './helpers/test-inputs.js';
import {
  type DType, type RawTensor, DTYPES, dtypeSize, numel, typedView,
  encodeSafetensors, parseSafetensors, readSafetensors, writeSafetensors,
  parseTorchBin, readTorchBin, readStateDict, detectCheckpointFormat,
} from '../src/torch/serialization/index.js';

// ------------------------------------------------------------------ fixtures

/** A file of a SegFormer HF fixture ("tiny/model.safetensors"). */
function fixture(rel: string): string {
  const [name, ...file] = rel.split('/');
  return path.join(hfFixture(`segformer/${name}`), ...file);
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-ser-'));
}

const te = new TextEncoder();
const concat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const eqBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength)
  .equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** assert fn throws an Error whose message contains the file name and matches re */
function throwsNaming(fn: () => unknown, file: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, 'expected an Error');
    assert.ok(e.message.includes(file), `message should name ${file}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

function bytesOf(arr: ArrayBufferView): Uint8Array {
  return new Uint8Array(arr.buffer.slice(arr.byteOffset, arr.byteOffset + arr.byteLength));
}

// ------------------------------------------------------------------ zip

const ZIP64_PY = 'UEsDBC0AAAAAAAAAIQDw4xRI//////////8MABQAYS9zdG9yZWQudHh0AQAQACcAAAAAAAAAJwAAAAAAAABzdG9yZWQgZW50cnkgc3RvcmVkIGVudHJ5IHN0b3JlZCBlbnRyeSBQSwMELQAAAAgAAAAhAHjLUuz//////////w4AFABhL2RlZmxhdGVkLnR4dAEAEAAsAQAAAAAAABYAAAAAAAAAS0lNy0ksSU1RSM0rKapUSBnl4uYCAFBLAQItAy0AAAAAAAAAIQDw4xRI//////////8MABQAAAAAAAAAAACAAQAAAABhL3N0b3JlZC50eHQBABAAJwAAAAAAAAAnAAAAAAAAAFBLAQItAy0AAAAIAAAAIQB4y1Ls//////////8OABwAAAAAAAAAAACAAf////9hL2RlZmxhdGVkLnR4dAEAGAAsAQAAAAAAABYAAAAAAAAAZQAAAAAAAABQSwYGLAAAAAAAAAAtAC0AAAAAAAAAAAACAAAAAAAAAAIAAAAAAAAApgAAAAAAAAC7AAAAAAAAAFBLBgcAAAAAYQEAAAAAAAABAAAAUEsFBgAAAAACAAIApgAAALsAAAAAAA==';

/** Reads every entry (the central directory, then each entry with its CRC check). */
function readAll(buf: Uint8Array, file: string): Map<string, Uint8Array> {
  const r = new ZipReader(buf, file);
  return new Map(r.names().map((n) => [n, r.read(n)]));
}

describe('zip', () => {
  const hello = te.encode('hello hello hello hello hello, zip!');
  const rnd = new Uint8Array(5000).map((_, i) => (i * 7919 + (i >> 3)) & 0xff);

  test('crc32 known values', () => {
    assert.equal(crc32(te.encode('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });

  test('round trip stored + deflate entries, including empty and UTF-8 names', () => {
    const entries = [
      { name: 'a/hello.txt', data: hello, compress: true },
      { name: 'a/raw.bin', data: rnd },
      { name: 'empty', data: new Uint8Array(0), compress: true },
      { name: 'ünïcødé/ß.txt', data: te.encode('x') },
    ];
    const z = makeZip(entries);
    const r = new ZipReader(z, 'rt.zip');
    assert.deepEqual(r.names(), entries.map((e) => e.name));
    for (const e of entries) assert.ok(eqBytes(r.read(e.name), e.data), e.name);
    const list = r.entries();
    assert.equal(list[0]!.method, 8);
    assert.ok(list[0]!.compressedSize < hello.length, 'repetitive text should shrink when deflated');
    assert.equal(list[1]!.method, 0);
    assert.equal(list[1]!.crc32, crc32(rnd));
    // stored entries are views into the archive (no copy)
    assert.equal(r.read('a/raw.bin').buffer, z.buffer);
  });

  test('zip64: sizes and offsets in extra fields, zip64 end record and locator (written by Python zipfile)', () => {
    // /usr/bin/python3: zipfile.ZIP64_LIMIT = 0; zipfile.ZIP_FILECOUNT_LIMIT = 0, then writestr of
    // 'a/stored.txt' = b'stored entry ' * 3 (stored) and 'a/deflated.txt' = b'deflated entry ' * 20
    // (deflated): every central header has 0xffffffff sizes, the second a 0xffffffff offset too.
    const z = Buffer.from(ZIP64_PY, 'base64');
    const cd = z.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    assert.equal(z.readUInt32LE(cd + 20), 0xffffffff, 'central header sizes are saturated');
    assert.ok(z.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06])) && z.includes(Buffer.from([0x50, 0x4b, 0x06, 0x07])));
    const r = new ZipReader(z, 'z64.zip');
    assert.deepEqual(r.entries().map((e) => [e.name, e.method, e.size]), [['a/stored.txt', 0, 39], ['a/deflated.txt', 8, 300]]);
    assert.equal(r.entry('a/deflated.txt')!.localHeaderOffset, 30 + 12 + 20 + 39); // after the first entry's header, zip64 extra and data
    assert.equal(r.entry('a/deflated.txt')!.crc32, 3964849016); // Python's zlib.crc32
    assert.equal(Buffer.from(r.read('a/stored.txt')).toString(), 'stored entry '.repeat(3));
    assert.equal(Buffer.from(r.read('a/deflated.txt')).toString(), 'deflated entry '.repeat(20));
  });

  test('CRC mismatch names the file and the entry', () => {
    const z = makeZip([{ name: 'x.bin', data: rnd }]);
    z[30 + 'x.bin'.length + 100] ^= 0xff;
    throwsNaming(() => readAll(z, 'crc.zip'), 'crc.zip', /CRC mismatch for "x\.bin"/);
  });

  test('corrupt deflate stream is reported', () => {
    const z = makeZip([{ name: 'h.txt', data: rnd, compress: true }]);
    for (let i = 40; i < 60; i++) z[i] ^= 0x5a;
    throwsNaming(() => readAll(z, 'inflate.zip'), 'inflate.zip', /h\.txt/);
  });

  test('truncated archives', () => {
    const z = makeZip([{ name: 'a', data: rnd }, { name: 'b', data: hello }]);
    throwsNaming(() => readAll(z.subarray(0, z.length - 5), 't1.zip'), 't1.zip', /end-of-central-directory record not found/);
    throwsNaming(() => readAll(z.subarray(0, 10), 't2.zip'), 't2.zip', /truncated/);
    // keep the directory but drop 1000 bytes of entry data: offsets now point past / into garbage
    const cut = concat([z.subarray(0, 2000), z.subarray(3000)]);
    throwsNaming(() => readAll(cut, 't3.zip'), 't3.zip', /central directory .*(beyond the end|signature)|truncated/);
  });

  test('bad signatures', () => {
    const z = makeZip([{ name: 'a', data: hello }]);
    const badLocal = z.slice();
    badLocal[0] = 0x51;
    throwsNaming(() => readAll(badLocal, 'sig1.zip'), 'sig1.zip', /bad local header signature for "a"/);
    const badCentral = z.slice();
    const cd = Buffer.from(z).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    badCentral[cd + 1] = 0;
    throwsNaming(() => readAll(badCentral, 'sig2.zip'), 'sig2.zip', /bad central directory signature/);
    throwsNaming(() => readAll(te.encode('this is not a zip file at all, sorry'), 'text.zip'), 'text.zip', /not a zip/);
  });

  test('reads the torch.save fixture (zip64 end records, padded local headers)', () => {
    const file = fixture('tiny/pytorch_model.bin');
    const r = new ZipReader(fs.readFileSync(file), file);
    assert.ok(r.has('pytorch_model/data.pkl'));
    assert.equal(new TextDecoder().decode(r.read('pytorch_model/version')).trim(), '3');
    assert.equal(r.names().filter((n) => n.startsWith('pytorch_model/data/')).length, 124);
    assert.equal(r.read('pytorch_model/data/0').byteLength, 16 * 3 * 7 * 7 * 4);
  });
});

// ------------------------------------------------------------------ safetensors

function sampleTensor(dtype: DType, shape: number[], seed: number): RawTensor {
  const n = numel(shape) * dtypeSize(dtype);
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = (i * 31 + seed * 17 + 3) & 0xff;
  if (dtype === 'bool') for (let i = 0; i < n; i++) data[i] = data[i]! & 1;
  return { dtype, shape, data };
}

/** safetensors bytes from a header object and a data section of `dataLen` bytes */
function makeSt(header: unknown, dataLen: number, rawHeader?: string): Uint8Array {
  const json = te.encode(rawHeader ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('safetensors', () => {
  test('round trip: every dtype, 0-d and empty tensors, metadata, atomic write', () => {
    const tensors = new Map<string, RawTensor>();
    DTYPES.forEach((d, i) => {
      tensors.set(`t.${d}`, sampleTensor(d, [2, 3, i + 1], i));
      tensors.set(`scalar.${d}`, sampleTensor(d, [], i + 100));
      tensors.set(`empty.${d}`, sampleTensor(d, [0, 4], i));
    });
    tensors.set('z.empty3d', sampleTensor('float32', [2, 0, 3], 1));
    tensors.set('odd.u8', sampleTensor('uint8', [7], 5)); // forces realignment of what follows
    const metadata = { format: 'pt', note: 'héllo "quoted"' };
    const dir = tmpDir();
    const file = path.join(dir, 'rt.safetensors');
    writeSafetensors(file, tensors, metadata);
    assert.deepEqual(fs.readdirSync(dir), ['rt.safetensors'], 'no temp files left behind');

    const buf = fs.readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    assert.equal(n % 8, 0, 'header padded to a multiple of 8');
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
    const { tensors: back, metadata: meta } = readSafetensors(file);
    assert.deepEqual(meta, metadata);
    assert.equal(back.size, tensors.size);
    for (const [name, t] of tensors) {
      const b = back.get(name);
      assert.ok(b, name);
      assert.equal(b.dtype, t.dtype, name);
      assert.deepEqual(b.shape, t.shape, name);
      assert.ok(eqBytes(b.data, t.data), name);
      // every tensor is aligned to its element size relative to the file start (taken from the
      // header: byteOffsets of two separately read buffers need not share a base)
      const fileOffset = 8 + n + (header[name] as { data_offsets: [number, number] }).data_offsets[0];
      assert.equal(fileOffset % dtypeSize(b.dtype), 0, `${name} aligned`);
    }
    // order: dtype size descending, then name
    const order = [...back.keys()].filter((k) => back.get(k)!.data.length > 0);
    const sizes = order.map((k) => dtypeSize(back.get(k)!.dtype));
    assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a));
    // typed views read real values
    const f32 = sampleTensor('float32', [3], 0);
    new Float32Array(f32.data.buffer).set([1.5, -2, 3.25]);
    const one = parseSafetensors(concat(encodeSafetensors({ x: f32 })), 'one');
    assert.deepEqual([...(typedView(one.tensors.get('x')!) as Float32Array)], [1.5, -2, 3.25]);
    assert.deepEqual(one.metadata, {});
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('values survive a round trip (int64, bool, float64)', () => {
    const i64 = new BigInt64Array([-(2n ** 62n), 0n, 37988n]);
    const f64 = new Float64Array([Math.PI, -0, 1e300]);
    const enc = concat(encodeSafetensors({
      a: { dtype: 'int64', shape: [3], data: bytesOf(i64) },
      b: { dtype: 'float64', shape: [1, 3], data: bytesOf(f64) },
      c: { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) },
    }));
    const r = parseSafetensors(enc, 'vals').tensors;
    assert.deepEqual([...(typedView(r.get('a')!) as BigInt64Array)], [...i64]);
    assert.deepEqual([...(typedView(r.get('b')!) as Float64Array)], [...f64]);
    assert.deepEqual([...typedView(r.get('c')!)], [1, 0]);
  });

  test('re-encoding the fixtures reproduces them byte for byte', () => {
    for (const v of ['tiny', 'b0']) {
      const file = fixture(`${v}/model.safetensors`);
      const buf = fs.readFileSync(file);
      const p = parseSafetensors(buf, file);
      assert.deepEqual(p.metadata, { format: 'pt' });
      assert.ok(eqBytes(concat(encodeSafetensors(p.tensors, p.metadata)), buf), v);
    }
  });

  test('b0 fixture: every tensor length matches its shape, known shapes', () => {
    const file = fixture('b0/model.safetensors');
    const { tensors } = readSafetensors(file);
    assert.ok(tensors.size > 150, `b0 has ${tensors.size} tensors`);
    let total = 0;
    for (const [name, t] of tensors) {
      assert.equal(t.data.byteLength, numel(t.shape) * dtypeSize(t.dtype), name);
      total += t.data.byteLength;
    }
    assert.equal(total + 8 + Number(fs.readFileSync(file).readBigUInt64LE(0)), fs.statSync(file).size);
    const shape = (k: string): number[] | undefined => tensors.get(k)?.shape;
    assert.deepEqual(shape('segformer.encoder.patch_embeddings.0.proj.weight'), [32, 3, 7, 7]);
    assert.deepEqual(shape('segformer.encoder.block.0.0.attention.self.query.weight'), [32, 32]);
    assert.deepEqual(shape('segformer.encoder.block.1.0.mlp.dwconv.dwconv.weight'), [256, 1, 3, 3]);
    assert.deepEqual(shape('decode_head.linear_fuse.weight'), [256, 1024, 1, 1]);
    assert.deepEqual(shape('decode_head.classifier.bias'), [12]);
    const nbt = tensors.get('decode_head.batch_norm.num_batches_tracked')!;
    assert.equal(nbt.dtype, 'int64');
    assert.deepEqual(nbt.shape, []);
    assert.equal(tensors.get('decode_head.batch_norm.running_var')!.dtype, 'float32');
  });

  describe('bad files name the file and the problem', () => {
    const ok = { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    const cases: [string, Uint8Array, RegExp][] = [
      ['tiny-file', new Uint8Array(5), /truncated: 5 bytes/],
      ['header-beyond-file', (() => { const b = makeSt(ok, 8); return b.subarray(0, 20); })(), /header length \d+ exceeds/],
      ['bad-json', makeSt(null, 0, '{"x": {"dtype": "F32",'), /not valid JSON/],
      ['not-object', makeSt(null, 0, '{}'.replace('{}', '[1, 2]')), /does not start with "\{"/],
      ['bad-utf8', (() => { const b = makeSt(null, 0, '{"aa":1}'); b[10] = 0xff; return b; })(), /UTF-8/],
      ['unknown-dtype', makeSt({ w: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, 2), /tensor "w": unknown or unsupported dtype "F8_E4M3"/],
      ['size-mismatch', makeSt({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /tensor "w": shape \[3\] x F32 .* needs 12 bytes .* span 8/],
      ['out-of-range', makeSt({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /tensor "w": data_offsets \[0, 16\] are out of range/],
      ['overlap', makeSt({
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      }, 12), /tensor "b" data_offsets \[4, 12\] overlap tensor "a"/],
      ['hole', makeSt({
        a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
      }, 12), /tensor "b" .* leave a hole: bytes \[4, 8\)/],
      ['trailing', makeSt(ok, 12), /data section is 12 bytes but the tensors cover only 8/],
      ['fractional-shape', makeSt({ w: { dtype: 'U8', shape: [1.5], data_offsets: [0, 1] } }, 1), /tensor "w": shape \[1\.5\]/],
      ['negative-shape', makeSt({ w: { dtype: 'U8', shape: [-1], data_offsets: [0, 0] } }, 0), /tensor "w": shape \[-1\]/],
      ['string-shape', makeSt({ w: { dtype: 'U8', shape: ['2'], data_offsets: [0, 2] } }, 2), /tensor "w": shape \["2"\]/],
      ['reversed-offsets', makeSt({ w: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } }, 4), /tensor "w": data_offsets \[4, 0\] end before/],
      ['bad-offsets', makeSt({ w: { dtype: 'U8', shape: [1], data_offsets: [0] } }, 1), /tensor "w": "data_offsets" \[0\]/],
      ['bad-metadata', makeSt({ __metadata__: { n: 1 }, ...ok }, 8), /"__metadata__" value for "n" is not a string/],
    ];
    for (const [name, bytes, re] of cases) {
      test(name, () => {
        const file = `/some/dir/${name}.safetensors`;
        throwsNaming(() => parseSafetensors(bytes, file), file, re);
      });
    }
    test('readSafetensors on a truncated real file', () => {
      const dir = tmpDir();
      const src = fs.readFileSync(fixture('tiny/model.safetensors'));
      const file = path.join(dir, 'cut.safetensors');
      fs.writeFileSync(file, src.subarray(0, src.length - 100));
      throwsNaming(() => readSafetensors(file), file, /out of range|cover only/);
      fs.writeFileSync(file, src.subarray(0, 4000));
      throwsNaming(() => readSafetensors(file), file, /header length 13864 exceeds/);
      fs.rmSync(dir, { recursive: true, force: true });
    });
  });

  test('encoder validation', () => {
    assert.throws(() => encodeSafetensors({ w: { dtype: 'float32', shape: [3], data: new Uint8Array(8) } }),
      /tensor "w": data is 8 bytes but shape \[3\] x float32 needs 12/);
    assert.throws(() => encodeSafetensors({ w: { dtype: 'complex64' as DType, shape: [1], data: new Uint8Array(8) } }),
      /tensor "w": unknown dtype/);
    assert.throws(() => encodeSafetensors({ __metadata__: { dtype: 'uint8', shape: [], data: new Uint8Array(1) } }), /reserved/);
  });
});

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
