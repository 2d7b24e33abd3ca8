// Evaluation at another input scale and with test-time augmentation (evaluate's labelSizeScores): the
// scores reach the label size, a half-size pass takes predict's model input (preprocessImage), and a flip pass is
// mirrored back before the probabilities are averaged. The model is a stand-in whose "logits" are its
// input plus a fixed left-to-right ramp, so that a missing un-flip shows.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aten, F, float, fromArray, tensor, tidy, type Tensor } from '../src/torch/index.js';
import { IMAGENET, normalizeImage, preprocessImage } from '../src/data/preprocess.js';
import { scaledSize, type SegmentationModel } from '../src/models/contract.js';
import { labelSizeScores } from '../src/train/evaluate.js';
import { coerceFlag, resolveConfig, ConfigError } from '../src/train/config.js';
import { assertClose } from './helpers/gradcheck.js';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultCallbacks } from '../src/train/callbacks/index.js';
import { Trainer } from '../src/train/trainer.js';
import { repoRoot } from '../src/util/paths.js';
import { tinyConfig, tinyDataset, tmpRun } from './helpers/train-fixture.js';

const C = 3;
const H = 4;
const W = 4;
// 1×3×4×4 input; PyTorch 1.13 values below were computed from exactly this tensor.
const X = Array.from({ length: C * H * W }, (_, i) => Math.fround((Math.fround(i * 0.37) % 2.3) - 1.1));
const RAMP = [0, 0.5, 1.5, 3];
// the frames a plain pass needs (its size); the model input is X itself
const FRAMES = { images: new Uint8Array(H * W * C), n: 1, height: H, width: W };
// a uint8 frame for views at other scales
const IMAGE = Uint8Array.from({ length: H * W * C }, (_, i) => (i * 53) % 256);

function rampModel(): SegmentationModel {
  const ramp = tensor(RAMP, [1, 1, 1, W]);
  return {
    forward: (x: Tensor) => ({ logits: x.size(3) === W ? x.add(ramp) : x }),
  } as unknown as SegmentationModel;
}

