// The libtorch runtime: the checkpoint directory loaded with loadPretrained, run in inference mode.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPretrained } from '../models/hf.js';
import type { SegmentationModel } from '../models/contract.js';
import { fromArray, inferenceMode, tidy, type Tensor } from '../torch/index.js';
import { checkLabelCount, classIdsFromLogits, idsAndProbabilities, type SegmentBatch, type SegmentedWithProbabilities, type Segmenter } from './segmenter.js';

export function checkCheckpointDir(dir: string): void {
  if (!fs.existsSync(dir)) throw new Error(`${dir}: checkpoint directory not found`);
  if (!fs.statSync(dir).isDirectory()) throw new Error(`${dir}: not a directory (expected a checkpoint directory with config.json)`);
}

export class TorchSegmenter implements Segmenter {
  readonly runtime = 'torch' as const;
  readonly labels: readonly string[];

  private constructor(private readonly model: SegmentationModel) {
    this.labels = model.labels;
  }

  /**
   * Loads `dir`. Weights whose classifier does not match config.json's id2label (which loadPretrained
   * would re-initialise for fine-tuning) are an error here: predictions from a random head are worthless.
   */
  static load(dir: string): TorchSegmenter {
    checkCheckpointDir(dir);
    const lines: string[] = [];
    const { model, initialised } = loadPretrained(dir, { log: (l) => lines.push(l) });
    if (initialised.length > 0) {
      model.dispose();
      throw new Error(`${path.join(dir, 'config.json')}: its id2label does not fit the weights' classifier, so the head would be random: ${lines.join('; ')}`);
    }
    try {
      checkLabelCount(model.labels, path.join(dir, 'config.json'));
    } catch (e) {
      model.dispose();
      throw e;
    }
    model.eval();
    return new TorchSegmenter(model);
  }

  async segment(b: SegmentBatch): Promise<Uint8Array[]> {
    return inferenceMode(() => tidy(() => classIdsFromLogits(this.logits(b), b.sizes)));
  }

  async segmentWithProbabilities(b: SegmentBatch): Promise<SegmentedWithProbabilities[]> {
    return inferenceMode(() => tidy(() => idsAndProbabilities(this.logits(b), b.sizes)));
  }

  private logits(b: SegmentBatch): Tensor {
    return this.model.forward(fromArray(b.pixels, [b.n, 3, b.height, b.width])).logits;
  }

  dispose(): void {
    this.model.dispose();
  }
}
