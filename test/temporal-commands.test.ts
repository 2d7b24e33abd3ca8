// Temporal stability through the commands: eval --sequence reports the flicker and consistency that predict's
// own class-id PNGs have (unsmoothed and smoothed), predict smooths each video on its own and never its first
// frame, and the --smooth option parses bare and with a value.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { parseArgs } from '../src/cli/command.js';
import { evalCommand } from '../src/cli/commands/eval.js';
import { predictCommand } from '../src/cli/commands/predict.js';
import { createModel, savePretrained } from '../src/models/index.js';
import { AUTO_SMOOTH, formatSmoothSpec, parseSmoothSpec, sequenceKey, TemporalMeter, DEFAULT_SMOOTH } from '../src/temporal/index.js';
import { recordSmooth, resolveSmooth } from '../src/cli/smooth-option.js';
import { manualSeed } from '../src/torch/index.js';
import { defaultCallbacks } from '../src/train/callbacks/index.js';
import { ConfigError, resolveConfig } from '../src/train/config.js';
import { makeLoaders, setupData } from '../src/train/setup.js';
import { Trainer } from '../src/train/trainer.js';
import { repoRoot } from '../src/util/paths.js';
import { tinyConfig, tinyDataset, tmpRun } from './helpers/train-fixture.js';

const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);
const LABELS = ['Sky', 'Building', 'Road', 'Car'];
const W = 48;
const H = 32;

let tmp: string;
let ckpt: string;
let data: string;

/** Frame t of a drive: smooth gradients with a bright block moving 2 px a frame (small frame differences). */
function frame(t: number, seed: number): Uint8Array {
  const px = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      const block = x >= 6 + 2 * t && x < 18 + 2 * t && y >= 8 && y < 22;
      px[i] = block ? 230 : (x * 255) / W;
      px[i + 1] = (y * 255) / H;
      px[i + 2] = (seed * 60 + x * 2 + y * 3) & 255;
    }
  }
  return px;
}

/** A truth map: the block is Car, the top Sky, the rest Road, one column ignored. */
function label(t: number): Uint8Array {
  const l = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const block = x >= 6 + 2 * t && x < 18 + 2 * t && y >= 8 && y < 22;
      l[y * W + x] = x === 0 ? 255 : block ? 3 : y < 8 ? 0 : 2;
    }
  }
  return l;
}

async function grey(file: string): Promise<Uint8Array> {
  return new Uint8Array(await sharp(file).extractChannel(0).raw().toBuffer());
}

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-temporal-'));
  manualSeed(5);
  const model = createModel('segformer-b0', LABELS, { hidden_sizes: [8, 16, 24, 32], decoder_hidden_size: 16, num_attention_heads: [1, 2, 2, 4], depths: [1, 1, 1, 1], initializer_range: 0.5 });
  ckpt = path.join(tmp, 'ckpt');
  savePretrained(model, ckpt);
  model.dispose();
  // a folder dataset of two drives (6 and 3 frames) in one val split
  data = path.join(tmp, 'data');
  for (const d of ['images/val', 'masks/val']) fs.mkdirSync(path.join(data, d), { recursive: true });
  fs.writeFileSync(path.join(data, 'classes.txt'), LABELS.join('\n') + '\n');
  const frames = [...Array.from({ length: 6 }, (_, t) => ['drive_000' + (t + 1), t, 0] as const), ...Array.from({ length: 3 }, (_, t) => ['other_000' + (t + 1), t, 1] as const)];
  for (const [name, t, seed] of frames) {
    await sharp(frame(t, seed), { raw: { width: W, height: H, channels: 3 } }).png().toFile(path.join(data, 'images/val', `${name}.png`));
    await sharp(label(t), { raw: { width: W, height: H, channels: 1 } }).png().toFile(path.join(data, 'masks/val', `${name}.png`));
  }
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Flicker and consistency of predict's PNGs in `dir` against the masks, computed from the files. */
async function metricsOfPngs(dir: string): Promise<{ flicker: number; consistency: number; labelFlicker: number; pairs: number; ids: Map<string, Uint8Array> }> {
  const m = new TemporalMeter(255);
  const ids = new Map<string, Uint8Array>();
  const names = fs.readdirSync(path.join(data, 'images/val')).map((f) => f.replace(/\.png$/, '')).sort();
  for (const name of names) {
    const pred = await grey(path.join(dir, `${name}.png`));
    ids.set(name, pred);
    m.add({ id: name, sequence: sequenceKey(name), width: W, height: H, pred, label: await grey(path.join(data, 'masks/val', `${name}.png`)) });
  }
  return { ...m.result(), ids };
}

