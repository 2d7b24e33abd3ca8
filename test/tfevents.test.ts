// TensorBoard event files: written by TfEventsWriter, read back by our reader and, independently, by
// test/helpers/read_tfevents.py (own framing parser, crcmod's CRC32C, google.protobuf decoding); a file cut
// inside its last record (a killed writer) and a corrupted record.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { FILE_VERSION, readTfEvents, TfEventsWriter } from '../src/train/tfevents.js';
import { repoRoot } from '../src/util/paths.js';
import { runPythonJson } from '../src/util/python.js';

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-tfevents-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface PyValue {
  tag: string;
  simple_value?: number;
  image?: { height: number; width: number; colorspace: number; png_base64: string };
}
interface PyEvents {
  events: { wall_time: number; step: number; file_version?: string; values: PyValue[] }[];
  truncated: { offset: number } | null;
  error?: string;
}
function readWithPython(file: string): PyEvents {
  const r = runPythonJson(path.join(repoRoot, 'test', 'helpers', 'read_tfevents.py'), [file], { timeoutMs: 60_000 });
  assert.equal(r.error, undefined, String(r.error));
  return r as unknown as PyEvents;
}

// Scalars chosen so that float32 rounding is visible (0.1, 1/3), a zero (a oneof member must still be
// written), a negative, a large value and a step beyond 2^32 (int64 field).
const SCALARS: [string, number, number, number][] = [
  ['train/loss', 0.1, 1, 1700000000.25],
  ['val/mIoU', 0, 1, 1700000000.5],
  ['train/lr', 1 / 3, 2, 1700000001.125],
  ['train/grad_norm', -12345.678, 5_000_000_000, 1700000002],
];

