// Bad input: every case is a clear Error naming the offending file (never a silent skip or a crash).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { detectFormat, openDataset } from '../src/data/dataset.js';
import { DataError, decodeImage, decodeLabel, decodeSample } from '../src/data/decode.js';
import { computeStats } from '../src/data/stats.js';
import { labelColors11Text, labelColorsText } from '../src/data/synthetic.js';
import { crc32 } from '../src/util/zip.js';

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-errors-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

type RGB = [number, number, number];
async function writeRgb(file: string, w: number, h: number, px: (x: number, y: number) => RGB): Promise<void> {
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b.set(px(x, y), (y * w + x) * 3);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(b, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
}
async function writeGray(file: string, w: number, h: number, px: (x: number, y: number) => number): Promise<void> {
  const b = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b[y * w + x] = px(x, y);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(b, { raw: { width: w, height: h, channels: 1 } }).png().toFile(file);
}
/** Validator for assert.throws/rejects: an Error whose message (not its "Error: " string form) matches re. */
const fails =
  (re: RegExp) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof Error, `not an Error: ${String(e)}`);
    assert.match(e.message, re);
    return true;
  };
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const SKY: RGB = [128, 128, 128];
const ROAD: RGB = [128, 64, 128];

/** A CamSeq01 folder with n good frames (8x6: sky top half, road bottom half). */
async function camseqDir(name: string, n = 2): Promise<string> {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'label_colors.txt'), labelColorsText());
  fs.writeFileSync(path.join(dir, 'label_colors11.txt'), labelColors11Text());
  for (let i = 0; i < n; i++) {
    await writeRgb(path.join(dir, `f${i}.png`), 8, 6, (x, y) => [x * 20, y * 30, 100]);
    await writeRgb(path.join(dir, `f${i}_L.png`), 8, 6, (_x, y) => (y < 3 ? SKY : ROAD));
  }
  return dir;
}

/** A SegNet CamVid folder with one train frame (8x6) whose annotation is given. */
async function camvidDir(name: string, ann: (x: number, y: number) => number): Promise<string> {
  const dir = path.join(tmp, name);
  await writeRgb(path.join(dir, 'train', 'a.png'), 8, 6, () => [1, 2, 3]);
  await writeGray(path.join(dir, 'trainannot', 'a.png'), 8, 6, ann);
  fs.writeFileSync(path.join(dir, 'train.txt'), 'train/a.png trainannot/a.png\n');
  return dir;
}

describe('unknown label colours', () => {
  it("'error': names the file, the pixel (x,y) and the colour", async () => {
    const dir = await camseqDir('unknown-error');
    const bad = path.join(dir, 'f1_L.png');
    await writeRgb(bad, 8, 6, (x, y) => (x === 3 && y === 1 ? [1, 2, 3] : y < 3 ? SKY : ROAD));
    const spec = openDataset(dir);
    await decodeSample(spec.samples[0]!, spec.label, spec.classes); // the good frame is fine
    await assert.rejects(decodeSample(spec.samples[1]!, spec.label, spec.classes), (e: Error) => {
      assert.ok(e instanceof DataError);
      assert.equal(e.file, bad);
      assert.match(e.message, new RegExp(`^${esc(bad)}: unknown label colour \\(1,2,3\\) at pixel \\(x=3, y=1\\)`));
      return true;
    });
    // Statistics over the dataset fail the same way, naming the file.
    await assert.rejects(computeStats(spec), new RegExp(`${esc(bad)}: unknown label colour \\(1,2,3\\)`));
  });

  it("'ignore': maps to the ignore index and reports the count (sample and stats)", async () => {
    const dir = await camseqDir('unknown-ignore', 3);
    const bad = path.join(dir, 'f2_L.png');
    await writeRgb(bad, 8, 6, (x, y) => (y === 5 && x >= 2 ? [9, 9, 9] : y < 3 ? SKY : ROAD));
    const spec = openDataset(dir, { unknownColors: 'ignore', void: 'class' });
    const s = await decodeSample(spec.samples[2]!, spec.label, spec.classes);
    assert.equal(s.unknownPixels, 6);
    assert.deepEqual([...s.label.subarray(40, 48)], [3, 3, 255, 255, 255, 255, 255, 255]);
    assert.equal(s.label[0], 0);
    const st = await computeStats(spec);
    assert.equal(st.unknownPixels, 6);
    assert.deepEqual(st.unknownFiles, [{ file: bad, pixels: 6 }]);
    assert.equal(st.ignoredPixels, 6);
    assert.equal(st.counts[0], 3 * 24);
    assert.equal(st.counts[3], 3 * 24 - 6);
  });
});

