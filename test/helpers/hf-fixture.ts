// Reading the shared HF parity fixtures (raw little-endian *.bin tensors described by meta.json) and
// comparing a model's gradients with theirs; shared by every family's parity test.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromArray, tidy, type Module, type Tensor } from '../../src/torch/index.js';

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
