// Zip archives and safetensors: readers and writers against Python-made bytes, and bad files named.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { crc32, ZipReader } from '../src/util/zip.js';
import { makeZip } from './helpers/zip.js';
import {
  type DType, type RawTensor, DTYPES, dtypeSize, numel, typedView,
  encodeSafetensors, parseSafetensors, readSafetensors, writeSafetensors,
  } from '../src/torch/serialization/index.js';

import { fixture, tmpDir, te, concat, eqBytes, throwsNaming, bytesOf } from './helpers/serialization.js';

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
