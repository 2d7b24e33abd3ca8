// `streetseg eval` reproduces the PyTorch reference's own val metrics for its trained B0 checkpoint.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { dataset, reference } from './helpers/test-inputs.js';

const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const ckpt = reference('checkpoints/segformer-b0-camvid-scratch');

describe('streetseg eval', () => {
  it('matches the reference val-metrics.json on CamVid val (mIoU, accuracies, per class, loss, confusion)', () => {
    const ref = JSON.parse(fs.readFileSync(path.join(ckpt, 'val-metrics.json'), 'utf8'));
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-eval-'));
    const r = spawnSync(
      process.execPath,
      [cli, 'eval', '--checkpoint', ckpt, '--data', dataset('camvid'), '--split', 'val', '--class-weights', ref.class_weights.join(','), '--json', '--per-image', '--out', out],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(got.numImages, 101);
    assert.ok(Math.abs(got.meanIou - ref.val_miou) < 2e-4, `mIoU ${got.meanIou} vs ${ref.val_miou}`);
    assert.ok(Math.abs(got.meanAccuracy - ref.val_macc) < 2e-4, `mAcc ${got.meanAccuracy} vs ${ref.val_macc}`);
    assert.ok(Math.abs(got.overallAccuracy - ref.val_aacc) < 2e-4, `aAcc ${got.overallAccuracy} vs ${ref.val_aacc}`);
    assert.ok(Math.abs(got.loss - ref.val_loss) / ref.val_loss < 1e-4, `loss ${got.loss} vs ${ref.val_loss}`);
    // Class by class in id order (the reference names Sidewalk "Pavement(Sidewalk)").
    const ours = Object.values(got.perClassIou as Record<string, number>);
    Object.entries(ref.per_class_iou as Record<string, number>).forEach(([name, v], i) => assert.ok(Math.abs(ours[i]! - v) < 1e-3, `${name} IoU ${ours[i]} vs ${v}`));
    const oursAcc = Object.values(got.perClassAccuracy as Record<string, number>);
    Object.entries(ref.per_class_acc as Record<string, number>).forEach(([name, v], i) => assert.ok(Math.abs(oursAcc[i]! - v) < 1e-3, `${name} Acc ${oursAcc[i]} vs ${v}`));
    // The confusion matrix differs at most by argmax ties: a handful of pixels of 17 million.
    const csv = fs.readFileSync(path.join(out, 'confusion.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(1).map(Number));
    const refCm = ref.confusion_rows_gt_cols_pred as number[][];
    let moved = 0;
    refCm.forEach((row, i) => row.forEach((v, j) => (moved += Math.abs(v - csv[i]![j]!))));
    assert.ok(moved <= 2000, `${moved} confusion entries differ`);
    assert.equal(got.perImage.length, 101);
    const pi = got.perImage as { miou: number }[];
    for (let i = 1; i < pi.length; i++) assert.ok(pi[i - 1]!.miou <= pi[i]!.miou, 'per-image ranking is worst first');
    assert.ok(fs.readFileSync(path.join(out, 'per-image.csv'), 'utf8').startsWith('id,miou\n'));
  });
});
