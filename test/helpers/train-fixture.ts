// A tiny synthetic dataset and a tiny SegFormer configuration for training tests (seconds on 2 cores).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeSyntheticDataset } from '../../src/data/synthetic.js';
import type { TrainConfig } from '../../src/train/config.js';

let shared: Promise<string> | null = null;

/** 10 synthetic 64×96 frames in CamSeq01 layout, written once per test process. */
export function tinyDataset(): Promise<string> {
  shared ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-train-data-'));
    await writeSyntheticDataset(dir, { count: 10, seed: 5, width: 96, height: 64 });
    return dir;
  })();
  return shared;
}

/** Settings of a run that takes a second or two: 8 train / 2 val images, batch 4, a 4-stage SegFormer of width ≤ 32. */
export function tinyConfig(data: string, over: Partial<TrainConfig> = {}): Partial<TrainConfig> {
  return {
    model: 'segformer-b0',
    modelConfig: { hidden_sizes: [8, 16, 24, 32], num_attention_heads: [1, 2, 2, 4], depths: [1, 1, 1, 1], decoder_hidden_size: 16, drop_path_rate: 0.1, classifier_dropout_prob: 0.1 },
    data,
    format: 'camseq01',
    void: 'class',
    valFraction: 0.2,
    height: 64,
    width: 96,
    batchSize: 4,
    evalBatchSize: 2,
    epochs: 3,
    lr: 3e-3,
    warmupIters: 2,
    augment: 'camvid-scratch',
    workers: 0,
    evalEvery: 1,
    reportSamples: 2,
    reportWorst: 1,
    progress: 'none',
    ...over,
  };
}

export function tmpRun(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ss-run-${tag}-`));
}
