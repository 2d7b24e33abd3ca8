// segmentationLoss: hand-computed focal loss, focal → weighted CE as γ → 0, sum reduction and the
// weight sum that turns per-batch sums into exact split-wide weighted means.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { F, manualSeed, randn, randint, rand, tensor, tidy, type Tensor } from '../src/torch/index.js';
import { labelWeightSum, segmentationLoss } from '../src/models/index.js';
import { gradcheck, rnd } from './helpers/gradcheck.js';

const close = (a: number, b: number, rel: number, what: string) => assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${what}: ${a} vs ${b}`);

// Three pixels in a 1×3 image, three classes. Logits are log-probabilities, so p is exact:
// pixel 0 p = (1/3, 1/3, 1/3), label 2; pixel 1 p = (0.5, 0.25, 0.25), label 0; pixel 2 ignored.
const logits = () => tensor([0, Math.log(0.5), 5, 0, Math.log(0.25), -1, 0, Math.log(0.25), 2], [1, 3, 1, 3]);
const labels = () => tensor([2, 0, 255], [1, 1, 3], { dtype: 'int64' });
const weight = () => tensor([2, 1, 0.5], [3]);

describe('segmentationLoss: focal', () => {
  it('γ=2 with class weights and an ignored pixel matches the hand computation', () => {
    tidy(() => {
      // FL = -w_y (1-p_y)^2 log p_y: pixel 0: 0.5·(2/3)²·ln 3; pixel 1: 2·(1/2)²·ln 2; Σ w_y = 0.5 + 2
      const sum = 0.5 * (4 / 9) * Math.log(3) + 2 * 0.25 * Math.log(2);
      const o = { weight: weight(), focalGamma: 2 };
      close(segmentationLoss(logits(), labels(), { ...o, reduction: 'sum' }).item(), sum, 1e-6, 'sum');
      close(segmentationLoss(logits(), labels(), o).item(), sum / 2.5, 1e-6, 'mean');
      // unweighted: (4/9)·ln 3 + (1/4)·ln 2 over 2 pixels
      close(segmentationLoss(logits(), labels(), { focalGamma: 2 }).item(), ((4 / 9) * Math.log(3) + 0.25 * Math.log(2)) / 2, 1e-6, 'unweighted');
      // γ=1: pixel 0: 0.5·(2/3)·ln 3; pixel 1: 2·(1/2)·ln 2
      close(segmentationLoss(logits(), labels(), { weight: weight(), focalGamma: 1 }).item(), (0.5 * (2 / 3) * Math.log(3) + Math.log(2)) / 2.5, 1e-6, 'γ=1');
    });
  });

  it('γ → 0 gives torch\'s weighted cross-entropy (mean and sum), γ = 0 is exactly it', () => {
    tidy(() => {
      manualSeed(3);
      // coarse logits, upsampled to the label size inside the loss; ~10% ignored pixels
      const x = randn([2, 4, 5, 6]);
      const y = F.where(rand([2, 9, 11]).lt(0.1), tensor([255], [], { dtype: 'int64' }), randint(0, 4, [2, 9, 11]));
      const w = tensor([0.3, 1.7, 1, 2.5], [4]);
      const up = F.interpolate(x, { size: [9, 11], mode: 'bilinear', alignCorners: false });
      for (const reduction of ['mean', 'sum'] as const) {
        const ce = F.crossEntropy(up, y, { weight: w, ignoreIndex: 255, reduction }).item();
        assert.equal(segmentationLoss(x, y, { weight: w, reduction, focalGamma: 0 }).item(), ce);
        // (1-p)^1e-9 = 1 - O(1e-9): the focal code path itself reduces to weighted CE
        close(segmentationLoss(x, y, { weight: w, reduction, focalGamma: 1e-9 }).item(), ce, 1e-6, `focal γ→0 ${reduction}`);
      }
    });
  });

  it('focal loss gradients match finite differences (float64)', () => {
    const y = tensor([1, 0, 255, 2, 2, 1], [1, 2, 3], { dtype: 'int64' });
    const w = tensor([2, 1, 0.5], [3]).double();
    for (const gamma of [2, 0.5]) {
      gradcheck(`focal γ=${gamma}`, (x: Tensor) => segmentationLoss(x, y, { weight: w, focalGamma: gamma }), [rnd([1, 3, 2, 3], 7)]);
    }
  });

  it('rejects a negative γ and γ together with label smoothing', () => {
    tidy(() => {
      assert.throws(() => segmentationLoss(logits(), labels(), { focalGamma: -1 }), /focalGamma must be ≥ 0, got -1/);
      assert.throws(() => segmentationLoss(logits(), labels(), { focalGamma: 2, labelSmoothing: 0.1 }), /focalGamma and labelSmoothing cannot be combined/);
      assert.throws(() => segmentationLoss(logits(), labels(), { labelSmoothing: 2 }), /labelSmoothing must be in \[0, 1\], got 2/);
    });
  });
});

describe('labelWeightSum and sum reduction', () => {
  it('Σ w_y over non-ignored pixels; sum / weight sum = mean, also across batches', () => {
    tidy(() => {
      assert.equal(labelWeightSum(labels(), weight(), 255).item(), 2.5);
      assert.equal(labelWeightSum(labels(), null, 255).item(), 2);
    });
  });

  it('per-batch sums over the split\'s weight sum equal the mean over the whole split (CE and focal)', () => {
    tidy(() => {
      manualSeed(5);
      const x = randn([4, 3, 4, 4]);
      const y = F.where(rand([4, 8, 8]).lt(0.2), tensor([255], [], { dtype: 'int64' }), randint(0, 3, [4, 8, 8]));
      const w = weight();
      for (const focalGamma of [0, 2]) {
        const whole = segmentationLoss(x, y, { weight: w, focalGamma }).item();
        let sum = 0;
        let wsum = 0;
        for (const [s, n] of [[0, 1], [1, 3]] as const) {
          const xb = x.narrow(0, s, n);
          const yb = y.narrow(0, s, n);
          const sb = segmentationLoss(xb, yb, { weight: w, focalGamma, reduction: 'sum' });
          const wb = labelWeightSum(yb, w, 255);
          // mean = sum / Σ w_y within a batch too
          close(segmentationLoss(xb, yb, { weight: w, focalGamma }).item(), sb.item() / wb.item(), 1e-6, `batch mean γ=${focalGamma}`);
          sum += sb.item();
          wsum += wb.item();
        }
        close(sum / wsum, whole, 1e-5, `split-wide mean γ=${focalGamma}`);
      }
    });
  });
});
