// DistributedSampler semantics (PyTorch's), the torchrun environment, the loader's use of a shard, and
// synchronised BatchNorm's forward/backward against BatchNorm2d in a one-process group.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DistributedSampler } from '../src/train/distributed/sampler.js';
import { readDistEnv } from '../src/train/distributed/env.js';
import { DataLoader } from '../src/data/loader.js';
import { ProcessGroup, Store } from '../src/torch/distributed.js';
import { BatchNorm2d, manualSeed, randn } from '../src/torch/index.js';
import { SyncBatchNorm } from '../src/train/distributed/sync-bn.js';
import type { DatasetSpec } from '../src/data/types.js';

const shards = (o: { size: number; worldSize: number; dropLast?: boolean; shuffle?: boolean; seed?: number; exact?: boolean }, epoch: number) =>
  Array.from({ length: o.worldSize }, (_, rank) => new DistributedSampler({ ...o, rank }).order(epoch));

describe('DistributedSampler', () => {
  it('pads by wrapping as PyTorch: 10 samples over 4 ranks → 3 each, the first 2 of the order repeated', () => {
    const s = shards({ size: 10, worldSize: 4, shuffle: false }, 0);
    assert.deepEqual(s, [
      [0, 4, 8],
      [1, 5, 9],
      [2, 6, 0],
      [3, 7, 1],
    ]);
    assert.equal(new DistributedSampler({ size: 10, worldSize: 4, rank: 0 }).length, 3);
  });

  it('drop_last cuts the order to a multiple of the world size: 10 over 4 → 2 each, 8 distinct samples', () => {
    const s = shards({ size: 10, worldSize: 4, shuffle: false, dropLast: true }, 0);
    assert.deepEqual(s, [
      [0, 4],
      [1, 5],
      [2, 6],
      [3, 7],
    ]);
  });

  it('wraps more than once when the world is larger than the dataset (3 samples, 8 ranks)', () => {
    assert.deepEqual(shards({ size: 3, worldSize: 8, shuffle: false }, 0).flat(), [0, 1, 2, 0, 1, 2, 0, 1]);
  });

  it('shuffled shards are disjoint and cover the epoch, reshuffle per epoch, and are identical across restarts', () => {
    for (const world of [2, 3, 5]) {
      const size = 37;
      const o = { size, worldSize: world, seed: 11, dropLast: false };
      const e0 = shards(o, 0);
      const all = e0.flat();
      const total = Math.ceil(size / world) * world;
      assert.equal(all.length, total);
      // every sample appears; only the `total - size` wrapped ones twice
      assert.deepEqual([...new Set(all)].sort((a, b) => a - b), Array.from({ length: size }, (_, i) => i));
      const distinct = new Set(e0[0]);
      for (const s of e0.slice(1)) for (const i of s) assert.ok(!distinct.has(i) || all.indexOf(i) !== all.lastIndexOf(i), `sample ${i} in two shards`);
      // dropLast: strictly disjoint
      const d = shards({ ...o, dropLast: true }, 0).flat();
      assert.equal(new Set(d).size, d.length);
      assert.equal(d.length, Math.floor(size / world) * world);
      // restart: a new sampler gives the same shards; another epoch another order
      assert.deepEqual(shards(o, 0), e0);
      assert.deepEqual(shards(o, 3), shards(o, 3));
      assert.notDeepEqual(shards(o, 1), e0);
    }
  });

  it('a world of one is the single-process loader order; W ranks × batch B consume the global order in prefix steps', () => {
    const ds = { samples: Array.from({ length: 16 }, (_, i) => ({ id: `s${i}`, image: `i${i}.png`, label: `l${i}.png` })) } as unknown as DatasetSpec;
    const plain = new DataLoader({ dataset: ds, batchSize: 8, shuffle: true, seed: 4, workers: 0 });
    const one = new DistributedSampler({ size: 16, rank: 0, worldSize: 1, seed: 4 });
    assert.deepEqual(one.order(2), plain.order(2));
    const two = [0, 1].map((rank) => new DataLoader({ dataset: ds, batchSize: 4, seed: 4, workers: 0, sampler: new DistributedSampler({ size: 16, rank, worldSize: 2, seed: 4 }) }));
    assert.equal(two[0]!.batchesPerEpoch, 2);
    const global = plain.plan(2);
    for (let b = 0; b < 2; b++) {
      const union = [...two[0]!.plan(2)[b]!, ...two[1]!.plan(2)[b]!].sort((x, y) => x - y);
      assert.deepEqual(union, global[b]!.slice().sort((x, y) => x - y));
    }
    assert.throws(() => new DataLoader({ dataset: ds, batchSize: 4, shuffle: true, sampler: one }), /a sampler or indices\/shuffle, not both/);
  });

  it('exact (evaluation) shards have no padding: lengths 4, 3, 3 for 10 over 3', () => {
    const s = shards({ size: 10, worldSize: 3, shuffle: false, exact: true }, 0);
    assert.deepEqual(s, [
      [0, 3, 6, 9],
      [1, 4, 7],
      [2, 5, 8],
    ]);
    assert.deepEqual([0, 1, 2].map((rank) => new DistributedSampler({ size: 10, worldSize: 3, rank, exact: true }).length), [4, 3, 3]);
  });

  it('rejects bad ranks and sizes with the value', () => {
    assert.throws(() => new DistributedSampler({ size: 4, rank: 2, worldSize: 2 }), /rank must be an integer in \[0, 2\), got 2/);
    assert.throws(() => new DistributedSampler({ size: 4, rank: 0, worldSize: 0 }), /worldSize must be an integer >= 1, got 0/);
  });
});

