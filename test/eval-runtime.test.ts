// `streetseg eval --runtime onnx|onnx-int8`: the checkpoint exported and scored in onnxruntime-node by the
// same evaluate() as libtorch. On a briefly trained tiny SegFormer and synthetic frames: fp32 ONNX and
// libtorch predict the same class ids (≥ 99.9% of the labelled pixels) and their mIoU differ by no more than
// those disagreements can move it (a bound computed from the confusion matrix); the command's numbers are
// the library's; and the int8 export is evaluated as itself.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataLoader } from '../src/data/loader.js';
import { loadPretrained, openCheckpoint, type Checkpoint } from '../src/models/index.js';
import { OnnxSegmenter } from '../src/predict/onnx-runtime.js';
import { CHECK_INT8_REL_RMS } from '../src/export/export.js';
import { defaultCallbacks } from '../src/train/callbacks/index.js';
import type { EvalResult } from '../src/train/callback.js';
import { findCheckpoint } from '../src/train/checkpoint.js';
import { resolveConfig } from '../src/train/config.js';
import { openCheckpointSplit } from '../src/train/eval-checkpoint.js';
import { evaluate, type EvalNet } from '../src/train/evaluate.js';
import { Trainer } from '../src/train/trainer.js';
import { repoRoot } from '../src/util/paths.js';
import { tinyConfig, tinyDataset, tmpRun } from './helpers/train-fixture.js';

const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

/** evaluate() over the whole split, keeping every image's predicted and true class ids. */
async function evalAll(net: EvalNet, ckpt: Checkpoint, data: string): Promise<EvalResult> {
  const { spec } = openCheckpointSplit(ckpt.labels, ckpt.dir, { data });
  const loader = new DataLoader({ dataset: spec, batchSize: 8, workers: 0, augment: 'none' });
  try {
    return await evaluate(net, loader, { numClasses: ckpt.labels.length, ignoreIndex: spec.classes.ignoreIndex, weight: null, samples: spec.samples.length });
  } finally {
    await loader.close();
  }
}

