// `streetseg eval` reproduces the PyTorch reference's own val metrics for its trained B0 checkpoint.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { dataset, reference } from './helpers/test-inputs.js';
import { within } from './helpers/tolerance.js';

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
    // Two implementations agree up to argmax ties: pixels whose two best logits are within float32 rounding
    // of each other may take either class. Measured: 4 such pixels of 17.4 million (8 confusion entries);
    // allowed: TIE_PIXELS, and every metric within what moving that many pixels can change it by.
    const TIE_PIXELS = 25;
    const csv = fs.readFileSync(path.join(out, 'confusion.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(1).map(Number));
    const refCm = ref.confusion_rows_gt_cols_pred as number[][];
    let moved = 0;
    refCm.forEach((row, i) => row.forEach((v, j) => (moved += Math.abs(v - csv[i]![j]!))));
    // one pixel moves one count between two cells of its ground-truth row
    within('confusion entries moved', moved, 2 * TIE_PIXELS);
    const k = TIE_PIXELS;
    const rows = refCm.map((r) => r.reduce((a, b) => a + b, 0));
    const cols = refCm[0]!.map((_, j) => refCm.reduce((a, r) => a + r[j]!, 0));
    const total = rows.reduce((a, b) => a + b, 0);
    // IoU = TP / union: k pixels change TP and the union by at most k each; accuracy = TP / row by k / row
    const iouTol = refCm.map((r, c) => (2 * k) / (rows[c]! + cols[c]! - r[c]! - k));
    const accTol = rows.map((n) => k / n);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    within(`mIoU ${got.meanIou} vs ${ref.val_miou}`, Math.abs(got.meanIou - ref.val_miou), mean(iouTol));
    within(`mAcc ${got.meanAccuracy} vs ${ref.val_macc}`, Math.abs(got.meanAccuracy - ref.val_macc), mean(accTol));
    within(`aAcc ${got.overallAccuracy} vs ${ref.val_aacc}`, Math.abs(got.overallAccuracy - ref.val_aacc), k / total);
    // Class by class in id order (the reference names Sidewalk "Pavement(Sidewalk)").
    const ours = Object.values(got.perClassIou as Record<string, number>);
    Object.entries(ref.per_class_iou as Record<string, number>).forEach(([name, v], i) => within(`${name} IoU ${ours[i]} vs ${v}`, Math.abs(ours[i]! - v), iouTol[i]!));
    const oursAcc = Object.values(got.perClassAccuracy as Record<string, number>);
    Object.entries(ref.per_class_acc as Record<string, number>).forEach(([name, v], i) => within(`${name} Acc ${oursAcc[i]} vs ${v}`, Math.abs(oursAcc[i]! - v), accTol[i]!));
    // The loss is a float32 mean over 17.4 million pixels of both sides (measured 1.3e-7 relative).
    within(`loss ${got.loss} vs ${ref.val_loss} (relative)`, Math.abs(got.loss - ref.val_loss) / ref.val_loss, 1e-5);
    assert.equal(got.perImage.length, 101);
    const pi = got.perImage as { miou: number }[];
    for (let i = 1; i < pi.length; i++) assert.ok(pi[i - 1]!.miou <= pi[i]!.miou, 'per-image ranking is worst first');
    assert.ok(fs.readFileSync(path.join(out, 'per-image.csv'), 'utf8').startsWith('id,miou\n'));
  });
});
