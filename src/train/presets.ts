// Named starting points for `streetseg train --preset NAME`; flags and config files override them.
import * as path from 'node:path';
import { dataRoot } from '../util/paths.js';
import { ConfigError, type TrainConfig } from './config.js';

type Preset = { about: string; config: () => Partial<TrainConfig> };

export const PRESETS: Record<string, Preset> = {
  // ../shared/reference/RECIPE.md, the PyTorch peer's train.py defaults, setting by setting.
  'camvid-scratch': {
    about: 'SegFormer-B0 from scratch on CamVid train (367), val 101: the PyTorch reference recipe',
    config: () => ({
      model: 'segformer-b0',
      modelConfig: { drop_path_rate: 0.1, classifier_dropout_prob: 0.1 },
      data: path.join(dataRoot(), 'camvid'),
      format: 'camvid',
      trainSplit: 'train',
      valSplit: 'val',
      void: 'ignore',
      height: 360,
      width: 480,
      batchSize: 8,
      evalBatchSize: 8,
      epochs: 20,
      dropLast: true,
      optimizer: 'adamw',
      lr: 6e-4,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.01,
      schedule: 'poly',
      warmupIters: 100,
      polyPower: 1,
      loss: 'ce',
      classWeights: 'invfreq',
      ignoreIndex: 255,
      augment: 'camvid-scratch',
      seed: 0,
      evalEvery: 4,
      monitor: 'val_miou',
      mode: 'max',
      patience: 0,
    }),
  },
  // The HF/Lightning tutorial on CamSeq01: 12 classes (Void is a class), 80/20 split with seed 42.
  tutorial: {
    about: 'SegFormer on CamSeq01 (12 classes, Void as a class), Adam 2e-5, early stopping on val_loss',
    config: () => ({
      model: 'segformer-b0',
      data: path.join(dataRoot(), 'camseq01'),
      format: 'camseq01',
      trainSplit: '',
      valSplit: '',
      valFraction: 0.2,
      splitSeed: 42,
      void: 'class',
      height: 360,
      width: 480,
      batchSize: 10,
      evalBatchSize: 7,
      epochs: 40,
      dropLast: false,
      optimizer: 'adam',
      lr: 2e-5,
      eps: 1e-8,
      weightDecay: 0,
      schedule: 'constant',
      warmupIters: 0,
      loss: 'ce',
      classWeights: 'total-over-count',
      augment: 'tutorial',
      evalEvery: 1,
      monitor: 'val_loss',
      mode: 'min',
      patience: 3,
      minDelta: 0,
      saveTopK: 1,
    }),
  },
  // The demo: SegFormer-B0 from scratch on synthetic scenes at quarter resolution, a few minutes on 2 cores.
  demo: {
    about: 'SegFormer-B0 from scratch on the synthetic driving scenes at 180x240 (make demo)',
    config: () => ({
      model: 'segformer-b0',
      modelConfig: { drop_path_rate: 0.1, classifier_dropout_prob: 0.1 },
      format: 'camseq01',
      void: 'class',
      valFraction: 0.2,
      height: 180,
      width: 240,
      batchSize: 8,
      evalBatchSize: 8,
      epochs: 30,
      optimizer: 'adamw',
      lr: 1e-3,
      weightDecay: 0.01,
      schedule: 'poly',
      warmupIters: 50,
      classWeights: 'median-freq',
      augment: 'camvid-scratch',
      evalEvery: 5,
      monitor: 'val_miou',
      mode: 'max',
      workers: 1,
    }),
  },
};

export function presetConfig(name: string): Partial<TrainConfig> {
  const p = PRESETS[name];
  if (!p) throw new ConfigError(`unknown preset '${name}' (expected one of ${Object.keys(PRESETS).join(', ')})`);
  return p.config();
}