describe('eval --runtime onnx', () => {
  let data: string;
  let ckpt: Checkpoint;
  let torch: EvalResult;
  let onnx: EvalResult;

  before(async () => {
    data = await tinyDataset();
    const runDir = tmpRun('evalrt');
    const cfg = resolveConfig(tinyConfig(data, { epochs: 24, lr: 1e-2 })); // ~8 s: mIoU ≈ 0.2, several classes predicted
    const { callbacks } = defaultCallbacks(cfg, 'none');
    assert.equal((await new Trainer(cfg, runDir, { callbacks, log: () => undefined }).fit()).how, 'finished');
    ckpt = openCheckpoint(findCheckpoint(path.join(runDir, 'checkpoints'), 'last')!);
    const { model } = loadPretrained(ckpt, { log: () => undefined });
    try {
      torch = await evalAll(model, ckpt, data);
    } finally {
      model.dispose();
    }
    const { segmenter, exported } = await OnnxSegmenter.fromExport(ckpt, { int8: false, log: () => undefined });
    assert.ok(exported.maxAbsDiff <= 1e-4, `export self-check ${exported.maxAbsDiff}`);
    try {
      onnx = await evalAll(segmenter, ckpt, data);
    } finally {
      segmenter.dispose();
    }
  });

  it('predicts the same class ids as libtorch, and the mIoU moves no more than the disagreements allow', (t) => {
    const K = ckpt.labels.length;
    const ignore = openCheckpointSplit(ckpt.labels, ckpt.dir, { data }).spec.classes.ignoreIndex;
    assert.equal(onnx.numImages, torch.numImages);
    assert.equal(onnx.samples.length, torch.numImages, 'every image kept');
    // per class, the labelled pixels whose prediction differs and involves the class (as either prediction)
    const dc = new Array<number>(K).fill(0);
    let labelled = 0;
    let differ = 0;
    for (let i = 0; i < torch.samples.length; i++) {
      const [a, b] = [torch.samples[i]!, onnx.samples[i]!];
      assert.equal(a.id, b.id);
      for (let p = 0; p < a.label.length; p++) {
        if (a.label[p] === ignore) continue;
        labelled++;
        if (a.pred[p] !== b.pred[p]) {
          differ++;
          dc[a.pred[p]!]++;
          dc[b.pred[p]!]++;
        }
      }
    }
    assert.equal(labelled, torch.metrics.numPixels);
    assert.ok(new Set(torch.samples.flatMap((s) => [...new Set(s.pred)])).size > 1, 'the trained model predicts several classes');
    assert.ok(differ <= 0.001 * labelled, `${differ} of ${labelled} labelled pixels differ (at most 0.1% allowed)`);
    // A changed prediction moves TP_c and the union n_c = TP+FP+FN of class c by at most one each, so with
    // d_c such pixels |ΔIoU_c| ≤ (TP·d_c + n_c·d_c) / (n_c (n_c − d_c)) ≤ 2 d_c / (n_c − d_c); mIoU is the
    // mean over the classes present (the same set in both, as checked).
    let bound = 0;
    let present = 0;
    for (let c = 0; c < K; c++) {
      const [t, o] = [torch.metrics.perClassIou[c]!, onnx.metrics.perClassIou[c]!];
      assert.equal(Number.isNaN(t), Number.isNaN(o), `class ${c} present in both or neither`);
      if (Number.isNaN(t)) continue;
      let truth = 0;
      let pred = 0;
      for (let j = 0; j < K; j++) {
        truth += torch.confusion[c * K + j]!;
        pred += torch.confusion[j * K + c]!;
      }
      const n = truth + pred - torch.confusion[c * K + c]!;
      assert.ok(n > dc[c]!, `class ${c}: union ${n} > ${dc[c]} changed pixels`);
      assert.ok(Math.abs(t - o) <= (2 * dc[c]!) / (n - dc[c]!) + 1e-12, `class ${c}: IoU ${t} vs ${o}, ${dc[c]} changed pixels of a union of ${n}`);
      bound += (2 * dc[c]!) / (n - dc[c]!);
      present++;
    }
    const delta = Math.abs(torch.metrics.meanIou - onnx.metrics.meanIou);
    t.diagnostic(`${differ} of ${labelled} pixels differ; mIoU torch ${torch.metrics.meanIou}, onnx ${onnx.metrics.meanIou}, bound ${bound / present}`);
    assert.ok(delta <= bound / present + 1e-12, `mIoU ${torch.metrics.meanIou} (torch) vs ${onnx.metrics.meanIou} (onnx): |Δ| ${delta} > ${bound / present}`);
  });

  it('the command: runtime torch, onnx and onnx-int8 each report their own numbers, onnx the library\'s', (ctx) => {
    const evalCli = (runtime: string) => {
      const out = path.join(tmpRun(`evalrt-${runtime}`), 'out');
      const r = run(['eval', '--checkpoint', ckpt.dir, '--data', data, '--runtime', runtime, '--workers', '0', '--batch-size', '8', '--class-weights', 'none', '--json', '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown> & { meanIou: number; numImages: number; runtime: string; onnx?: { exported: boolean; int8: boolean; bytes: number; maxAbsDiff: number; maxAbsDiffVsFp32?: number; dynamicLinears: number; relRms?: number } };
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')), j, 'metrics.json is the printed result');
      return j;
    };
    const t = evalCli('torch');
    assert.equal(t.runtime, 'torch');
    assert.equal(t.onnx, undefined);
    assert.equal(t.meanIou, torch.metrics.meanIou);
    const o = evalCli('onnx');
    assert.equal(o.runtime, 'onnx');
    assert.equal(o.numImages, onnx.numImages);
    // the same export and session settings as the library run above; the bound of the test before covers the rest
    assert.ok(Math.abs(o.meanIou - onnx.metrics.meanIou) <= 1e-9, `CLI onnx mIoU ${o.meanIou} vs library ${onnx.metrics.meanIou}`);
    assert.equal(o.onnx?.exported, true);
    assert.equal(o.onnx?.int8, false);
    assert.ok(o.onnx!.maxAbsDiff <= 1e-4);
    const q = evalCli('onnx-int8');
    assert.equal(q.runtime, 'onnx-int8');
    assert.equal(q.onnx?.int8, true);
    assert.equal(q.numImages, o.numImages);
    assert.ok(q.onnx!.bytes < o.onnx!.bytes, `int8 file ${q.onnx!.bytes} B smaller than fp32's ${o.onnx!.bytes} B`);
    // the int8 model is what ran: its logits differ from fp32's; its linears are int8 GEMMs, within the
    // export's bound of libtorch on its own dequantised weights
    assert.ok(q.onnx!.maxAbsDiffVsFp32! > 0 && q.onnx!.dynamicLinears > 0 && q.onnx!.relRms! <= CHECK_INT8_REL_RMS, JSON.stringify(q.onnx));
    assert.ok(q.meanIou >= 0 && q.meanIou <= 1, `int8 mIoU ${q.meanIou}`);
    ctx.diagnostic(`mIoU torch ${t.meanIou}, onnx ${o.meanIou}, onnx-int8 ${q.meanIou} (max |int8 − fp32 logits| ${q.onnx!.maxAbsDiffVsFp32})`);
  });

  it('refuses --onnx without an ONNX runtime, and names a missing ONNX file', () => {
    const r = run(['eval', '--checkpoint', ckpt.dir, '--data', data, '--onnx', 'x.onnx']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--onnx needs --runtime onnx or onnx-int8/);
    const missing = path.join(tmpRun('evalrt-missing'), 'none.onnx');
    const m = run(['eval', '--checkpoint', ckpt.dir, '--data', data, '--runtime', 'onnx', '--onnx', missing, '--workers', '0']);
    assert.notEqual(m.status, 0);
    assert.ok(m.stderr.includes(`${missing}: ONNX model not found`), m.stderr);
    // --calibrate only calibrates an export made now, as int8
    const c = run(['eval', '--checkpoint', ckpt.dir, '--data', data, '--runtime', 'onnx', '--calibrate', data]);
    assert.equal(c.status, 2);
    assert.match(c.stderr, /--calibrate .*: calibrates int8 convolutions, so it needs --runtime onnx-int8 \(without --onnx\)/);
  });
});