async function rgbPng(width: number, height: number): Promise<Buffer> {
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37) % 256;
  return sharp(px, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

function writeSample(dir: string, png: Buffer): TfEventsWriter {
  const w = new TfEventsWriter(dir, { filenameSuffix: '.train' });
  for (const [tag, v, step, wt] of SCALARS) w.addScalar(tag, v, step, wt);
  w.addImage('val/prediction_0', png, 3, 5, 2, 1700000003.75);
  w.flush();
  w.close();
  return w;
}

describe('TfEventsWriter', () => {
  it('names the file events.out.tfevents.<secs>.<host><suffix> and starts it with file_version', async () => {
    const dir = path.join(tmp, 'name');
    const t0 = Math.floor(Date.now() / 1000);
    const w = writeSample(dir, await rgbPng(5, 3));
    const t1 = Math.floor(Date.now() / 1000);
    const m = /^events\.out\.tfevents\.(\d+)\.(.+)\.train$/.exec(path.basename(w.path));
    assert.ok(m, path.basename(w.path));
    assert.ok(Number(m[1]) >= t0 && Number(m[1]) <= t1);
    assert.equal(m[2], os.hostname());
    const ev = readTfEvents(w.path);
    assert.equal(ev[0]!.fileVersion, FILE_VERSION);
    assert.equal(ev[0]!.fileVersion, 'brain.Event:2');
    assert.deepEqual(ev[0]!.scalars, {});
    assert.throws(() => w.addScalar('x', 1, 1), /is closed/);
  });

  it('round-trips scalars (float32) and an image through our reader', async () => {
    const png = await rgbPng(5, 3);
    const w = writeSample(path.join(tmp, 'ours'), png);
    const ev = readTfEvents(w.path);
    assert.equal(ev.truncated, undefined);
    assert.equal(ev.length, 1 + SCALARS.length + 1);
    SCALARS.forEach(([tag, v, step, wt], i) => {
      const e = ev[i + 1]!;
      assert.deepEqual(e.scalars, { [tag]: Math.fround(v) });
      assert.equal(e.step, step);
      assert.equal(e.wallTime, wt);
      assert.equal(e.fileVersion, undefined);
    });
    assert.notEqual(Math.fround(0.1), 0.1); // the float32 rounding above is real
    const img = ev[ev.length - 1]!;
    assert.deepEqual(img.images, { 'val/prediction_0': { height: 3, width: 5, bytes: png.length } });
    assert.equal(img.step, 2);
    assert.equal(img.wallTime, 1700000003.75);
  });

  it('is read identically by an independent Python reader (crcmod + google.protobuf)', async () => {
    const png = await rgbPng(5, 3);
    const w = writeSample(path.join(tmp, 'py'), png);
    const py = readWithPython(w.path);
    assert.equal(py.truncated, null);
    assert.equal(py.events.length, 1 + SCALARS.length + 1);
    assert.equal(py.events[0]!.file_version, 'brain.Event:2');
    assert.deepEqual(py.events[0]!.values, []);
    SCALARS.forEach(([tag, v, step, wt], i) => {
      const e = py.events[i + 1]!;
      assert.equal(e.step, step);
      assert.equal(e.wall_time, wt);
      assert.deepEqual(e.values, [{ tag, simple_value: Math.fround(v) }]);
    });
    const last = py.events[py.events.length - 1]!;
    assert.equal(last.step, 2);
    assert.equal(last.wall_time, 1700000003.75);
    assert.equal(last.values.length, 1);
    const im = last.values[0]!;
    assert.equal(im.tag, 'val/prediction_0');
    assert.deepEqual({ ...im.image, png_base64: undefined }, { height: 3, width: 5, colorspace: 3, png_base64: undefined });
    assert.ok(Buffer.from(im.image!.png_base64, 'base64').equals(png), 'PNG bytes differ');
  });

  it('a file cut inside its last record (killed writer) keeps every earlier record', async () => {
    const w = writeSample(path.join(tmp, 'cut'), await rgbPng(5, 3));
    const whole = fs.readFileSync(w.path);
    const full = readTfEvents(w.path);
    const lastStart = lastRecordStart(whole); // the image record

    for (const keep of [lastStart + 3, lastStart + 12, whole.length - 1]) {
      const file = path.join(tmp, 'cut', `cut-${keep}`);
      fs.writeFileSync(file, whole.subarray(0, keep));
      const ev = readTfEvents(file);
      assert.equal(ev.length, full.length - 1, `cut at ${keep}`);
      assert.deepEqual([...ev], full.slice(0, -1));
      assert.equal(ev.truncated?.offset, lastStart);
      assert.match(ev.truncated!.message, new RegExp(`cut-${keep}: record at byte ${lastStart} is truncated`));
      const py = readWithPython(file);
      assert.deepEqual(py.truncated, { offset: lastStart });
      assert.equal(py.events.length, full.length - 1);
    }
  });

  it('a corrupted record is an error naming the file and offset', async () => {
    const w = writeSample(path.join(tmp, 'bad'), await rgbPng(5, 3));
    const buf = fs.readFileSync(w.path);
    const second = 12 + Number(buf.readBigUInt64LE(0)) + 4; // start of the first scalar record
    const dataFlip = Buffer.from(buf);
    dataFlip[second + 12 + 2]! ^= 0x40;
    fs.writeFileSync(w.path + '.data', dataFlip);
    assert.throws(() => readTfEvents(w.path + '.data'), new RegExp(`\\.data: record at byte ${second}: data CRC mismatch`));
    const lenFlip = Buffer.from(buf);
    lenFlip[second]! ^= 0x01;
    fs.writeFileSync(w.path + '.len', lenFlip);
    assert.throws(() => readTfEvents(w.path + '.len'), new RegExp(`\\.len: record at byte ${second}: length CRC mismatch`));
  });

  it('never overwrites an existing event file, and validates its arguments', () => {
    const dir = path.join(tmp, 'exists');
    fs.mkdirSync(dir);
    // Occupy this second's and the next second's names: the constructor must hit one of them.
    const s = Math.floor(Date.now() / 1000);
    for (const t of [s, s + 1]) fs.writeFileSync(path.join(dir, `events.out.tfevents.${t}.${os.hostname()}`), 'keep');
    assert.throws(() => new TfEventsWriter(dir), /already exists .* give each a filenameSuffix/);
    for (const f of fs.readdirSync(dir)) assert.equal(fs.readFileSync(path.join(dir, f), 'utf8'), 'keep');
    const w = new TfEventsWriter(path.join(tmp, 'args'));
    assert.throws(() => w.addScalar('a', 1, -1), /addScalar\(a\): step must be a non-negative integer, got -1/);
    assert.throws(() => w.addScalar('a', 1, 1.5), /step must be a non-negative integer, got 1.5/);
    assert.throws(() => w.addImage('img', Buffer.alloc(4), 0, 5, 1), /addImage\(img\): height must be a positive int32, got 0/);
    assert.throws(() => w.addImage('img', Buffer.alloc(0), 3, 5, 1), /png must be a non-empty Buffer/);
    w.close();
    assert.equal(readTfEvents(w.path).length, 1); // only the file_version record
  });
});

/** Offset of the last record of an intact file, walking the length fields from the start. */
function lastRecordStart(buf: Buffer): number {
  let off = 0;
  let last = 0;
  while (off < buf.length) {
    last = off;
    off += 12 + Number(buf.readBigUInt64LE(off)) + 4;
  }
  return last;
}