describe('sizes and pairing', () => {
  it('image/label size mismatch names both files', async () => {
    const dir = await camseqDir('size-mismatch');
    const lab = path.join(dir, 'f0_L.png');
    await writeRgb(lab, 8, 5, () => SKY);
    const spec = openDataset(dir);
    await assert.rejects(
      decodeSample(spec.samples[0]!, spec.label, spec.classes),
      fails(new RegExp(`^${esc(lab)}: label is 8x5 but its image ${esc(path.join(dir, 'f0.png'))} is 8x6`)),
    );
    await assert.rejects(computeStats(spec), fails(new RegExp(`^${esc(lab)}: label is 8x5 but its image`)));
  });

  it('an image without a label, or a label without an image (camseq01, folder, camvid)', async () => {
    const a = await camseqDir('unpaired-image');
    await writeRgb(path.join(a, 'extra.png'), 8, 6, () => [0, 0, 0]);
    assert.throws(() => openDataset(a), fails(new RegExp(`^${esc(path.join(a, 'extra.png'))}: image has no label \\(expected ${esc(path.join(a, 'extra_L.png'))}\\)`)));
    const b = await camseqDir('unpaired-label');
    await writeRgb(path.join(b, 'lonely_L.png'), 8, 6, () => SKY);
    assert.throws(() => openDataset(b), fails(new RegExp(`^${esc(path.join(b, 'lonely_L.png'))}: label has no image`)));

    const f = path.join(tmp, 'folder-unpaired');
    await writeRgb(path.join(f, 'images', 'a.png'), 4, 4, () => [0, 0, 0]);
    await writeGray(path.join(f, 'masks', 'a.png'), 4, 4, () => 0);
    await writeGray(path.join(f, 'masks', 'b.png'), 4, 4, () => 0);
    fs.writeFileSync(path.join(f, 'classes.txt'), 'x\ny\n');
    assert.throws(() => openDataset(f), fails(new RegExp(`^${esc(path.join(f, 'masks', 'b.png'))}: label has no image`)));
    await writeRgb(path.join(f, 'images', 'b.png'), 4, 4, () => [0, 0, 0]);
    await writeRgb(path.join(f, 'images', 'c.jpg'), 4, 4, () => [0, 0, 0]);
    assert.throws(() => openDataset(f), fails(new RegExp(`^${esc(path.join(f, 'images', 'c.jpg'))}: image has no label`)));

    const v = await camvidDir('camvid-unpaired', () => 0);
    fs.rmSync(path.join(v, 'train.txt'));
    await writeGray(path.join(v, 'trainannot', 'z.png'), 8, 6, () => 0);
    assert.throws(() => openDataset(v), fails(new RegExp(`^${esc(path.join(v, 'trainannot', 'z.png'))}: label has no image`)));
    fs.writeFileSync(path.join(v, 'train.txt'), 'train/a.png trainannot/a.png\ntrain/q.png trainannot/q.png\n');
    assert.throws(() => openDataset(v), fails(new RegExp(`^${esc(path.join(v, 'train', 'q.png'))}: image file not found \\(listed in ${esc(path.join(v, 'train.txt'))}:2\\)`)));
    fs.writeFileSync(path.join(v, 'train.txt'), 'train/a.png trainannot/a.png\ntrain/a.png\n');
    assert.throws(() => openDataset(v), new RegExp(`${esc(path.join(v, 'train.txt'))}:2: expected "image annotation"`));
  });

  it('a label file deleted after listing is reported, not skipped', async () => {
    const dir = await camseqDir('deleted');
    const spec = openDataset(dir);
    fs.rmSync(spec.samples[1]!.label);
    await assert.rejects(decodeSample(spec.samples[1]!, spec.label, spec.classes), fails(new RegExp(`^${esc(spec.samples[1]!.label)}: label file not found`)));
  });
});

