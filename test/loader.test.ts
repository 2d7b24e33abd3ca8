import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { buildPreset } from '../src/data/augment/index.js';
import { openDataset } from '../src/data/dataset.js';
import { decodeSample } from '../src/data/decode.js';
import { benchData } from '../bench/data.js';
import { DataLoader, type Batch, type DataLoaderOptions } from '../src/data/loader.js';
import { benchDataCommand } from '../src/cli/commands/bench-data.js';
import { parseArgs } from '../src/cli/command.js';
import { IMAGENET, normalizeImage, resizeSample } from '../src/data/preprocess.js';
import { writeSyntheticDataset } from '../src/data/synthetic.js';
import type { DatasetSpec } from '../src/data/types.js';

const W = 64;
const H = 48;
const COUNT = 10;
let dir: string;
let ds: DatasetSpec;

async function collect(loader: DataLoader, epoch: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch(epoch)) out.push(b);
  return out;
}

async function withLoader<T>(opts: DataLoaderOptions, f: (l: DataLoader) => Promise<T>): Promise<T> {
  const l = new DataLoader(opts);
  try {
    return await f(l);
  } finally {
    await l.close();
  }
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-loader-'));
  await writeSyntheticDataset(path.join(dir, 'ds'), { count: COUNT, seed: 3, width: W, height: H });
  ds = openDataset(path.join(dir, 'ds'));
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('DataLoader', () => {
  it('yields NCHW float32 / NHW uint8 batches of the right shapes; dropLast drops the remainder', async () => {
    await withLoader({ dataset: ds, batchSize: 4, workers: 0 }, async (l) => {
      const bs = await collect(l, 0);
      assert.deepEqual(
        bs.map((b) => b.n),
        [4, 4, 2],
      );
      assert.equal(l.batchesPerEpoch, 3);
      for (const b of bs) {
        assert.ok(b.pixelValues instanceof Float32Array);
        assert.ok(b.labels instanceof Uint8Array);
        assert.equal(b.pixelValues.length, b.n * 3 * H * W);
        assert.equal(b.labels.length, b.n * H * W);
        assert.equal(b.ids.length, b.n);
        assert.equal(b.height, H);
        assert.equal(b.width, W);
      }
      assert.deepEqual(
        bs.flatMap((b) => b.ids),
        ds.samples.map((s) => s.id),
      );
    });
    await withLoader({ dataset: ds, batchSize: 4, workers: 0, dropLast: true }, async (l) => {
      const bs = await collect(l, 0);
      assert.deepEqual(
        bs.map((b) => b.n),
        [4, 4],
      );
      assert.equal(l.batchesPerEpoch, 2);
      assert.equal(l.length, 8);
    });
  });

  it('with preset none: labels equal the decoded labels and pixels are ImageNet-normalised', async () => {
    await withLoader({ dataset: ds, batchSize: 3, workers: 1, augment: 'none' }, async (l) => {
      const bs = await collect(l, 0);
      const b = bs[1]!;
      const k = 2; // third sample of the second batch: dataset index 5
      assert.equal(b.indices[k], 5);
      const d = await decodeSample(ds.samples[5]!, ds.label, ds.classes);
      assert.deepEqual(b.labels.subarray(k * H * W, (k + 1) * H * W), d.label);
      // a known pixel by hand: (x=10, y=7), channel c: (v/255 − mean[c]) / std[c]
      const p = 7 * W + 10;
      for (let c = 0; c < 3; c++) {
        const v = d.image[p * 3 + c]!;
        const expected = Math.fround((Math.fround(v / 255) - IMAGENET.mean[c]!) / IMAGENET.std[c]!);
        assert.equal(b.pixelValues[k * 3 * H * W + c * H * W + p], expected);
      }
      // the whole sample equals preprocess.normalizeImage of the frame the batch carries, the decoded one
      assert.deepEqual(b.images.subarray(k * 3 * H * W, (k + 1) * 3 * H * W), d.image);
      assert.deepEqual(b.pixelValues.subarray(k * 3 * H * W, (k + 1) * 3 * H * W), normalizeImage(d.image));
    });
    await withLoader({ dataset: ds, batchSize: 2, workers: 0, normalize: 'none' }, async (l) => {
      const [b] = await collect(l, 0);
      const d = await decodeSample(ds.samples[0]!, ds.label, ds.classes);
      assert.equal(b!.pixelValues[H * W + 3], Math.fround(d.image[3 * 3 + 1]! / 255)); // G of pixel 3
    });
  });

  it('resizes to height×width (image bilinear, label nearest) before augmentation', async () => {
    await withLoader({ dataset: ds, batchSize: 5, workers: 0, height: 24, width: 40 }, async (l) => {
      const [b] = await collect(l, 0);
      assert.equal(b!.pixelValues.length, 5 * 3 * 24 * 40);
      const d = resizeSample(await decodeSample(ds.samples[0]!, ds.label, ds.classes), 40, 24);
      assert.deepEqual(b!.labels.subarray(0, 24 * 40), d.label);
      assert.deepEqual(b!.images.subarray(0, 24 * 40 * 3), d.image);
    });
  });

  it('shuffles: a permutation per epoch, different between epochs, reproducible', async () => {
    await withLoader({ dataset: ds, batchSize: 3, workers: 0, shuffle: true, seed: 5 }, async (l) => {
      const e0 = (await collect(l, 0)).flatMap((b) => b.indices);
      const e1 = (await collect(l, 1)).flatMap((b) => b.indices);
      const sorted = Array.from({ length: COUNT }, (_, i) => i);
      assert.deepEqual([...e0].sort((a, b) => a - b), sorted);
      assert.deepEqual([...e1].sort((a, b) => a - b), sorted);
      assert.notDeepEqual(e0, e1);
      assert.notDeepEqual(e0, sorted);
      assert.deepEqual((await collect(l, 0)).flatMap((b) => b.indices), e0);
      assert.deepEqual(l.order(1), e1);
      // ids follow the indices
      const b = (await collect(l, 1))[0]!;
      assert.deepEqual(
        b.ids,
        b.indices.map((i) => ds.samples[i]!.id),
      );
    });
    // with dropLast the dropped samples change from epoch to epoch
    await withLoader({ dataset: ds, batchSize: 4, workers: 0, shuffle: true, dropLast: true, seed: 5 }, async (l) => {
      const seen = new Set<number>();
      for (let e = 0; e < 6; e++) for (const b of await collect(l, e)) b.indices.forEach((i) => seen.add(i));
      assert.equal(seen.size, COUNT);
    });
  });

  it('iterates only the given indices', async () => {
    await withLoader({ dataset: ds, indices: [7, 2, 9], batchSize: 2, workers: 0 }, async (l) => {
      const bs = await collect(l, 0);
      assert.deepEqual(
        bs.flatMap((b) => b.ids),
        [7, 2, 9].map((i) => ds.samples[i]!.id),
      );
    });
    assert.throws(() => new DataLoader({ dataset: ds, indices: [10], batchSize: 2 }), /out of range/);
  });

  it('gives identical batches for workers 0, 1 and 2, with and without the cache', async () => {
    for (const augment of ['tutorial', 'camvid-scratch']) {
      const runs: Batch[][][] = [];
      for (const [workers, cache] of [
        [0, false],
        [1, true],
        [2, false],
        [2, true],
      ] as const) {
        const epochs = await withLoader(
          { dataset: ds, batchSize: 3, workers, cache, shuffle: true, seed: 11, augment, prefetch: 3 },
          async (l) => [await collect(l, 0), await collect(l, 1)],
        );
        runs.push(epochs);
      }
      const ref = runs[0]!;
      for (const r of runs.slice(1)) {
        for (let e = 0; e < 2; e++) {
          assert.equal(r[e]!.length, ref[e]!.length);
          for (let i = 0; i < ref[e]!.length; i++) {
            assert.deepEqual(r[e]![i]!.ids, ref[e]![i]!.ids);
            assert.ok(Buffer.from(r[e]![i]!.pixelValues.buffer).equals(Buffer.from(ref[e]![i]!.pixelValues.buffer)), `${augment} epoch ${e} batch ${i}`);
            assert.ok(Buffer.from(r[e]![i]!.labels.buffer).equals(Buffer.from(ref[e]![i]!.labels.buffer)));
          }
        }
      }
      // augmentation really happens: epoch 0 and 1 differ for the same sample
      const first = (e: number, idx: number) => {
        for (const b of ref[e]!) {
          const k = b.indices.indexOf(idx);
          if (k >= 0) return b.pixelValues.subarray(k * 3 * H * W, (k + 1) * 3 * H * W);
        }
        throw new Error('missing');
      };
      assert.notDeepEqual(first(0, 4), first(1, 4));
      // labels only hold dataset classes or ignore
      const ok = new Set([...Array(ds.classes.names.length).keys(), ds.classes.ignoreIndex]);
      for (const b of ref[0]!) for (const v of new Set(b.labels)) assert.ok(ok.has(v), `label ${v}`);
    }
  });

  it('caches decoded frames after the first epoch', async () => {
    await withLoader({ dataset: ds, batchSize: 4, workers: 1, cache: true, augment: 'tutorial' }, async (l) => {
      await collect(l, 0);
      assert.equal(l.stats().decoded, COUNT);
      assert.equal(l.stats().cachedFrames, COUNT);
      await collect(l, 1);
      assert.equal(l.stats().decoded, COUNT);
      assert.equal(l.stats().cacheHits, COUNT);
    });
  });

  it('prefill() decodes every frame up front; the epoch then hits the cache and yields the same batches', async () => {
    let plain: Batch[] = [];
    await withLoader({ dataset: ds, batchSize: 4, workers: 1, cache: true, augment: 'tutorial' }, async (l) => {
      plain = await collect(l, 0);
    });
    for (const workers of [0, 2]) {
      await withLoader({ dataset: ds, batchSize: 4, workers, cache: true, augment: 'tutorial' }, async (l) => {
        assert.equal(await l.prefill(), COUNT);
        assert.equal(l.stats().cachedFrames, COUNT);
        assert.equal(await l.prefill(), 0); // already cached
        const got = await collect(l, 0);
        assert.equal(l.stats().decoded, COUNT);
        assert.equal(l.stats().cacheHits, COUNT);
        assert.deepEqual(got, plain);
      });
    }
    await withLoader({ dataset: ds, batchSize: 4, workers: 0, augment: 'tutorial' }, async (l) => {
      assert.equal(await l.prefill(), 0); // without the cache there is nothing to fill
    });
  });

  it('a corrupt PNG rejects the iteration with an error naming the file (workers 0 and 2)', async () => {
    const bad = path.join(dir, 'bad');
    fs.cpSync(path.join(dir, 'ds'), bad, { recursive: true });
    const spec = openDataset(bad);
    const victim = spec.samples[6]!.image;
    fs.writeFileSync(victim, Buffer.concat([fs.readFileSync(victim).subarray(0, 60), Buffer.from('garbage')]));
    const label = spec.samples[1]!.label;
    for (const workers of [0, 2]) {
      await withLoader({ dataset: spec, batchSize: 2, workers, augment: 'tutorial' }, async (l) => {
        const seen: string[] = [];
        await assert.rejects(
          (async () => {
            for await (const b of l.epoch(0)) seen.push(...b.ids);
          })(),
          (e: Error) => {
            assert.ok(e.message.includes(victim), e.message);
            return true;
          },
        );
        // the batches before the failing one were delivered, in order
        assert.deepEqual(seen, spec.samples.slice(0, 6).map((s) => s.id));
      });
    }
    // a missing label file also names the file
    fs.rmSync(label);
    await withLoader({ dataset: spec, indices: [0, 1], batchSize: 2, workers: 1 }, async (l) => {
      await assert.rejects(collect(l, 0), (e: Error) => e.message.includes(label));
    });
  });

  it('close() terminates workers; epochs afterwards reject', async () => {
    const l = new DataLoader({ dataset: ds, batchSize: 2, workers: 2 });
    const it0 = l.epoch(0);
    const first = await it0.next();
    assert.equal(first.done, false);
    await l.close();
    await assert.rejects(collect(l, 1), /closed/);
  });

  it('rejects an unknown preset and a pipeline that does not restore the training size', async () => {
    assert.throws(() => new DataLoader({ dataset: ds, batchSize: 2, augment: 'fancy' }), /unknown augmentation preset 'fancy'/);
    const { pipeline, rotate90 } = await import('../src/data/augment/index.js');
    const rot = pipeline(rotate90({ p: 1, factors: [1] }), { ignoreIndex: 255 });
    await withLoader({ dataset: ds, batchSize: 2, workers: 1, augment: rot }, async (l) => {
      await assert.rejects(collect(l, 0), /produced 48x64 .*expected 64x48/);
    });
  });
});

describe('WorkerPool', () => {
  it('stops replacing workers that die before starting, and fails the jobs with their error', async () => {
    // Regression: a worker that could not start (module load error, no memory) was respawned in a tight
    // loop for as long as the loader stayed open (about two cores busy while idle).
    const { WorkerPool, MAX_START_FAILURES } = await import('../src/data/worker-pool.js');
    const bad = path.join(dir, 'bad-worker.mjs');
    fs.writeFileSync(bad, "throw new Error('boom at worker start');\n");
    const pool = new WorkerPool(2, {} as never, pathToFileURL(bad));
    try {
      const job = { epoch: 0, indices: [0], cached: [null] };
      await assert.rejects(pool.run(job), /loader worker crashed: boom at worker start/);
      await new Promise((r) => setTimeout(r, 400));
      assert.ok(pool.spawned <= 2 + MAX_START_FAILURES, `spawned ${pool.spawned} threads`);
      const before = pool.spawned;
      await assert.rejects(pool.run(job), /boom at worker start \(loader workers fail to start: gave up after 3 attempts in a row\)/);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(pool.spawned, before, 'no respawn after giving up');
    } finally {
      await pool.close();
    }
    // a healthy pool reports ready and keeps working after a job's error
    const ok = new WorkerPool(1, { dataset: ds, height: H, width: W, pipeline: buildPreset('none', { height: H, width: W, ignoreIndex: 255 }).spec, norm: null, seed: 0, returnDecoded: false });
    try {
      await assert.rejects(ok.run({ epoch: 0, indices: [99], cached: [null] }), /sample index 99 is out of range/);
      const out = await ok.run({ epoch: 0, indices: [1], cached: [null] });
      assert.equal(out.pixelValues.length, 3 * H * W);
      assert.deepEqual(out.ids, [ds.samples[1]!.id]);
      assert.equal(ok.spawned, 1);
    } finally {
      await ok.close();
    }
  });
});

describe('bench data', () => {
  it('measures a synthetic set end to end', async () => {
    const r = await benchData({ synthetic: true, syntheticDir: path.join(dir, 'bench'), batches: 3, batchSize: 2, height: 48, width: 64, workers: 1, preset: 'tutorial' });
    assert.equal(r.dataset.source, 'synthetic');
    assert.equal(r.images, 6);
    assert.equal(r.batches, 3);
    assert.ok(r.imagesPerSecond > 0 && Number.isFinite(r.imagesPerSecond));
    const c = await benchData({ synthetic: true, syntheticDir: path.join(dir, 'bench'), batches: 2, batchSize: 4, height: 48, width: 64, workers: 0, cache: true, preset: 'none' });
    assert.equal(c.cacheHits, 8); // the untimed pass filled the cache; the timed batches only hit it
  });

  it('the command parses its options', () => {
    assert.equal(benchDataCommand.name, 'bench data');
    const a = parseArgs(benchDataCommand, ['--workers', '0', '--batch', '4', '--preset', 'none', '--cache', '--json']);
    assert.deepEqual([a.opts.workers, a.opts.batch, a.opts.preset, a.opts.cache, a.opts.json], [0, 4, 'none', true, true]);
    assert.throws(() => parseArgs(benchDataCommand, ['--preset', 'x']), { message: /^streetseg bench data: --preset x: expected one of none, / });
    assert.throws(() => parseArgs(benchDataCommand, ['--workers', '-1']), { message: 'streetseg bench data: --workers -1: expected an integer >= 0' });
  });
});

