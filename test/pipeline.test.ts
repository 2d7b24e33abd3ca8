// Data, model, loss and optimiser together, through the public library surface: synthetic scenes on disk →
// dataset → augmenting loader (worker threads) → tensors → SegFormer → HF loss → AdamW.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ss from '../src/index.js';

it('a few training steps on synthetic scenes through the public API lower the loss', async () => {
  const { torch } = ss;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-pipe-'));
  await ss.writeSyntheticDataset(dir, { count: 4, seed: 3, width: 96, height: 64 });
  const spec = ss.openDataset(dir, { void: 'class' });
  assert.equal(spec.format, 'camseq01');
  assert.equal(spec.classes.names.length, 12);
  const stats = await ss.computeStats(spec);
  const weights = ss.classWeights(stats, 'invfreq');
  const loader = new ss.DataLoader({ dataset: spec, batchSize: 2, shuffle: true, augment: 'none', height: 64, width: 96, workers: 2, seed: 1 });
  torch.manualSeed(0);
  const cfg = ss.segformerConfig('b0', spec.classes.names, { hidden_sizes: [16, 32, 48, 64], num_attention_heads: [1, 2, 3, 4], decoder_hidden_size: 32 });
  const model = new ss.SegformerForSemanticSegmentation(cfg).train();
  const opt = new torch.AdamW(model.parameters(), { lr: 3e-3 });
  const w = torch.tensor(weights, [weights.length]);
  const losses: number[] = [];
  try {
    for (let epoch = 0; epoch < 10; epoch++) {
      for await (const batch of loader.epoch(epoch)) {
        const loss = torch.tidy(() => {
          const { pixelValues, labels } = ss.batchToTensors(batch);
          assert.deepEqual(pixelValues.shape, [2, 3, 64, 96]);
          opt.zeroGrad();
          const l = model.forward(pixelValues, labels, { weight: w, ignoreIndex: spec.classes.ignoreIndex }).loss!;
          l.backward();
          opt.step();
          return l.item();
        });
        losses.push(loss);
      }
    }
  } finally {
    await loader.close();
  }
  assert.equal(losses.length, 20);
  assert.ok(losses.every(Number.isFinite));
  const first = (losses[0]! + losses[1]!) / 2;
  const last = (losses[18]! + losses[19]!) / 2;
  assert.ok(last < first * 0.8, `loss did not fall: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  fs.rmSync(dir, { recursive: true });
});