describe('corrupt files', () => {
  it('a truncated PNG (image or label) names the file', async () => {
    const dir = await camseqDir('truncated');
    const spec = openDataset(dir);
    const img = spec.samples[0]!.image;
    const buf = fs.readFileSync(img);
    fs.writeFileSync(img, buf.subarray(0, Math.floor(buf.length * 0.6)));
    await assert.rejects(decodeSample(spec.samples[0]!, spec.label, spec.classes), fails(new RegExp(`^${esc(img)}: cannot decode image: truncated PNG \\(IDAT chunk at byte \\d+ needs \\d+ bytes`)));
    const lab = spec.samples[1]!.label;
    const lb = fs.readFileSync(lab);
    fs.writeFileSync(lab, lb.subarray(0, lb.length - 12)); // all pixel data there, IEND missing
    await assert.rejects(decodeLabel(lab, spec.label, spec.classes), fails(new RegExp(`^${esc(lab)}: cannot decode label: truncated PNG \\(no IEND chunk\\)`)));
    fs.writeFileSync(lab, lb.subarray(0, lb.length - 16));
    await assert.rejects(decodeLabel(lab, spec.label, spec.classes), fails(new RegExp(`^${esc(lab)}: cannot decode label: truncated PNG`)));
    fs.writeFileSync(lab, lb.subarray(0, 20)); // cut inside the header
    await assert.rejects(decodeLabel(lab, spec.label, spec.classes), fails(new RegExp(`^${esc(lab)}: cannot decode label: not a PNG`)));
  });

  it('a corrupt PNG (garbled data, not an image, empty) names the file', async () => {
    const dir = await camseqDir('corrupt');
    const spec = openDataset(dir);
    const img = spec.samples[0]!.image;
    const buf = Buffer.from(fs.readFileSync(img));
    for (let i = 45; i < buf.length - 20; i++) buf[i] = buf[i]! ^ 0xa5;
    fs.writeFileSync(img, buf);
    await assert.rejects(decodeImage(img), fails(new RegExp(`^${esc(img)}: cannot decode image`)));
    fs.writeFileSync(img, 'this is not an image');
    await assert.rejects(decodeImage(img), fails(new RegExp(`^${esc(img)}: cannot decode image`)));
    fs.writeFileSync(img, '');
    await assert.rejects(decodeImage(img), fails(new RegExp(`^${esc(img)}: image file is empty`)));
    // A palette-PNG index mask with garbage image data goes through our own decoder: also a clear error.
    const v = await camvidDir('corrupt-palette', () => 0);
    const lab = path.join(v, 'trainannot', 'a.png');
    const chunk = (type: string, data: Buffer): Buffer => {
      const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
      const head = Buffer.alloc(4);
      head.writeUInt32BE(data.length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(td));
      return Buffer.concat([head, td, crc]);
    };
    const ihdr = Buffer.from([0, 0, 0, 8, 0, 0, 0, 6, 8, 3, 0, 0, 0]);
    const pal = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('PLTE', Buffer.alloc(12)),
      chunk('IDAT', Buffer.from('definitely not zlib data')),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    fs.writeFileSync(lab, pal);
    const vs = openDataset(v);
    await assert.rejects(decodeLabel(lab, vs.label, vs.classes), fails(new RegExp(`^${esc(lab)}: cannot decode label: (corrupt|truncated) PNG`)));
  });
});

