// Reading the shared HF parity fixtures (raw little-endian *.bin tensors described by meta.json) and
// comparing a model's gradients with theirs; shared by every family's parity test.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromArray, tidy, type Module, type Tensor } from '../../src/torch/index.js';
import { segmentationLoss, type SegmentationModel } from '../../src/models/index.js';

export interface FixtureMeta {
  files: Record<string, { dtype: string; shape: number[] }>;
  loss: number;
  grads: Record<string, string>;
  ignore_index: number;
}

/** A fixture tensor file with the dtype and shape meta.json gives it. */
export function readBin(dir: string, meta: FixtureMeta, name: string): Tensor {
  const f = meta.files[name]!;
  const buf = fs.readFileSync(path.join(dir, name));
  return fromArray(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), f.shape, f.dtype as 'float32' | 'int64');
}

export function maxAbsDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item());
}

/** Every gradient meta.json lists, within tolerance(file) × max|expected| of the model's (after backward). */
export function checkGradients(model: Module, dir: string, meta: FixtureMeta, tolerance: (file: string) => number): void {
  const params = model.stateDict();
  for (const [name, file] of Object.entries(meta.grads)) {
    const g = params.get(name)!.grad;
    assert.ok(g, `no gradient for ${name}`);
    const e = readBin(dir, meta, file);
    const scale = e.abs().max().item();
    const gd = maxAbsDiff(g, e);
    const t = tolerance(file);
    assert.ok(gd <= t * scale, `grad ${name}: max |diff| ${gd} > ${t} × ${scale}`);
  }
}

/**
 * The fixture's forward: the model on input.bin with labels.bin and class_weights.bin gives logits
 * within 1e-4 of logits.bin, and a loss equal to segmentationLoss of those logits and within 1e-5
 * (relative) of meta.loss. Returns the loss for backward; call it inside tidy().
 */
export function checkLogitsAndLoss(model: SegmentationModel, dir: string, meta: FixtureMeta): Tensor {
  const x = readBin(dir, meta, 'input.bin');
  const labels = readBin(dir, meta, 'labels.bin');
  const w = readBin(dir, meta, 'class_weights.bin');
  // the forward contract: logits, and the HF loss when labels are given
  const out = model.forward(x, labels, { weight: w, ignoreIndex: meta.ignore_index });
  const expected = readBin(dir, meta, 'logits.bin');
  assert.deepEqual(out.logits.shape, expected.shape);
  const d = maxAbsDiff(out.logits, expected);
  assert.ok(d <= 1e-4, `logits max |diff| ${d}`);
  const loss = out.loss!;
  assert.equal(segmentationLoss(out.logits, labels, { weight: w, ignoreIndex: meta.ignore_index }).item(), loss.item());
  const rel = Math.abs(loss.item() - meta.loss) / Math.abs(meta.loss);
  assert.ok(rel <= 1e-5, `loss ${loss.item()} vs ${meta.loss} (relative error ${rel})`);
  return loss;
}
