// The libtorch runtime: an opened checkpoint's weights loaded with loadPretrained, run in inference mode.
import type { Checkpoint } from '../models/checkpoint.js';
import { loadPretrained } from '../models/hf.js';
import type { SegmentationModel } from '../models/contract.js';
import { fromArray, inferenceMode, tidy, type Tensor } from '../torch/index.js';
import { checkLabelCount, classIdsFromLogits, idsAndProbabilities, type SegmentBatch, type SegmentedWithProbabilities, type Segmenter } from './segmenter.js';

export class TorchSegmenter implements Segmenter {
  readonly runtime = 'torch' as const;
  readonly labels: readonly string[];

  private constructor(private readonly model: SegmentationModel) {
    this.labels = model.labels;
  }

  /**
   * Loads the checkpoint's weights. Weights whose classifier does not match config.json's id2label (which
   * loadPretrained would re-initialise for fine-tuning) are an error here: predictions from a random head
   * are worthless.
   */
  static load(ckpt: Checkpoint): TorchSegmenter {
    checkLabelCount(ckpt.labels, ckpt.configFile);
    const lines: string[] = [];
    const { model, initialised } = loadPretrained(ckpt, { log: (l) => lines.push(l) });
    if (initialised.length > 0) {
      model.dispose();
      throw new Error(`${ckpt.configFile}: its id2label does not fit the weights' classifier, so the head would be random: ${lines.join('; ')}`);
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