describe('eval --sequence and predict --sequence agree', () => {
  for (const smooth of [null, 'motion:alpha=0.3,tau=32,margin=0.1']) {
    it(`the flicker and consistency of predict's class-id PNGs are eval's (${smooth ?? 'unsmoothed'})`, async () => {
      const s = smooth ? ['--smooth', smooth] : [];
      const ev = run(['eval', '--checkpoint', ckpt, '--data', data, '--sequence', ...s, '--batch-size', '1', '--workers', '0', '--json', '--out', path.join(tmp, `eval-${smooth ? 's' : 'r'}`)]);
      assert.equal(ev.status, 0, ev.stderr);
      const t = lastJson(ev.stdout).temporal;
      const out = path.join(tmp, `pred-${smooth ? 's' : 'r'}`);
      const pr = run(['predict', '--checkpoint', ckpt, path.join(data, 'images/val'), '--out', out, '--sequence', ...s, '--quiet']);
      assert.equal(pr.status, 0, pr.stderr);
      const summary = lastJson(pr.stdout);
      const files = await metricsOfPngs(out);
      assert.equal(t.pairs, 7, '5 pairs in drive_, 2 in other_');
      assert.equal(t.sequences, 2);
      assert.equal(files.pairs, 7);
      assert.equal(files.flicker, t.flicker, 'flicker of the PNGs = eval');
      assert.equal(files.consistency, t.consistency, 'consistency of the PNGs = eval');
      assert.equal(files.labelFlicker, t.labelFlicker, "the masks' own flicker = eval's");
      assert.ok(t.labelFlicker > 0 && t.labelFlicker < 1, `the masks change between frames (${t.labelFlicker})`);
      assert.equal(summary.flicker, t.flicker, "predict's own flicker = eval");
      assert.equal(summary.pairs, 7);
      assert.equal(summary.smooth, t.smooth);
      assert.ok(t.flicker > 0, 'the random model flickers');
      const csv = fs.readFileSync(t.csv, 'utf8').trim().split('\n');
      assert.equal(csv[0], 'from,to,flicker,consistency,label_flicker');
      assert.equal(csv.length, 8);
      if (smooth) {
        assert.equal(t.smooth, 'motion:alpha=0.3,tau=32,margin=0.1,cut=40');
        assert.equal(summary.sceneCuts, 0);
        const raw = await metricsOfPngs(path.join(tmp, 'pred-r'));
        for (const first of ['drive_0001', 'other_0001']) assert.deepEqual(files.ids.get(first), raw.ids.get(first), `${first}: a first frame is not smoothed`);
        assert.notDeepEqual(files.ids.get('drive_0004'), raw.ids.get('drive_0004'), 'later frames are smoothed');
        assert.ok(files.flicker < raw.flicker, `smoothing lowers the flicker (${files.flicker} vs ${raw.flicker})`);
      }
    });
  }
});

describe('predict --smooth on videos', () => {
  it('each video is smoothed on its own, its first frame never; the last JSON line has the flicker of what was written', async () => {
    const vids = ['one', 'two'].map((n, i) => {
      const f = path.join(tmp, 'vid', `${n}.mp4`);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      ffmpeg(['-f', 'lavfi', '-i', `testsrc=size=48x32:rate=8${i ? ',hflip' : ''}`, '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv444p', f]);
      return f;
    });
    const go = (out: string, extra: string[]) => {
      const r = run(['predict', '--checkpoint', ckpt, ...vids, '--out', path.join(tmp, out), '--frames', '--batch', '3', '--quiet', ...extra]);
      assert.equal(r.status, 0, r.stderr);
      return lastJson(r.stdout);
    };
    const raw = go('vid-raw', []);
    const smoothed = go('vid-smooth', ['--smooth', 'ema:alpha=0.3,cut=0']);
    assert.deepEqual(Object.keys(raw), ['inputs', 'frames', 'seconds', 'framesPerSecond', 'runtime', 'out', 'flicker', 'pairs', 'smooth', 'sceneCuts']);
    for (const s of [raw, smoothed]) assert.deepEqual([s.frames, s.pairs], [16, 14], 'no pair across the two videos');
    assert.equal(raw.smooth, null);
    assert.equal(smoothed.smooth, 'ema:alpha=0.3,margin=0,cut=0');
    // the flicker is that of the frames written
    for (const [s, dir] of [[raw, 'vid-raw'], [smoothed, 'vid-smooth']] as const) {
      const m = new TemporalMeter();
      for (const v of ['one', 'two']) {
        m.break();
        for (let k = 0; k < 8; k++) m.add({ id: `${v}${k}`, sequence: v, width: 48, height: 32, pred: await grey(path.join(tmp, dir, `${v}_frames`, `${String(k).padStart(6, '0')}.png`)) });
      }
      assert.equal(s.flicker, m.result().flicker, dir);
    }
    for (const v of ['one', 'two']) {
      const first = (dir: string) => grey(path.join(tmp, dir, `${v}_frames`, '000000.png'));
      assert.deepEqual(await first('vid-smooth'), await first('vid-raw'), `${v}: the first frame is not smoothed`);
    }
    assert.ok(smoothed.flicker < raw.flicker, `${smoothed.flicker} < ${raw.flicker}`);
  });

  it('refuses to smooth separate images, and a bad spec names the method', () => {
    const img = path.join(data, 'images/val', 'drive_0001.png');
    const r = run(['predict', '--checkpoint', ckpt, img, '--out', path.join(tmp, 'no'), '--smooth', '--quiet']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /smoothing works over time, on videos and on images given as a sequence \(--sequence\)/);
    const bad = run(['predict', '--checkpoint', ckpt, img, '--out', path.join(tmp, 'no'), '--smooth', 'emma', '--sequence']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--smooth: smoothing "emma": unknown method "emma" \(did you mean ema\?\)/);
    const noSeq = run(['eval', '--checkpoint', ckpt, '--data', data, '--smooth']);
    assert.notEqual(noSeq.status, 0);
    assert.match(noSeq.stderr, /--smooth smooths a video over time; give --sequence too/);
  });
});

