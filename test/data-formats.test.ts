// Dataset layouts, palettes, decoding, preprocessing, splits and the shared PRNG.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { dataset } from './helpers/test-inputs.js';
import { after, before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { camvidClasses } from '../src/data/camvid.js';
import { detectFormat, openDataset } from '../src/data/dataset.js';
import { decodeLabel, decodeSample } from '../src/data/decode.js';
import { CAMVID11_GROUPING, CAMVID32, colorKey, colorLut, defaultPalette, parsePaletteText } from '../src/data/palette.js';
import { decodePaletteIndices } from '../src/data/png.js';
import {
  IMAGENET,
  nearestIndices,
  normalizeImage,
  resizeBilinearHWC,
  resizeNearest,
  resizeSample,
} from '../src/data/preprocess.js';
import { randomSplit, readSplitList, splitDataset, writeSplitList } from '../src/data/split.js';
import { hashSeed, permutation, rng, shuffled } from '../src/util/random.js';
import { crc32 } from '../src/util/zip.js';

const CAMSEQ = dataset('camseq01');
const CAMVID = dataset('camvid');

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-formats-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function writeRgb(file: string, w: number, h: number, px: (x: number, y: number) => [number, number, number]): Promise<void> {
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b.set(px(x, y), (y * w + x) * 3);
  await sharp(b, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
}
async function writeGray(file: string, w: number, h: number, px: (x: number, y: number) => number): Promise<void> {
  const b = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b[y * w + x] = px(x, y);
  await sharp(b, { raw: { width: w, height: h, channels: 1 } }).png().toFile(file);
}

/** A palette PNG (colour type 3, bit depth 8 or 4) written by hand: sharp cannot write raw indices. */
function palettePng(w: number, h: number, idx: (x: number, y: number) => number, bitDepth: 4 | 8 = 8): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = 3;
  const plte = Buffer.alloc(16 * 3);
  for (let i = 0; i < 16; i++) plte.set([i * 16, 255 - i * 16, (i * 77) & 255], i * 3);
  const rowBytes = bitDepth === 8 ? w : Math.ceil(w / 2);
  const raw = Buffer.alloc((rowBytes + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (rowBytes + 1)] = y % 2 === 0 ? 0 : 1; // filters none and sub
    for (let x = 0; x < w; x++) {
      const v = idx(x, y);
      const o = y * (rowBytes + 1) + 1;
      if (bitDepth === 8) raw[o + x] = v;
      else raw[o + (x >> 1)]! |= x % 2 === 0 ? v << 4 : v;
    }
    if (y % 2 === 1) {
      // Sub filter: store differences to the byte one pixel-byte to the left (bpp = 1).
      const o = y * (rowBytes + 1) + 1;
      for (let x = rowBytes - 1; x >= 1; x--) raw[o + x] = (raw[o + x]! - raw[o + x - 1]!) & 255;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('PLTE', plte),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('random', () => {
  it('is deterministic per seed and in range', () => {
    const a = rng(42), b = rng(42), c = rng(43);
    const xs = Array.from({ length: 1000 }, () => a.next());
    assert.deepEqual(xs, Array.from({ length: 1000 }, () => b.next()));
    assert.notDeepEqual(xs.slice(0, 10), Array.from({ length: 10 }, () => c.next()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  });
  it('int, uniform and normal have the right distributions', () => {
    const r = rng(7);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[r.int(6)]++;
    for (const k of counts) assert.ok(Math.abs(k - 10000) < 500, `int counts ${counts}`);
    for (let i = 0; i < 1000; i++) {
      const u = r.uniform(-2, 3);
      assert.ok(u >= -2 && u < 3);
    }
    const ns = Array.from({ length: 20000 }, () => r.normal());
    const m = ns.reduce((s, x) => s + x, 0) / ns.length;
    const v = ns.reduce((s, x) => s + (x - m) ** 2, 0) / ns.length;
    assert.ok(Math.abs(m) < 0.03 && Math.abs(v - 1) < 0.05, `normal mean ${m} var ${v}`);
    assert.throws(() => r.int(0), RangeError);
    assert.throws(() => r.int(1.5), RangeError);
  });
  it('hashSeed separates streams and is order sensitive', () => {
    const seen = new Set<number>();
    for (let e = 0; e < 20; e++) for (let i = 0; i < 50; i++) seen.add(hashSeed(42, e, i));
    assert.equal(seen.size, 1000);
    assert.notEqual(hashSeed(1, 2), hashSeed(2, 1));
    assert.notEqual(hashSeed(1), hashSeed(1 + 2 ** 32));
    assert.notEqual(hashSeed(-1), hashSeed(2 ** 32 - 1));
    assert.equal(hashSeed(5, 6), hashSeed(5, 6));
    assert.ok(Number.isInteger(hashSeed(3)) && hashSeed(3) >= 0 && hashSeed(3) < 2 ** 32);
  });
  it('permutations are permutations and shuffles are uniform-ish', () => {
    const p = permutation(100, rng(1));
    assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
    const first = new Array(4).fill(0);
    const r = rng(9);
    for (let i = 0; i < 8000; i++) first[shuffled([0, 1, 2, 3], r)[0]!]++;
    for (const k of first) assert.ok(Math.abs(k - 2000) < 200, `first positions ${first}`);
  });
});

describe('palette files', () => {
  it('label_colors.txt has the 32 CamVid classes (same as the built-in table)', () => {
    const f = path.join(CAMSEQ, 'label_colors.txt');
    const p = parsePaletteText(fs.readFileSync(f, 'utf8'), f);
    assert.equal(p.length, 32);
    assert.equal(new Set(p.map((e) => colorKey(...e.color))).size, 32);
    assert.deepEqual(p, CAMVID32);
    assert.deepEqual(p.find((e) => e.name === 'Building')!.color, [128, 0, 0]); // the double-tab line
  });
  it('label_colors11.txt maps the 32 colours to 12 groups (same as the built-in grouping)', () => {
    const f = path.join(CAMSEQ, 'label_colors11.txt');
    const g = parsePaletteText(fs.readFileSync(f, 'utf8'), f);
    assert.equal(g.length, 32);
    assert.deepEqual(g, CAMVID11_GROUPING);
    const groups = [...new Set(g.map((e) => e.name))];
    assert.deepEqual(groups, ['Sky', 'Building', 'Pole', 'Road', 'Sidewalk', 'Tree', 'SignSymbol', 'Fence', 'Car', 'Pedestrian', 'Bicyclist', 'Void']);
  });
  it('malformed palette lines are errors naming file:line', () => {
    assert.throws(() => parsePaletteText('1 2 3 A\n1 2 B\n', '/x/p.txt'), /\/x\/p\.txt:2: expected "R G B Name"/);
    assert.throws(() => parsePaletteText('1 2 300 A\n', '/x/p.txt'), /\/x\/p\.txt:1: colour component above 255/);
    assert.throws(() => parsePaletteText('\n# only a comment\n', '/x/p.txt'), /no palette entries/);
  });
  it('the colour LUT maps keys to ids', () => {
    const lut = colorLut([[1, 2, 3], [255, 255, 255]], [4, 255]);
    assert.equal(lut.slotIds[lut.table[colorKey(1, 2, 3)]! - 1], 4);
    assert.equal(lut.slotIds[lut.table[colorKey(255, 255, 255)]! - 1], 255);
    assert.equal(lut.table[colorKey(1, 2, 4)], 0);
    const pal = defaultPalette(21);
    assert.equal(new Set(pal.map((c) => colorKey(...c))).size, 21);
    assert.deepEqual(pal[1], [128, 0, 0]); // VOC colormap
  });
});

describe('camseq01', () => {
  it('has 101 frames of 480x360, 32 colours, 12 groups (void class) or 11 (void ignored)', async () => {
    assert.equal(detectFormat(CAMSEQ), 'camseq01');
    const spec = openDataset(CAMSEQ, { void: 'class' });
    assert.equal(spec.format, 'camseq01');
    assert.equal(spec.samples.length, 101);
    assert.equal(spec.samples[0]!.id, '0016E5_07959');
    assert.equal(spec.samples[100]!.id, '0016E5_08159');
    assert.equal(spec.classes.names.length, 12);
    assert.equal(spec.classes.names[11], 'Void');
    assert.equal(spec.label.kind, 'color');
    if (spec.label.kind === 'color') assert.equal(spec.label.colors.length, 32);
    const s = await decodeSample(spec.samples[0]!, spec.label, spec.classes);
    assert.equal(s.width, 480);
    assert.equal(s.height, 360);
    assert.equal(s.image.length, 480 * 360 * 3);
    assert.equal(s.unknownPixels, 0);
    const ign = openDataset(CAMSEQ);
    assert.equal(ign.classes.names.length, 11);
    const none = openDataset(CAMSEQ, { grouping: 'none', void: 'class' });
    assert.equal(none.classes.names.length, 32);
  });

  it('the 12-group decoding equals the camvid valannot index labels pixel for pixel (and the images match)', async () => {
    for (const voidMode of ['class', 'ignore'] as const) {
      const a = openDataset(CAMSEQ, { void: voidMode });
      const b = openDataset(CAMVID, { split: 'val', void: voidMode });
      assert.equal(b.samples.length, 101);
      assert.deepEqual(a.samples.map((s) => s.id), b.samples.map((s) => s.id));
      assert.deepEqual(a.classes.palette, b.classes.palette);
      const step = voidMode === 'class' ? 1 : 10; // every frame once, a sample again for the ignore variant
      let checked = 0;
      let voidPixels = 0;
      for (let i = 0; i < a.samples.length; i += step) {
        const [x, y] = await Promise.all([decodeSample(a.samples[i]!, a.label, a.classes), decodeSample(b.samples[i]!, b.label, b.classes)]);
        assert.equal(x.label.length, y.label.length);
        assert.ok(Buffer.from(x.label).equals(Buffer.from(y.label)), `label differs for ${x.id} (void ${voidMode})`);
        assert.ok(Buffer.from(x.image).equals(Buffer.from(y.image)), `image differs for ${x.id}`);
        for (const v of x.label) if (v === (voidMode === 'class' ? 11 : 255)) voidPixels++;
        checked++;
      }
      assert.equal(checked, voidMode === 'class' ? 101 : 11);
      assert.ok(voidPixels > 0, 'void pixels occur');
    }
  });
});

describe('camvid (SegNet layout)', () => {
  it('train has 367 frames, val 101; void handling sets the class count and LUT', async () => {
    assert.equal(detectFormat(CAMVID), 'camvid');
    const train = openDataset(CAMVID);
    assert.equal(train.samples.length, 367);
    assert.equal(train.samples[0]!.id, '0001TP_006690');
    assert.ok(train.samples.every((s) => s.image.includes(`${path.sep}train${path.sep}`) && s.label.includes(`${path.sep}trainannot${path.sep}`)));
    assert.deepEqual(train.classes.names, camvidClasses('ignore').names);
    assert.equal(train.classes.names.length, 11);
    assert.equal(train.label.kind === 'index' && train.label.lut?.[11], 255);
    const cls = openDataset(CAMVID, { void: 'class' });
    assert.equal(cls.classes.names.length, 12);
    const a = await decodeLabel(train.samples[0]!.label, train.label, train.classes);
    const b = await decodeLabel(cls.samples[0]!.label, cls.label, cls.classes);
    let voids = 0;
    for (let i = 0; i < a.label.length; i++) {
      if (b.label[i] === 11) {
        voids++;
        assert.equal(a.label[i], 255);
      } else assert.equal(a.label[i], b.label[i]);
      assert.ok(b.label[i]! <= 11);
    }
    assert.ok(voids > 0);
    // SegNet's release also has test/ (the shared copy leaves it out)
    assert.throws(() => openDataset(CAMVID, { split: 'nope' }), /split "nope" not found \(available: (test, )?train, val\)/);
  });

  it('pairs <split>/ and <split>annot/ by name when there is no list file, and resolves SegNet absolute list paths', async () => {
    const root = path.join(tmp, 'camvid-mini');
    fs.mkdirSync(path.join(root, 'train'), { recursive: true });
    fs.mkdirSync(path.join(root, 'trainannot'), { recursive: true });
    for (const n of ['b', 'a']) {
      await writeRgb(path.join(root, 'train', `${n}.png`), 6, 4, (x) => [x * 40, 0, 0]);
      await writeGray(path.join(root, 'trainannot', `${n}.png`), 6, 4, (x, y) => (x + y) % 12);
    }
    const spec = openDataset(root, { void: 'class' });
    assert.deepEqual(spec.samples.map((s) => s.id), ['a', 'b']);
    const d = await decodeSample(spec.samples[0]!, spec.label, spec.classes);
    assert.deepEqual([...d.label.subarray(0, 6)], [0, 1, 2, 3, 4, 5]);
    fs.writeFileSync(path.join(root, 'train.txt'), '/SegNet/CamVid/train/b.png /SegNet/CamVid/trainannot/b.png\n');
    const listed = openDataset(root);
    assert.deepEqual(listed.samples.map((s) => s.id), ['b']);
    assert.equal(listed.samples[0]!.label, path.join(root, 'trainannot', 'b.png'));
  });
});

describe('folder layout', () => {
  it('index masks (grayscale and palette PNG) with classes.txt; void dropped or kept', async () => {
    const root = path.join(tmp, 'folder-index');
    fs.mkdirSync(path.join(root, 'images'), { recursive: true });
    fs.mkdirSync(path.join(root, 'masks'), { recursive: true });
    fs.writeFileSync(path.join(root, 'classes.txt'), 'road\nvoid\n10 200 30 car\nsky\n');
    await writeRgb(path.join(root, 'images', 'f1.png'), 5, 3, (x, y) => [x * 50, y * 80, 7]);
    await sharp(Buffer.alloc(5 * 3 * 3, 90), { raw: { width: 5, height: 3, channels: 3 } }).jpeg().toFile(path.join(root, 'images', 'f2.jpg'));
    await writeGray(path.join(root, 'masks', 'f1.png'), 5, 3, (x, y) => (x === 4 && y === 2 ? 255 : (x + y) % 4));
    fs.writeFileSync(path.join(root, 'masks', 'f2.png'), palettePng(5, 3, (x, y) => (x + 2 * y) % 4));
    assert.equal(detectFormat(root), 'folder');
    const ign = openDataset(root);
    assert.deepEqual(ign.classes.names, ['road', 'car', 'sky']);
    assert.deepEqual(ign.classes.palette[1], [10, 200, 30]);
    const a = await decodeSample(ign.samples[0]!, ign.label, ign.classes);
    // raw ids 0,1,2,3 -> road 0, void -> 255, car 1, sky 2
    assert.deepEqual([...a.label], [0, 255, 1, 2, 0, 255, 1, 2, 0, 255, 1, 2, 0, 255, 255]);
    assert.deepEqual([...a.image.subarray(0, 6)], [0, 0, 7, 50, 0, 7]);
    const b = await decodeSample(ign.samples[1]!, ign.label, ign.classes);
    assert.equal(b.id, 'f2');
    assert.deepEqual([...b.label], [0, 255, 1, 2, 0, 1, 2, 0, 255, 1, 0, 255, 1, 2, 0]);
    const keep = openDataset(root, { void: 'class' });
    assert.deepEqual(keep.classes.names, ['road', 'void', 'car', 'sky']);
    const c = await decodeSample(keep.samples[1]!, keep.label, keep.classes);
    assert.deepEqual([...c.label], [0, 1, 2, 3, 0, 2, 3, 0, 1, 2, 0, 1, 2, 3, 0]);
  });

  it('colour masks with a palette file', async () => {
    const root = path.join(tmp, 'folder-colour');
    fs.mkdirSync(path.join(root, 'images'), { recursive: true });
    fs.mkdirSync(path.join(root, 'labels'), { recursive: true });
    fs.writeFileSync(path.join(root, 'palette.txt'), '0 0 0 Void\n255 0 0 Car\n0 255 0 Tree\n');
    await writeRgb(path.join(root, 'images', 'x.png'), 4, 2, () => [1, 2, 3]);
    const cols: [number, number, number][] = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [255, 0, 0]];
    await writeRgb(path.join(root, 'labels', 'x.png'), 4, 2, (x) => cols[x]!);
    const spec = openDataset(root);
    assert.deepEqual(spec.classes.names, ['Car', 'Tree']);
    const d = await decodeSample(spec.samples[0]!, spec.label, spec.classes);
    assert.deepEqual([...d.label], [255, 0, 1, 0, 255, 0, 1, 0]);
  });

  it('palette PNG decoding handles 4-bit depth and filters', () => {
    const png = palettePng(7, 3, (x, y) => (x * 3 + y) % 16, 4);
    const d = decodePaletteIndices(png);
    assert.equal(d.width, 7);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 7; x++) assert.equal(d.indices[y * 7 + x], (x * 3 + y) % 16);
  });
});

describe('preprocess', () => {
  const fixture = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'interp-torch.json'), 'utf8')) as {
    nearest: { in: number; out: number; idx: number[] }[];
    bilinear: { h: number; w: number; out: number[] }[];
    bilinear_input: { c: number; h: number; w: number; chw: number[] };
  };

  it("nearest matches PyTorch 'nearest' index for index (incl. float32 rounding cases)", () => {
    for (const c of fixture.nearest) assert.deepEqual([...nearestIndices(c.in, c.out)], c.idx, `${c.in} -> ${c.out}`);
    // The float32 case: 2 -> 82 at 41 is 0 in PyTorch (float64 arithmetic would give 1).
    assert.equal(nearestIndices(2, 82)[41], 0);
  });

  it('bilinear (align_corners=False, no antialias) matches PyTorch to 1e-4', () => {
    const inp = fixture.bilinear_input;
    const chw = Float32Array.from(inp.chw);
    const hwc = new Float32Array(chw.length);
    const n = inp.h * inp.w;
    for (let c = 0; c < 3; c++) for (let i = 0; i < n; i++) hwc[i * 3 + c] = chw[c * n + i]!;
    for (const c of fixture.bilinear) {
      const b = resizeBilinearHWC(hwc, inp.w, inp.h, 3, c.w, c.h, new Float32Array(c.out.length));
      const m = c.h * c.w;
      for (let i = 0; i < c.out.length; i++) {
        const ch = Math.floor(i / m), p = i % m;
        assert.ok(Math.abs(b[p * 3 + ch]! - c.out[i]!) < 1e-4, `${c.h}x${c.w} HWC[${p * 3 + ch}] ${b[p * 3 + ch]} vs ${c.out[i]}`);
      }
    }
  });

  it('resizeSample never blends labels; toCHWFloat scales and normalises', async () => {
    const spec = openDataset(CAMVID, { split: 'val' });
    const s = await decodeSample(spec.samples[0]!, spec.label, spec.classes);
    const present = new Set(s.label);
    const r = resizeSample(s, 301, 227);
    assert.equal(r.image.length, 301 * 227 * 3);
    assert.ok([...new Set(r.label)].every((v) => present.has(v)));
    assert.equal(r.label[0], s.label[0]);
    assert.equal(resizeSample(s, 480, 360), s);
    // nearest of an upscaled-by-2 label is exact pixel doubling
    const up = resizeNearest(s.label, 480, 360, 960, 720);
    for (const [x, y] of [[0, 0], [479, 359], [123, 77], [300, 200]] as const) {
      const v = s.label[y * 480 + x];
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) assert.equal(up[(2 * y + dy) * 960 + 2 * x + dx], v);
    }
    const img = Uint8Array.from([0, 128, 255, 255, 0, 51]);
    const raw = normalizeImage(img, null);
    assert.deepEqual([...raw].map((v) => Math.round(v * 1000) / 1000), [0, 1, 0.502, 0, 1, 0.2]);
    const nrm = normalizeImage(img);
    assert.ok(Math.abs(nrm[0]! - (0 - 0.485) / 0.229) < 1e-6);
    assert.ok(Math.abs(nrm[3]! - (0 - 0.456) / 0.224) < 1e-6);
    assert.ok(Math.abs(nrm[4]! - (1 - 0.406) / 0.225) < 1e-6);
    // ToTensor + Normalize's order of operations, bit for bit: (fround(v/255) − mean) / std in float32
    for (let i = 0; i < 6; i++) {
      const c = Math.floor(i / 2), v = img[(i % 2) * 3 + c]!;
      assert.equal(nrm[i], Math.fround((Math.fround(v / 255) - IMAGENET.mean[c]) / IMAGENET.std[c]));
    }
    // into a batch slot: the same values at the offset, the rest untouched
    const slot = normalizeImage(img, IMAGENET, new Float32Array(10).fill(7), 2);
    assert.deepEqual([...slot.subarray(2, 8)], [...nrm]);
    assert.deepEqual([slot[0], slot[1], slot[8], slot[9]], [7, 7, 7, 7]);
    assert.throws(() => normalizeImage(img, IMAGENET, new Float32Array(7), 2), /6 values at offset 2 do not fit an output of 7/);
  });
});