describe('torchrun environment', () => {
  const base = { MASTER_ADDR: 'node0', MASTER_PORT: '29500', RANK: '3', WORLD_SIZE: '8', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '4' };
  it('reads every variable', () => {
    assert.deepEqual(readDistEnv(base), { rank: 3, worldSize: 8, localRank: 1, masterAddr: 'node0', masterPort: 29500, localWorldSize: 4 });
    assert.equal(readDistEnv({}), null);
    assert.equal(readDistEnv({ LOCAL_RANK: '0' }), null);
    assert.equal(readDistEnv({ ...base, LOCAL_RANK: undefined, LOCAL_WORLD_SIZE: undefined })!.localRank, 3);
  });
  it('names the bad or missing variable', () => {
    assert.throws(() => readDistEnv({ ...base, RANK: '8' }), /RANK="8": expected an integer in \[0, WORLD_SIZE=8\)/);
    assert.throws(() => readDistEnv({ ...base, MASTER_PORT: 'http' }), /MASTER_PORT="http": expected a TCP port/);
    assert.throws(() => readDistEnv({ RANK: '0', WORLD_SIZE: '2' }), /RANK, WORLD_SIZE set but MASTER_ADDR, MASTER_PORT missing/);
    assert.throws(() => readDistEnv({ ...base, WORLD_SIZE: '0' }), /WORLD_SIZE="0": expected an integer >= 1/);
  });
});

describe('SyncBatchNorm in a one-process group', () => {
  it('matches BatchNorm2d: output, input/weight/bias gradients and running statistics', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ss-syncbn-')), 'store');
    const pg = new ProcessGroup(Store.file({ path: file, worldSize: 1 }), { rank: 0, size: 1 });
    manualSeed(1);
    const x0 = randn([3, 4, 5, 6]).mul(2).add(1);
    const w = randn([3, 4, 5, 6]);
    const run = (sync: boolean) => {
      const bn = new BatchNorm2d(4);
      bn.train();
      const s = new SyncBatchNorm(pg);
      if (sync) assert.equal(s.convert(bn, (m): m is BatchNorm2d => m instanceof BatchNorm2d), 1);
      const x = x0.clone().setRequiresGrad(true);
      const y = bn.forward(x.mul(3)).relu_();
      y.mul(w).sum().backward();
      s.backward();
      return [y, x.grad!, bn.weight.grad!, bn.bias.grad!, bn.runningMean, bn.runningVar].map((t) => t.toArray() as Float32Array);
    };
    const a = run(false);
    const b = run(true);
    for (let k = 0; k < a.length; k++) {
      let m = 0;
      for (let i = 0; i < a[k]!.length; i++) m = Math.max(m, Math.abs(a[k]![i]! - b[k]![i]!));
      assert.ok(m < 2e-5, `tensor ${k}: max diff ${m}`);
    }
    pg.destroy();
  });
});
