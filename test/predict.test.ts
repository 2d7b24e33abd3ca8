// streetseg predict: class ids equal our own forward's argmax, colours equal the palette, overlays the
// blend; videos through ffmpeg keep frame count and rate; ONNX runtime against PyTorch's own result;
// and each kind of bad input fails with an error naming the file and leaves no partial output.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../src/data/decode.js';
import { IMAGENET } from '../src/data/preprocess.js';
import { readPngHeader } from '../src/data/png.js';
import { createModel, openCheckpoint, savePretrained, type SegmentationModel } from '../src/models/index.js';
import { labelPalette, predict } from '../src/predict/index.js';
import { F, fromArray, inferenceMode, manualSeed, tidy } from '../src/torch/index.js';
import { PYTHON } from '../src/util/python.js';
import { repoRoot } from '../src/util/paths.js';
import { STATE_FILE } from '../src/train/checkpoint.js';
import { defaults } from '../src/train/config.js';
import { bestCheckpointName, checkpointPath, writeRunConfig } from '../src/train/run-dir.js';
import { writeJsonAtomic } from '../src/util/fs.js';

const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const runCli = (args: string[]) => spawnSync(process.execPath, [cli, 'predict', ...args], { encoding: 'utf8' });
const LABELS = ['Sky', 'Building', 'Road', 'Car', 'Void', 'Mystery'];
// by name from the CamVid palette; Mystery: the VOC colormap's first colour not taken (0: black = Void, 1: 128,0,0 = Building, 2)
const EXPECTED_PALETTE = [[128, 128, 128], [128, 0, 0], [128, 64, 128], [64, 0, 128], [0, 0, 0], [0, 128, 0]];

let tmp: string;
let ckpt: string;
let model: SegmentationModel;

/** A seeded RGB test picture: smooth gradients plus blocks, so a random model predicts several classes. */
function picture(w: number, h: number, seed: number): Uint8Array {
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      const block = ((x >> 3) + (y >> 3) + seed) % 3;
      px[i] = (x * 255) / w;
      px[i + 1] = block === 0 ? 230 : (y * 255) / h;
      px[i + 2] = (((x * 7 + y * 13) * (seed + 1)) & 255) ^ (block * 80);
    }
  }
  return px;
}

async function writePng(file: string, w: number, h: number, seed: number): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(picture(w, h, seed), { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
}

async function raw(file: string): Promise<{ data: Uint8Array; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
}

/** The values of an 8-bit grey PNG (checked from its header: sharp's raw output expands grey to 3 channels). */
async function grey(file: string): Promise<Uint8Array> {
  const hdr = readPngHeader(fs.readFileSync(file));
  assert.deepEqual([hdr.bitDepth, hdr.colorType], [8, 0], `${file}: 8-bit grey PNG`);
  return new Uint8Array(await sharp(file).extractChannel(0).raw().toBuffer());
}

/** Our own forward on an image file, written out step by step: ids = argmax(upsample(logits)). */
async function expectedIds(file: string): Promise<Uint8Array> {
  const img = await decodeImage(file);
  const n = img.width * img.height;
  const x = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) for (let p = 0; p < n; p++) x[c * n + p] = (Math.fround(img.data[p * 3 + c]! / 255) - IMAGENET.mean[c]) / IMAGENET.std[c];
  return inferenceMode(() =>
    tidy(() => {
      const logits = model.forward(fromArray(x, [1, 3, img.height, img.width])).logits;
      return F.interpolate(logits, { size: [img.height, img.width], mode: 'bilinear', alignCorners: false }).argmax(1).to('uint8').toArray() as Uint8Array;
    }),
  );
}

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