describe('evaluation views', () => {
  it('one plain pass returns the logits at the label size, unchanged', () => {
    const got = tidy(() => labelSizeScores(rampModel(), FRAMES, tensor(X, [1, C, H, W]), [1], false).toList() as number[]);
    assertClose(got, X.map((v, i) => v + RAMP[i % W]!), 1e-6);
  });

  it("half-size inference: predict's model input (preprocessImage), then bilinear to the labels", () => {
    // a 16×16 frame: the view is 8×8, exactly half, where the bilinear downscale is a 2×2 box average
    const n = 16;
    const image = Uint8Array.from({ length: n * n * 3 }, (_, i) => (i * 37 + ((i / 3) | 0) * 11) % 256);
    const frames = { images: image, n: 1, height: n, width: n };
    const seen: number[][] = [];
    const identity = { forward: (x: Tensor) => (seen.push(x.shape), { logits: x }) } as unknown as SegmentationModel;
    const got = tidy(() => labelSizeScores(identity, frames, fromArray(normalizeImage(image), [1, 3, n, n]), [0.5], false).toList() as number[]);
    assert.deepEqual(seen, [[1, 3, 8, 8]]);
    const input = preprocessImage(image, n, n, { height: 8, width: 8 });
    const want = tidy(() => F.interpolate(fromArray(input, [1, 3, 8, 8]), { size: [n, n], mode: 'bilinear', alignCorners: false }).toList() as number[]);
    assertClose(got, want, 1e-6);
    // by hand: the top-left output pixel is the view's corner, the 2×2 box average, normalised
    for (let c = 0; c < 3; c++) {
      const box = Math.fround((image[c]! + image[3 + c]! + image[n * 3 + c]! + image[n * 3 + 3 + c]!) / 4);
      const v = (Math.fround(box / 255) - IMAGENET.mean[c]) / IMAGENET.std[c];
      assert.ok(Math.abs(got[c * n * n]! - v) < 1e-6, `channel ${c}: ${got[c * n * n]} vs ${v}`);
    }
  });

  it('interpolate antialias: PyTorch antialias=True values', () => {
    const ref = [-0.107143, 0.051837, 0.012449, 0.030612, 0.039388, 0.057551, 0.018164, 0.177143, 0.092041, -0.030612, -0.116938, 0.229796];
    const got = tidy(() => F.interpolate(tensor(X, [1, C, H, W]), { size: [2, 2], antialias: true }).toList() as number[]);
    assertClose(got, ref, 2e-5);
    assert.throws(() => F.interpolate(tensor(X, [1, C, H, W]), { size: [2, 2], mode: 'nearest', antialias: true }), /antialias only apply to mode 'bilinear'/);
  });

  it('flip TTA: the mirrored pass is mirrored back, probabilities averaged, log taken', () => {
    const got = tidy(() => labelSizeScores(rampModel(), FRAMES, tensor(X, [1, C, H, W]), [1], true).toList() as number[]);
    // By hand: pass 1 scores x + ramp; pass 2 scores flip(flip(x) + ramp) = x + reversed ramp.
    const softmaxAt = (bias: number[]) => {
      const p = new Array<number>(X.length);
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) {
          const z = Array.from({ length: C }, (_, c) => X[(c * H + h) * W + w]! + bias[w]!);
          const m = Math.max(...z);
          const e = z.map((v) => Math.exp(v - m));
          const s = e.reduce((a, b) => a + b, 0);
          for (let c = 0; c < C; c++) p[(c * H + h) * W + w] = e[c]! / s;
        }
      return p;
    };
    const p1 = softmaxAt(RAMP);
    const p2 = softmaxAt(RAMP.slice().reverse());
    assertClose(got, p1.map((v, i) => Math.log((v + p2[i]!) / 2)), 1e-5);
    // The averaged log-probabilities are normalised, so cross-entropy reads them as logits unchanged.
    const sums = tidy(() => aten.exp(tensor(got, [1, C, H, W])).sum().item() as number);
    assert.ok(Math.abs(sums - H * W) < 1e-4, String(sums));
  });

  it('several scales average their probabilities at the label size', () => {
    const x = () => fromArray(normalizeImage(IMAGE), [1, C, H, W]);
    const frames = { images: IMAGE, n: 1, height: H, width: W };
    const got = tidy(() => labelSizeScores(rampModel(), frames, x(), [1, 0.5], false).toList() as number[]);
    const want = tidy(() => {
      const a = F.softmax(labelSizeScores(rampModel(), frames, x(), [1], false), 1);
      const b = F.softmax(labelSizeScores(rampModel(), frames, x(), [0.5], false), 1);
      return a.add(b).div(float(2)).log().toList() as number[];
    });
    assertClose(got, want, 1e-6);
  });

  it('scaledSize: rounded, at least the minimum side, unchanged at scale 1', () => {
    assert.deepEqual(scaledSize(360, 480, 0.5), { height: 180, width: 240 });
    assert.deepEqual(scaledSize(360, 480, 0.75), { height: 270, width: 360 });
    assert.deepEqual(scaledSize(45, 61, 0.5), { height: 23, width: 31 }); // 22.5 and 30.5 round up
    assert.deepEqual(scaledSize(12, 20, 0.25), { height: 8, width: 8 });
    assert.deepEqual(scaledSize(12, 20, 0.25, 1), { height: 3, width: 5 });
    assert.deepEqual(scaledSize(7, 5, 1), { height: 7, width: 5 });
  });
  it('the settings: --eval-scales is a comma list, eval size comes in pairs', () => {
    assert.deepEqual(coerceFlag('evalScales', '0.5,0.75, 1'), [0.5, 0.75, 1]);
    assert.throws(() => coerceFlag('evalScales', '0.5,big'), /--eval-scales 0.5,big: expected comma-separated numbers/);
    assert.throws(() => resolveConfig({ data: '/d', evalScales: [0] }), /evalScales/);
    assert.throws(() => resolveConfig({ data: '/d', evalHeight: 360 }), (e: Error) => e instanceof ConfigError && /evalHeight 360 \/ evalWidth 0: give both or neither/.test(e.message));
    assert.deepEqual(resolveConfig({ data: '/d', evalHeight: 360, evalWidth: 480 }).evalScales, [1]);
  });

  it('a run evaluated at half size (64×96 labels, 32×48 input) writes that scale into its checkpoints, and eval uses it by default', async () => {
    const data = await tinyDataset();
    const runDir = tmpRun('half');
    const cfg = resolveConfig(tinyConfig(data, { epochs: 1, evalScales: [0.5], tensorboard: false }));
    const { callbacks } = defaultCallbacks(cfg, 'none');
    const fit = await new Trainer(cfg, runDir, { callbacks, log: () => undefined }).fit();
    assert.equal(fit.how, 'finished');
    const ck = path.join(runDir, 'checkpoints', 'last');
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(ck, 'config.json'), 'utf8')).streetseg_eval_scales, [0.5]);
    // eval with no --scales runs it at its own scale: equal to --scales 0.5, not to --scales 1
    const evalWith = (extra: string[]) => {
      const r = spawnSync(process.execPath, [path.join(repoRoot, 'dist', 'src', 'cli', 'main.js'), 'eval', '--checkpoint', ck, '--data', data, '--json', '--workers', '0', '--out', path.join(runDir, `ev${extra.join('')}`), ...extra], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as { scales: number[]; meanIou: number; overallAccuracy: number; msPerImage: number };
    };
    const own = evalWith([]);
    const half = evalWith(['--scales', '0.5']);
    const full = evalWith(['--scales', '1']);
    assert.deepEqual([own.scales, half.scales, full.scales], [[0.5], [0.5], [1]]);
    assert.deepEqual([own.meanIou, own.overallAccuracy], [half.meanIou, half.overallAccuracy]);
    assert.notEqual(own.overallAccuracy, full.overallAccuracy);
    assert.ok(own.msPerImage > 0);
    const bad = spawnSync(process.execPath, [path.join(repoRoot, 'dist', 'src', 'cli', 'main.js'), 'eval', '--checkpoint', ck, '--data', data, '--scales', '0.5,-1'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--scales 0\.5,-1: expected comma-separated positive numbers/);
  });
});

