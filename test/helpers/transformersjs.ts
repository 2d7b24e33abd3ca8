// Transformers.js (offline) on an exported folder: pipeline('image-segmentation') on a patterned image,
// its masks against our own argmax of the logits upsampled to the image (as Transformers.js does).
import assert from 'node:assert/strict';
import * as path from 'node:path';
import sharp from 'sharp';
import type { SegmentationModel } from '../../src/models/index.js';
import { buildOnnx, writeTransformersJsDir } from '../../src/export/export.js';
import { normalizeImage } from '../../src/data/preprocess.js';
import { F, fromArray, inferenceMode, tidy } from '../../src/torch/index.js';

/** Exports `model` to `root`/`name`, runs the pipeline on an h×w image; asserts ≥ 99% argmax agreement and ≥ 2 classes. */
export async function checkTransformersJs(model: SegmentationModel, root: string, name: string, [h, w]: [number, number] = [41, 57]): Promise<void> {
  const { pipeline, env } = await import('@huggingface/transformers');
  writeTransformersJsDir(path.join(root, name), model, buildOnnx(model).bytes, false);
  const px = Buffer.alloc(h * w * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37 + ((i / 3) | 0) * 11) % 256;
  const png = path.join(root, `${name}.png`);
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(png);
  env.allowRemoteModels = false;
  env.localModelPath = root + path.sep;
  const seg = await pipeline('image-segmentation', name, { local_files_only: true, dtype: 'fp32' });
  try {
    const out = (await seg(png)) as { label: string; mask: { data: Uint8Array; width: number; height: number } }[];
    const labels = model.labels;
    const ours = inferenceMode(() =>
      tidy(() => {
        const logits = model.forward(fromArray(normalizeImage(px), [1, 3, h, w], 'float32')).logits;
        return F.interpolate(logits, { size: [h, w], mode: 'bilinear', alignCorners: false }).argmax(1).toArray() as BigInt64Array;
      }),
    );
    const theirs = new Int32Array(h * w).fill(-1);
    for (const o of out) {
      assert.ok(labels.includes(o.label), `label ${o.label}`);
      assert.equal(o.mask.width, w);
      assert.equal(o.mask.height, h);
      o.mask.data.forEach((v, i) => v === 255 && (theirs[i] = labels.indexOf(o.label)));
    }
    let agree = 0;
    for (let i = 0; i < h * w; i++) agree += Number(ours[i]) === theirs[i] ? 1 : 0;
    assert.ok(out.length >= 2, `${out.length} classes present`);
    assert.ok(agree / (h * w) >= 0.99, `argmax agreement ${agree}/${h * w}`);
  } finally {
    await (seg as unknown as { dispose(): Promise<void> }).dispose();
  }
}