function ffprobe(file: string): { width: number; height: number; r_frame_rate: string; nb_frames: string } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=width,height,r_frame_rate,nb_frames,nb_read_frames', '-of', 'json', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).streams[0];
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-predict-'));
  manualSeed(11);
  // a large initializer_range so that the random head predicts several classes, not one
  model = createModel('segformer-b0', LABELS, { hidden_sizes: [8, 16, 24, 32], decoder_hidden_size: 16, num_attention_heads: [1, 2, 2, 4], depths: [1, 1, 1, 1], initializer_range: 0.5 });
  model.eval();
  ckpt = path.join(tmp, 'ckpt');
  savePretrained(model, ckpt);
  await writePng(path.join(tmp, 'in', 'a.png'), 56, 40, 0);
  await writePng(path.join(tmp, 'in', 'b.png'), 56, 40, 1);
  await writePng(path.join(tmp, 'folder', 'c.png'), 47, 33, 2);
  await writePng(path.join(tmp, 'folder', 'd.png'), 47, 33, 3);
  fs.writeFileSync(path.join(tmp, 'folder', 'notes.txt'), 'not an image');
});

after(() => {
  model.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('predict on images', () => {
  it('class ids = argmax of our forward (pixel-exact), colours = palette[id], overlay = the blend', async () => {
    const out = path.join(tmp, 'out-img');
    const r = runCli(['--checkpoint', ckpt, path.join(tmp, 'in', 'a.png'), path.join(tmp, 'in', 'b.png'), path.join(tmp, 'folder'), '--out', out, '--overlay', '--alpha', '0.3', '--batch', '2', '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    const summary = lastJson(r.stdout);
    assert.deepEqual(Object.keys(summary), ['inputs', 'frames', 'seconds', 'framesPerSecond', 'runtime', 'out', 'flicker', 'pairs', 'smooth', 'sceneCuts']);
    assert.deepEqual([summary.flicker, summary.pairs, summary.smooth, summary.sceneCuts], [null, 0, null, 0], 'separate images (no --sequence) have no frame pairs');
    assert.equal(summary.inputs, 4);
    assert.equal(summary.frames, 4);
    assert.equal(summary.runtime, 'torch');
    assert.equal(summary.out, path.resolve(out));
    assert.ok(summary.framesPerSecond > 0 && Math.abs(summary.framesPerSecond - 4 / summary.seconds) < 1e-6);
    assert.deepEqual(fs.readdirSync(out).sort(), ['a', 'b', 'c', 'd'].flatMap((n) => [`${n}.png`, `${n}_color.png`, `${n}_overlay.png`]).sort());
    const classesSeen = new Set<number>();
    for (const [name, dir] of [['a', 'in'], ['b', 'in'], ['c', 'folder'], ['d', 'folder']] as const) {
      const input = path.join(tmp, dir, `${name}.png`);
      const want = await expectedIds(input);
      assert.deepEqual(await grey(path.join(out, `${name}.png`)), want, `${name}: class ids`);
      want.forEach((v) => classesSeen.add(v));
      const color = await raw(path.join(out, `${name}_color.png`));
      const over = await raw(path.join(out, `${name}_overlay.png`));
      const img = await raw(input);
      assert.equal(color.channels, 3);
      for (let p = 0; p < want.length; p++) {
        for (let c = 0; c < 3; c++) assert.equal(color.data[p * 3 + c], EXPECTED_PALETTE[want[p]!]![c], `${name} colour at pixel ${p}`);
      }
      for (const p of [0, 17, 500, want.length - 1]) {
        for (let c = 0; c < 3; c++) {
          const blend = Math.round(0.7 * img.data[p * 3 + c]! + 0.3 * EXPECTED_PALETTE[want[p]!]![c]!);
          assert.equal(over.data[p * 3 + c], blend, `${name} overlay at pixel ${p} channel ${c}`);
        }
      }
    }
    assert.ok(classesSeen.size >= 3, `the random model predicts ${classesSeen.size} classes; the test needs several`);
  });

  it("a checkpoint's own inference scale (streetseg_eval_scales [0.5]) is predict's default: the same ids as --height/--width at half size", async () => {
    const half = path.join(tmp, 'ckpt-half');
    fs.cpSync(ckpt, half, { recursive: true });
    const cfgFile = path.join(half, 'config.json');
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, 'utf8')), streetseg_eval_scales: [0.5] }));
    const input = path.join(tmp, 'big', 'e.png'); // 112×80 -> 56×40
    await writePng(input, 112, 80, 4);
    const byDefault = runCli(['--checkpoint', half, input, '--out', path.join(tmp, 'out-half'), '--quiet']);
    assert.equal(byDefault.status, 0, byDefault.stderr);
    const explicit = runCli(['--checkpoint', ckpt, input, '--out', path.join(tmp, 'out-56x40'), '--height', '40', '--width', '56', '--quiet']);
    assert.equal(explicit.status, 0, explicit.stderr);
    const full = runCli(['--checkpoint', half, input, '--out', path.join(tmp, 'out-scale1'), '--scale', '1', '--quiet']);
    assert.equal(full.status, 0, full.stderr);
    const ids = await grey(path.join(tmp, 'out-half', 'e.png'));
    assert.equal(ids.length, 112 * 80, 'outputs stay at the image size');
    assert.deepEqual(ids, await grey(path.join(tmp, 'out-56x40', 'e.png')));
    assert.deepEqual(await grey(path.join(tmp, 'out-scale1', 'e.png')), await expectedIds(input), '--scale 1 overrides the checkpoint');
    assert.notDeepEqual(ids, await expectedIds(input));
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, 'utf8')), streetseg_eval_scales: 'half' }));
    const bad = runCli(['--checkpoint', half, input, '--out', path.join(tmp, 'out-bad'), '--quiet']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /ckpt-half\/config\.json: streetseg_eval_scales "half": expected a non-empty array of positive numbers/);
  });

  it("a training run directory stands for its best checkpoint (ModelCheckpoint's state), else its last", async () => {
    const run = path.join(tmp, 'run');
    const bestName = bestCheckpointName(2, 'val_miou', 0.5);
    fs.cpSync(ckpt, checkpointPath(run, bestName), { recursive: true });
    manualSeed(12);
    const other = createModel('segformer-b0', LABELS, { hidden_sizes: [8, 16, 24, 32], decoder_hidden_size: 16, num_attention_heads: [1, 2, 2, 4], depths: [1, 1, 1, 1], initializer_range: 0.5 });
    savePretrained(other, checkpointPath(run, 'last'));
    other.dispose();
    const state = (epoch: number) => ({ format: 'streetseg-trainer-state', version: 1, loop: { epoch, step: epoch * 3 }, rng: '', optimizer: {}, callbacks: { model_checkpoint: [{ name: bestName, value: 0.5, epoch: 2 }] }, savedAt: '' });
    writeJsonAtomic(path.join(checkpointPath(run, bestName), STATE_FILE), state(2));
    writeJsonAtomic(path.join(checkpointPath(run, 'last'), STATE_FILE), state(3));
    writeRunConfig(run, { ...defaults(), data: 'd' }, { classes: LABELS, classWeightValues: null, trainImages: 1, valImages: 1, host: 'h', node: 'v' });
    const input = path.join(tmp, 'in', 'a.png');
    const byBest = runCli(['--checkpoint', run, input, '--out', path.join(tmp, 'out-run')]);
    assert.equal(byBest.status, 0, byBest.stderr);
    assert.ok(byBest.stderr.includes(`${run}: best checkpoint ${bestName} (by val_miou, max): ${checkpointPath(run, bestName)}`), byBest.stderr);
    const ids = await expectedIds(input);
    assert.deepEqual(await grey(path.join(tmp, 'out-run', 'a.png')), ids);
    fs.rmSync(checkpointPath(run, bestName), { recursive: true });
    const byLast = runCli(['--checkpoint', run, input, '--out', path.join(tmp, 'out-run-last'), '--quiet']);
    assert.equal(byLast.status, 0, byLast.stderr);
    assert.notDeepEqual(await grey(path.join(tmp, 'out-run-last', 'a.png')), ids, 'the other weights of last');
    fs.rmSync(checkpointPath(run, 'last'), { recursive: true });
    const none = runCli(['--checkpoint', run, input, '--out', path.join(tmp, 'out-run-none'), '--quiet']);
    assert.notEqual(none.status, 0);
    assert.ok(none.stderr.includes(`--checkpoint ${run}: a training run directory without a complete checkpoint`), none.stderr);
  });

  it('palettes: by name with distinct fallbacks; an explicit palette must match the label count', () => {
    assert.deepEqual(labelPalette(LABELS).colors, EXPECTED_PALETTE);
    assert.deepEqual(labelPalette(LABELS).fallback, ['Mystery']);
    // CamSeq01 names (Sidewalk) and CamVid names (Pavement) are the same colour
    assert.deepEqual(labelPalette(['Sidewalk', 'Pavement', 'pole']).colors, [[0, 0, 192], [0, 0, 192], [192, 192, 128]]);
    assert.equal(labelPalette(Array.from({ length: 12 }, (_, i) => `c${i}`), 'camvid').colors[3]!.join(','), '128,64,128');
    assert.throws(() => labelPalette(Array.from({ length: 40 }, (_, i) => `c${i}`), 'camvid'), /CamVid palette .* has 12 colours but the model predicts 40 classes/);
  });
});

