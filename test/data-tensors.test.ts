// Loader batches become the tensors the model and loss take.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { batchToTensors } from '../src/data/tensors.js';

it('batchToTensors: float32 N×3×H×W pixel values and int64 N×H×W labels, values preserved', () => {
  const n = 2, h = 2, w = 3;
  const pixelValues = Float32Array.from({ length: n * 3 * h * w }, (_, i) => i / 10);
  const labels = Uint8Array.from({ length: n * h * w }, (_, i) => (i === 5 ? 255 : i % 4));
  const t = batchToTensors({ pixelValues, labels, ids: ['a', 'b'], indices: [0, 1], n, height: h, width: w, epoch: 0 } as never);
  assert.deepEqual(t.pixelValues.shape, [2, 3, 2, 3]);
  assert.equal(t.pixelValues.dtype, 'float32');
  assert.deepEqual(t.labels.shape, [2, 2, 3]);
  assert.equal(t.labels.dtype, 'int64');
  assert.deepEqual(t.labels.toList(), Array.from(labels));
  assert.ok(Math.abs(t.pixelValues.toList()[35]! - 3.5) < 1e-6);
});
