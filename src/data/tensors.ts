// A loader batch as libtorch tensors: pixel_values float32 (N, 3, H, W), labels int64 (N, H, W).
import { fromArray, tidy, type Tensor } from '../torch/index.js';
import type { Batch } from './loader.js';

export function batchToTensors(b: Batch): { pixelValues: Tensor; labels: Tensor } {
  return tidy(() => ({
    pixelValues: fromArray(b.pixelValues, [b.n, 3, b.height, b.width]),
    labels: fromArray(b.labels, [b.n, b.height, b.width]).to('int64'),
  }));
}