describe('predict on video', () => {
  it('the overlay video keeps the frame count and rate and shows the blend; --frames ids equal the image path on the same frame', async () => {
    const video = path.join(tmp, 'vid', 'clip.mp4');
    fs.mkdirSync(path.dirname(video), { recursive: true });
    // odd size: the output is padded to even for yuv420p
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=65x49:rate=8', '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv444p', video]);
    const out = path.join(tmp, 'out-vid');
    const r = runCli(['--checkpoint', ckpt, video, '--out', out, '--frames', '--overlay', '--batch', '3']);
    assert.equal(r.status, 0, r.stderr);
    const summary = lastJson(r.stdout);
    assert.equal(summary.frames, 8);
    assert.equal(summary.inputs, 1);
    assert.match(r.stderr, /predict: 8\/8 frames/);
    assert.deepEqual(fs.readdirSync(out).sort(), ['clip_frames', 'clip_overlay.mp4']);
    const probe = ffprobe(path.join(out, 'clip_overlay.mp4'));
    assert.deepEqual([probe.width, probe.height, probe.r_frame_rate, probe.nb_frames], [66, 50, '8/1', '8']);
    assert.deepEqual(fs.readdirSync(path.join(out, 'clip_frames')), Array.from({ length: 8 }, (_, k) => `${String(k).padStart(6, '0')}.png`));
    for (const k of [0, 5]) {
      const still = path.join(tmp, 'vid', `frame${k}.png`);
      ffmpeg(['-i', video, '-vf', `select=eq(n\\,${k})`, '-vsync', 'passthrough', '-frames:v', '1', '-pix_fmt', 'rgb24', still]);
      const want = await expectedIds(still);
      assert.deepEqual(await grey(path.join(out, 'clip_frames', `${String(k).padStart(6, '0')}.png`)), want, `frame ${k}`);
      // the overlay video's frame k (cropped back from 66x50) is the blend, up to H.264 yuv420p loss
      const got = path.join(tmp, 'vid', `overlay${k}.png`);
      ffmpeg(['-i', path.join(out, 'clip_overlay.mp4'), '-vf', `select=eq(n\\,${k}),format=rgb24,crop=65:49:0:0`, '-vsync', 'passthrough', '-frames:v', '1', '-pix_fmt', 'rgb24', got]);
      const [frame, over] = [await raw(still), await raw(got)];
      // luma only: yuv420p halves the chroma resolution, and the random class colours change every pixel or so
      const luma = (rgb: ArrayLike<number>, p: number) => 0.299 * rgb[p * 3]! + 0.587 * rgb[p * 3 + 1]! + 0.114 * rgb[p * 3 + 2]!;
      let errBlend = 0;
      let errFrame = 0;
      for (let p = 0; p < want.length; p++) {
        const blend = [0, 1, 2].map((c) => Math.round(0.5 * frame.data[p * 3 + c]! + 0.5 * EXPECTED_PALETTE[want[p]!]![c]!));
        errBlend += Math.abs(luma(over.data, p) - luma(blend, 0)) / want.length;
        errFrame += Math.abs(luma(over.data, p) - luma(frame.data, p)) / want.length;
      }
      assert.ok(errBlend < 3 && errBlend < errFrame / 4, `overlay frame ${k}: mean |luma error| ${errBlend} against the blend, ${errFrame} against the plain frame`);
    }
  });

  it('a truncated video fails naming the file, and leaves no output video behind', async () => {
    const full = path.join(tmp, 'vid', 'long.mp4');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=8', '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', full]);
    const cut = path.join(tmp, 'vid', 'cut.mp4');
    const bytes = fs.readFileSync(full);
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const out = path.join(tmp, 'out-cut');
    await assert.rejects(
      predict({ checkpoint: openCheckpoint(ckpt), inputs: [cut], out, overlayAlpha: 0.5, frames: true, log: () => undefined }),
      (e: Error) => e.message.startsWith(`${cut}: `) && /truncated/.test(e.message),
    );
    assert.deepEqual(fs.readdirSync(out), [], 'no video, no frame folder, no temp files');
  });
});