describe('empty datasets and bad ids', () => {
  it('an empty dataset is an error', () => {
    const e = path.join(tmp, 'empty');
    fs.mkdirSync(e, { recursive: true });
    assert.throws(() => detectFormat(e), fails(new RegExp(`^${esc(e)}: cannot detect the dataset format`)));
    assert.throws(() => openDataset(e), /cannot detect the dataset format/);
    assert.throws(() => openDataset(e, { format: 'camseq01' }), fails(new RegExp(`^${esc(e)}: empty dataset`)));
    fs.mkdirSync(path.join(e, 'images'));
    fs.mkdirSync(path.join(e, 'masks'));
    fs.writeFileSync(path.join(e, 'classes.txt'), 'a\nb\n');
    assert.throws(() => openDataset(e), fails(new RegExp(`^${esc(path.join(e, 'images'))}: empty dataset`)));
    const v = path.join(tmp, 'empty-camvid');
    fs.mkdirSync(path.join(v, 'train'), { recursive: true });
    fs.mkdirSync(path.join(v, 'trainannot'), { recursive: true });
    fs.writeFileSync(path.join(v, 'train.txt'), '\n');
    assert.throws(() => openDataset(v), fails(new RegExp(`^${esc(path.join(v, 'train.txt'))}: empty dataset`)));
    assert.throws(() => openDataset(path.join(tmp, 'missing')), /dataset folder not found/);
  });

  it('a class id beyond the class list in an index mask names the file, pixel and id', async () => {
    const v = await camvidDir('bad-id', (x, y) => (x === 5 && y === 4 ? 12 : 11));
    const lab = path.join(v, 'trainannot', 'a.png');
    for (const voidMode of ['class', 'ignore'] as const) {
      const spec = openDataset(v, { void: voidMode });
      await assert.rejects(
        decodeSample(spec.samples[0]!, spec.label, spec.classes),
        fails(new RegExp(`^${esc(lab)}: class id 12 at pixel \\(x=5, y=4\\) is beyond the ${voidMode === 'class' ? 12 : 11} classes`)),
      );
    }
    const lenient = openDataset(v, { void: 'class', unknownColors: 'ignore' });
    const s = await decodeSample(lenient.samples[0]!, lenient.label, lenient.classes);
    assert.equal(s.unknownPixels, 1);
    assert.equal(s.label[4 * 8 + 5], 255);
    assert.equal(s.label[0], 11);
    // A colour PNG given as an index mask is reported too.
    await writeRgb(lab, 8, 6, (x) => (x === 2 ? [10, 20, 30] : [0, 0, 0]));
    const spec = openDataset(v);
    await assert.rejects(decodeLabel(lab, spec.label, spec.classes), fails(new RegExp(`^${esc(lab)}: index label has colour pixels, e\\.g\\. \\(10,20,30\\) at \\(x=2, y=0\\)`)));
  });

  it('contradictory palette files are errors naming the file', async () => {
    const dir = await camseqDir('bad-grouping');
    const g = path.join(dir, 'label_colors11.txt');
    fs.writeFileSync(g, labelColors11Text() + '128 128 128 Road\n');
    assert.throws(() => openDataset(dir), fails(new RegExp(`^${esc(g)}: colour \\(128,128,128\\) is assigned to both "Sky" and "Road"`)));
    fs.writeFileSync(g, '1 2 3\n');
    assert.throws(() => openDataset(dir), fails(new RegExp(`^${esc(g)}:1: expected "R G B Name"`)));
    assert.throws(() => openDataset(dir, { grouping: path.join(dir, 'nope.txt') }), /nope\.txt: grouping file not found/);
  });
});
