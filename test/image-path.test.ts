// One image path: `streetseg eval` and `streetseg predict` give the same class ids on the same frame. The
// real checkpoint (models/camvid-best, evaluated at 0.5 of the frame size) on a CamVid val frame, each
// through its own entry points: eval's loader batch scored by evaluate(), predict's decoded file through
// preprocessImage and the torch Segmenter.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { decodeImage } from '../src/data/decode.js';
import { DataLoader } from '../src/data/loader.js';
import { preprocessImage, scaledSize } from '../src/data/preprocess.js';
import { openCheckpoint } from '../src/models/checkpoint.js';
import { loadPretrained } from '../src/models/hf.js';
import { TorchSegmenter } from '../src/predict/torch-runtime.js';
import { defaultEvalScales, openCheckpointSplit } from '../src/train/eval-checkpoint.js';
import { evaluate } from '../src/train/evaluate.js';
import { dataRoot, repoRoot } from '../src/util/paths.js';

describe('one image path', () => {
  it('eval and predict give the same class ids on a CamVid val frame (models/camvid-best)', async () => {
    const ckpt = openCheckpoint(path.join(repoRoot, 'models', 'camvid-best'));
    assert.deepEqual(defaultEvalScales(ckpt), [0.5]);
    assert.equal(ckpt.scale, 0.5);
    const { spec } = openCheckpointSplit(ckpt.labels, ckpt.dir, { data: path.join(dataRoot(), 'camvid'), split: 'val' });
    const index = 17;
    const ref = spec.samples[index]!;
    // eval's model as `streetseg eval` loads it, predict's Segmenter as `streetseg predict` does
    const { model } = loadPretrained(ckpt, { log: () => undefined });
    const seg = TorchSegmenter.load(ckpt);
    const loader = new DataLoader({ dataset: spec, indices: [index], batchSize: 1, workers: 0, augment: 'none' });
    try {
      const ev = await evaluate(model, loader, { numClasses: ckpt.labels.length, ignoreIndex: spec.classes.ignoreIndex, weight: null, scales: defaultEvalScales(ckpt), samples: 1 });
      const evalIds = ev.samples[0]!.pred;
      const img = await decodeImage(ref.image);
      const size = scaledSize(img.height, img.width, ckpt.scale);
      assert.deepEqual(size, { height: img.height / 2, width: img.width / 2 });
      const [predictIds] = await seg.segment({ pixels: preprocessImage(img.data, img.width, img.height, size), n: 1, ...size, sizes: [{ height: img.height, width: img.width }] });
      assert.equal(evalIds.length, img.width * img.height);
      // not a degenerate frame: several classes predicted
      assert.ok(new Set(evalIds).size >= 5, `${new Set(evalIds).size} classes`);
      let differ = 0;
      for (let i = 0; i < evalIds.length; i++) if (evalIds[i] !== predictIds![i]) differ++;
      assert.equal(differ, 0, `${differ} of ${evalIds.length} pixels differ between eval and predict on ${ref.image}`);
    } finally {
      seg.dispose();
      model.dispose();
      await loader.close();
    }
  });
});