describe('predict --runtime onnx', () => {
  it('matches PyTorch on the same ONNX model (argmax of upsampled logits of a stride-4 conv net)', async () => {
    const dir = path.join(tmp, 'onnx-ckpt');
    fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
    fs.copyFileSync(path.join(ckpt, 'config.json'), path.join(dir, 'config.json'));
    const img = path.join(tmp, 'in', 'a.png');
    const script = path.join(tmp, 'make_onnx.py');
    fs.writeFileSync(script, `
import sys, numpy as np, torch
from PIL import Image
torch.manual_seed(3)
net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 4, stride=4), torch.nn.ReLU(), torch.nn.Conv2d(8, ${LABELS.length}, 1)).eval()
torch.onnx.export(net, torch.zeros(1, 3, 40, 56), sys.argv[1], input_names=['pixel_values'], output_names=['logits'],
                  dynamic_axes={'pixel_values': {0: 'n', 2: 'h', 3: 'w'}, 'logits': {0: 'n', 2: 'h4', 3: 'w4'}}, opset_version=13)
v = np.asarray(Image.open(sys.argv[2]).convert('RGB'))
x = (v / 255.0).astype(np.float32).astype(np.float64)
x = ((x - np.array(${JSON.stringify(IMAGENET.mean)})) / np.array(${JSON.stringify(IMAGENET.std)})).astype(np.float32)
x = torch.from_numpy(x.transpose(2, 0, 1).copy())[None]
with torch.no_grad():
    up = torch.nn.functional.interpolate(net(x), size=v.shape[:2], mode='bilinear', align_corners=False)
up.argmax(1).to(torch.uint8).numpy().tofile(sys.argv[3])
`);
    const want = path.join(tmp, 'onnx-want.u8');
    const py = spawnSync(PYTHON, [script, path.join(dir, 'onnx', 'model.onnx'), img, want], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    const out = path.join(tmp, 'out-onnx');
    const s = await predict({ checkpoint: openCheckpoint(dir), inputs: [img], out, runtime: 'onnx', log: () => undefined });
    assert.equal(s.runtime, 'onnx');
    const expected = new Uint8Array(fs.readFileSync(want));
    assert.equal(new Set(expected).size > 1, true, 'the reference predicts several classes');
    assert.deepEqual(await grey(path.join(out, 'a.png')), expected);
    // the ONNX file's class count must match config.json's labels
    const seven = path.join(tmp, 'onnx-seven');
    fs.mkdirSync(seven);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const labels7 = [...LABELS, 'Extra'];
    fs.writeFileSync(path.join(seven, 'config.json'), JSON.stringify({ ...cfg, id2label: Object.fromEntries(labels7.map((l, i) => [String(i), l])), label2id: Object.fromEntries(labels7.map((l, i) => [l, i])) }));
    const onnxFile = path.join(dir, 'onnx', 'model.onnx');
    await assert.rejects(predict({ checkpoint: openCheckpoint(seven), inputs: [img], out: path.join(tmp, 'out-onnx7'), runtime: 'onnx', onnx: onnxFile, log: () => undefined }), (e: Error) =>
      e.message.startsWith(`${onnxFile}: output logits is float32 [1,6,10,14], expected float32 [1, 7`),
    );
  });
});

describe('predict: bad input', () => {
  it('a .png that is text: the CLI exits non-zero naming the file', () => {
    const bad = path.join(tmp, 'bad', 'text.png');
    fs.mkdirSync(path.dirname(bad), { recursive: true });
    fs.writeFileSync(bad, 'this is not a picture\n');
    const out = path.join(tmp, 'out-bad');
    const r = runCli(['--checkpoint', ckpt, bad, '--out', out, '--quiet']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`${bad.replace(/[.]/g, '\\.')}: cannot decode image`));
    assert.deepEqual(fs.existsSync(out) ? fs.readdirSync(out) : [], []);
  });

  it('an unknown file that is neither image nor video; a folder without images', async () => {
    const f = path.join(tmp, 'bad', 'blob.bin');
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, Buffer.alloc(100, 7));
    await assert.rejects(predict({ checkpoint: openCheckpoint(ckpt), inputs: [f], out: path.join(tmp, 'o1'), log: () => undefined }), (e: Error) => e.message.startsWith(`${f}: not an image`));
    const empty = path.join(tmp, 'bad', 'empty');
    fs.mkdirSync(empty);
    await assert.rejects(predict({ checkpoint: openCheckpoint(ckpt), inputs: [empty], out: path.join(tmp, 'o2'), log: () => undefined }), new RegExp(`^Error: ${empty}: folder has no images`));
  });

  it('a checkpoint without config.json names the path', () => {
    const dir = path.join(tmp, 'noconfig');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(ckpt, 'model.safetensors'), path.join(dir, 'model.safetensors'));
    assert.throws(() => openCheckpoint(dir), (e: Error) => e.message.startsWith(`${path.join(dir, 'config.json')}: not found`));
    const r = runCli(['--checkpoint', dir, path.join(tmp, 'in', 'a.png'), '--out', path.join(tmp, 'o3'), '--quiet']);
    assert.notEqual(r.status, 0);
    assert.ok(r.stderr.includes(`${path.join(dir, 'config.json')}: not found`), r.stderr);
    assert.equal(fs.existsSync(path.join(tmp, 'o3')), false, 'nothing written');
  });

  it('label count against the palette, and id2label against the classifier', async () => {
    const img = path.join(tmp, 'in', 'a.png');
    await assert.rejects(predict({ checkpoint: openCheckpoint(ckpt), inputs: [img], out: path.join(tmp, 'o4'), palette: 'camvid', log: () => undefined }), /has 12 colours but the model predicts 6 classes/);
    const dir = path.join(tmp, 'mislabelled');
    fs.cpSync(ckpt, dir, { recursive: true });
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const labels7 = [...LABELS, 'Extra'];
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, id2label: Object.fromEntries(labels7.map((l, i) => [String(i), l])), label2id: Object.fromEntries(labels7.map((l, i) => [l, i])) }));
    const out = path.join(tmp, 'o5');
    await assert.rejects(predict({ checkpoint: openCheckpoint(dir), inputs: [img], out, log: () => undefined }), (e: Error) =>
      e.message.startsWith(`${path.join(dir, 'config.json')}: its id2label does not fit the weights' classifier`) && /checkpoint has 6 labels \(7 in its config\)/.test(e.message),
    );
    assert.deepEqual(fs.readdirSync(out), []);
  });
});
