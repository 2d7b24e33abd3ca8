// `streetseg app`: what the site folder holds (the checked export, onnxruntime-web's files byte for byte,
// a bundle with nothing from elsewhere, model.json), the input size rule, and the folder discipline: an
// existing site is replaced whole, a failed build leaves it as it was, a folder that is not a site is refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp, ortWebDist } from '../src/app/build.js';
import { ORT_MODULES, SITE_FORMAT, type SiteMeta } from '../src/app/web/site.js';
import { decodeImage } from '../src/data/decode.js';
import { openCheckpoint, readConfig } from '../src/models/index.js';
import { fixturesRoot, repoRoot } from '../src/util/paths.js';

const TINY = path.join(fixturesRoot(), 'segformer', 'tiny');
const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const readMeta = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as SiteMeta;

describe('streetseg app', { timeout: 300_000 }, () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-app-build-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes a self-contained site: the checked model, onnxruntime-web files, the page, model.json', async () => {
    const out = path.join(tmp, 'site');
    const s = await buildApp({ checkpoint: openCheckpoint(TINY), out, log: () => undefined });
    assert.equal(s.out, out);
    assert.ok(s.maxAbsDiff <= 1e-4, `self-check ${s.maxAbsDiff}`);
    assert.deepEqual(s.runtimes, ['wasm', 'webgpu']);
    const ort = ortWebDist();
    const want = ['app.js', 'index.html', 'model.json', 'model.onnx', 'sample.png', ...s.runtimes.flatMap((r) => ORT_MODULES[r].files.map((f) => `ort/${f}`))].sort();
    const have = fs.readdirSync(out, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.relative(out, path.join(d.parentPath, d.name))).sort();
    assert.deepEqual(have, want);
    assert.equal(s.files, want.length);
    for (const f of want.filter((x) => x.startsWith('ort/'))) {
      assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(ort.dir, path.basename(f)))), `${f} is onnxruntime-web ${ort.version}'s own`);
    }
    assert.equal(fs.statSync(path.join(out, 'model.onnx')).size, s.onnxBytes);

    const meta = readMeta(out);
    const cfg = readConfig(TINY);
    assert.equal(meta.format, SITE_FORMAT);
    assert.equal(meta.model, 'segformer-custom');
    assert.equal(meta.modelType, 'segformer');
    assert.deepEqual(meta.classes, Object.values(cfg.id2label));
    // palette auto: CamVid's colours by class name (Road is purple, Void black)
    assert.deepEqual(meta.colors[meta.classes.indexOf('Road')], [128, 64, 128]);
    assert.deepEqual(meta.colors[meta.classes.indexOf('Void')], [0, 0, 0]);
    assert.deepEqual(meta.inputSize, { scale: 1 });
    assert.equal(meta.ortVersion, ort.version);
    const sample = await decodeImage(path.join(out, 'sample.png'));
    assert.deepEqual([sample.width, sample.height], [480, 360]);
    assert.deepEqual(meta.sample, { width: 480, height: 360 });

    // nothing from elsewhere: no absolute URL the page could load, no Node module in the bundle
    const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    const js = fs.readFileSync(path.join(out, 'app.js'), 'utf8');
    assert.deepEqual(html.match(/(src|href)="[^"]*"/g), ['href="data:,"', 'src="app.js"']);
    assert.doesNotMatch(js, /from\s*["'](node:|https?:)/);
    assert.doesNotMatch(js, /import\(\s*["']https?:/);
    assert.match(js, /ort\.wasm\.min\.mjs/);
  });

  it("the input size: fixed with --height/--width, else predict's scale from the checkpoint", async () => {
    const fixed = await buildApp({ checkpoint: openCheckpoint(TINY), out: path.join(tmp, 'fixed'), height: 96, width: 128, webgpu: false, log: () => undefined });
    assert.deepEqual(fixed.inputSize, { height: 96, width: 128 });
    assert.deepEqual(readMeta(fixed.out).inputSize, { height: 96, width: 128 });
    assert.deepEqual(readMeta(fixed.out).runtimes, ['wasm']);
    assert.ok(!fs.existsSync(path.join(fixed.out, 'ort', 'ort.webgpu.min.mjs')));

    const half = path.join(tmp, 'ckpt-half');
    fs.cpSync(TINY, half, { recursive: true });
    const cfg = JSON.parse(fs.readFileSync(path.join(half, 'config.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(half, 'config.json'), JSON.stringify({ ...cfg, streetseg_eval_scales: [0.5] }));
    const s = await buildApp({ checkpoint: openCheckpoint(half), out: path.join(tmp, 'half'), webgpu: false, log: () => undefined });
    assert.deepEqual(s.inputSize, { scale: 0.5 });
    await assert.rejects(buildApp({ checkpoint: openCheckpoint(TINY), out: path.join(tmp, 'x'), height: 96 }), /give both height and width/);
  });

  it('replaces an existing site whole; a failed build leaves it as it was; other folders are refused', async () => {
    const out = path.join(tmp, 'site');
    const before = fs.readFileSync(path.join(out, 'model.onnx'));
    fs.writeFileSync(path.join(out, 'stale.txt'), 'from an older build');
    // a bad --sample fails after the folder checks: nothing changes
    await assert.rejects(buildApp({ checkpoint: openCheckpoint(TINY), out, sample: path.join(tmp, 'nope.png'), log: () => undefined }), /nope\.png: image file not found/);
    assert.ok(fs.existsSync(path.join(out, 'stale.txt')));
    assert.ok(fs.readFileSync(path.join(out, 'model.onnx')).equals(before));
    // a rebuild (int8 now) swaps in a complete new folder
    const s = await buildApp({ checkpoint: openCheckpoint(TINY), out, int8: true, webgpu: false, log: () => undefined });
    assert.ok(!fs.existsSync(path.join(out, 'stale.txt')), 'the old folder is gone');
    assert.equal(readMeta(out).int8, true);
    assert.ok(s.onnxBytes < before.length, `int8 ${s.onnxBytes} < fp32 ${before.length} bytes`);
    assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.startsWith('.tmp-')), [], 'no temporary folder left');

    const mine = path.join(tmp, 'my-photos');
    fs.mkdirSync(mine);
    fs.writeFileSync(path.join(mine, 'holiday.jpg'), 'precious');
    await assert.rejects(buildApp({ checkpoint: openCheckpoint(TINY), out: mine }), /my-photos: exists and is not a site written by streetseg app/);
    assert.equal(fs.readFileSync(path.join(mine, 'holiday.jpg'), 'utf8'), 'precious');
    assert.throws(() => openCheckpoint(path.join(tmp, 'no-ckpt')), /no-ckpt: checkpoint directory not found/);
  });

  it('the CLI: JSON summary last, usage errors', () => {
    const r = spawnSync(process.execPath, [cli, 'app', '--checkpoint', TINY, '--out', path.join(tmp, 'cli-site'), '--no-webgpu', '--sample', path.join(tmp, 'site', 'sample.png')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { out: string; runtimes: string[]; classes: number };
    assert.deepEqual([summary.out, summary.runtimes, summary.classes], [path.join(tmp, 'cli-site'), ['wasm'], 12]);
    assert.match(r.stderr, /open it with: streetseg serve /);
    const bad = spawnSync(process.execPath, [cli, 'app', '--checkpoint', TINY, '--out', path.join(tmp, 'z'), '--width', '64'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /give both --height and --width, or neither/);
  });
});