describe('training with evalSequence', () => {
  it("measures the val frames' flicker in name order, and the report draws it; data-parallel runs refuse it", async () => {
    const ds = await tinyDataset();
    const runDir = tmpRun('seq');
    const cfg = resolveConfig(tinyConfig(ds, { epochs: 1, evalSequence: true }));
    const { callbacks } = defaultCallbacks(cfg, 'none');
    const fit = await new Trainer(cfg, runDir, { callbacks, log: () => undefined }).fit();
    const t = fit.lastEval!.temporal!;
    assert.equal(t.pairs, 1, 'two val frames of one synthetic drive');
    assert.equal(t.smooth, null);
    const [a, b] = fit.lastEval!.perImage.map((p) => p.id);
    assert.ok(a! < b!, `evaluated in name order: ${a}, ${b}`);
    assert.deepEqual([t.perPair[0]!.from, t.perPair[0]!.to], [a, b]);
    const html = fs.readFileSync(path.join(runDir, 'report', 'index.html'), 'utf8');
    assert.match(html, /<section id="temporal"><h2>Temporal stability<\/h2>\s*<p>Over 1 consecutive frame pairs/);
    assert.match(html, /<img src="temporal-[0-9a-f]{12}\.svg" alt="flicker per frame pair">/);
    const data = setupData(cfg);
    assert.throws(() => makeLoaders(cfg, data, { rank: 0, worldSize: 2 }), (e: Error) => e instanceof ConfigError && /evalSequence: .* nproc is 2/.test(e.message));
  });
});

describe('the --smooth option', () => {
  it("bare is the checkpoint's recorded smoother, else the default; bench smooth --record writes it", () => {
    const dir = path.join(tmp, 'record');
    fs.cpSync(ckpt, dir, { recursive: true });
    const before = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
    assert.equal(formatSmoothSpec(resolveSmooth(AUTO_SMOOTH, dir)), formatSmoothSpec(parseSmoothSpec(DEFAULT_SMOOTH)));
    assert.equal(recordSmooth(dir, parseSmoothSpec('ema:alpha=0.5')), 'ema:alpha=0.5,margin=0,cut=40');
    const after = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.equal(after.streetseg_smooth, 'ema:alpha=0.5,margin=0,cut=40');
    assert.deepEqual({ ...after, streetseg_smooth: undefined }, { ...JSON.parse(before), streetseg_smooth: undefined }, 'nothing else changes');
    assert.equal(formatSmoothSpec(resolveSmooth(AUTO_SMOOTH, dir)), 'ema:alpha=0.5,margin=0,cut=40');
    assert.equal(formatSmoothSpec(resolveSmooth('hysteresis:margin=0.1', dir)), 'hysteresis:margin=0.1,cut=40', 'a given spec wins');
    assert.throws(() => recordSmooth(path.join(tmp, 'nowhere'), parseSmoothSpec('none')), /nowhere: no config.json to record the smoother in/);
  });

  it('bare is auto; a method-like next argument is its value; an input after it stays an input', () => {
    assert.deepEqual(parseArgs(predictCommand, ['--smooth', 'drive.mp4', '--checkpoint', 'c', '--out', 'o']).opts.smooth, AUTO_SMOOTH);
    assert.deepEqual(parseArgs(predictCommand, ['--smooth', 'drive.mp4', '--checkpoint', 'c', '--out', 'o']).positional, ['drive.mp4']);
    assert.equal(parseArgs(predictCommand, ['--smooth', 'ema:alpha=0.2', 'frames/', '--checkpoint', 'c', '--out', 'o']).opts.smooth, 'ema:alpha=0.2');
    assert.equal(parseArgs(predictCommand, ['--smooth=hysteresis', '--checkpoint', 'c', '--out', 'o']).opts.smooth, 'hysteresis');
    assert.equal(parseArgs(evalCommand, ['--checkpoint', 'c', '--data', 'd', '--sequence', '--smooth']).opts.smooth, AUTO_SMOOTH);
    assert.equal(parseArgs(evalCommand, ['--checkpoint', 'c', '--data', 'd', '--smooth', '--sequence']).opts.smooth, AUTO_SMOOTH);
    assert.equal(parseArgs(evalCommand, ['--checkpoint', 'c', '--data', 'd']).opts.smooth, undefined);
  });
});