describe('split', () => {
  it('seeded 80/20: deterministic, disjoint, complete, original order kept', () => {
    const items = Array.from({ length: 101 }, (_, i) => i);
    const a = randomSplit(items);
    const b = randomSplit(items, { seed: 42, valFraction: 0.2 });
    assert.deepEqual(a, b);
    assert.equal(a.train.length, 80);
    assert.equal(a.val.length, 21);
    assert.deepEqual([...a.train, ...a.val].sort((x, y) => x - y), items);
    assert.deepEqual(a.train, [...a.train].sort((x, y) => x - y));
    assert.notDeepEqual(randomSplit(items, { seed: 43 }).val, a.val);
    assert.equal(randomSplit(Array.from({ length: 100 }, (_, i) => i)).val.length, 20);
  });
  it('list files round-trip and reject unknown ids', () => {
    const spec = openDataset(CAMSEQ);
    const { train, val } = splitDataset(spec);
    const f = path.join(tmp, 'val.txt');
    writeSplitList(f, val.samples);
    assert.deepEqual(readSplitList(f, spec).samples, val.samples);
    assert.equal(train.samples.length + val.samples.length, 101);
    fs.writeFileSync(f, '0016E5_07959\n\nnope_1\n');
    assert.throws(() => readSplitList(f, spec), new RegExp(`${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3: no sample "nope_1"`));
    fs.writeFileSync(f, 'val/0016E5_07961.png valannot/0016E5_07961.png\n');
    assert.deepEqual(readSplitList(f, spec).samples.map((s) => s.id), ['0016E5_07961']);
  });
});
