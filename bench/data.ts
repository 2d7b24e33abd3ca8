// Data-pipeline throughput: how many training images per second the DataLoader delivers (decode + resize +
// augmentation + normalisation) with nothing consuming them. Uses the real CamVid train split (or CamSeq01)
// under $STREETSEG_DATA or <repo>/../shared/data when present, else a synthetic CamSeq01-layout set written
// once to the OS temp folder.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';
import { writeSyntheticDataset } from '../src/data/synthetic.js';
import type { DatasetSpec } from '../src/data/types.js';
import { dataRoot } from '../src/util/paths.js';

export interface BenchDataOptions {
  /** worker threads (default min(2, cores)); 0 = main thread */
  workers?: number;
  batchSize?: number; // default 8
  preset?: string; // default 'tutorial'
  /** cache decoded frames; the cache is filled by one untimed pass first (default false) */
  cache?: boolean;
  height?: number; // default 360
  width?: number; // default 480
  /** batches to time (default 24) */
  batches?: number;
  /** batches delivered before the clock starts, without the cache (default 2) */
  warmup?: number;
  /** data folder holding camvid/ or camseq01/ (default $STREETSEG_DATA or <repo>/../shared/data) */
  dataRoot?: string;
  /** force the synthetic set even when real data exists */
  synthetic?: boolean;
  /** where to write/reuse the synthetic set (default <os tmp>/streetseg-bench-synth-<W>x<H>-<count>) */
  syntheticDir?: string;
  prefetch?: number;
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface BenchDataResult {
  imagesPerSecond: number;
  msPerBatch: number;
  images: number;
  batches: number;
  seconds: number;
  /** from construction to the first batch (worker start-up, first decodes) */
  firstBatchSeconds: number;
  dataset: { source: 'camvid' | 'camseq01' | 'synthetic'; root: string; samples: number };
  workers: number;
  batchSize: number;
  preset: string;
  cache: boolean;
  height: number;
  width: number;
  decoded: number;
  cacheHits: number;
  node: string;
  cpus: number;
}

async function syntheticSet(width: number, height: number, count: number, where?: string): Promise<string> {
  const dir = where ? path.resolve(where) : path.join(os.tmpdir(), `streetseg-bench-synth-${width}x${height}-${count}`);
  const done = path.join(dir, '.complete');
  if (!fs.existsSync(done)) {
    await writeSyntheticDataset(dir, { count, seed: 0, width, height });
    fs.writeFileSync(done, 'ok\n');
  }
  return dir;
}

async function pickDataset(o: BenchDataOptions, width: number, height: number, need: number): Promise<{ spec: DatasetSpec; source: BenchDataResult['dataset']['source']; root: string }> {
  if (!o.synthetic) {
    const root = path.resolve(o.dataRoot ?? dataRoot());
    const camvid = path.join(root, 'camvid');
    if (fs.existsSync(path.join(camvid, 'train'))) return { spec: openDataset(camvid, { format: 'camvid', split: 'train' }), source: 'camvid', root: camvid };
    const camseq = path.join(root, 'camseq01');
    if (fs.existsSync(camseq)) return { spec: openDataset(camseq, { format: 'camseq01' }), source: 'camseq01', root: camseq };
  }
  const dir = await syntheticSet(width, height, Math.min(Math.max(need, 16), 64), o.syntheticDir);
  return { spec: openDataset(dir, { format: 'camseq01' }), source: 'synthetic', root: dir };
}

export async function benchData(opts: BenchDataOptions = {}): Promise<BenchDataResult> {
  const batchSize = opts.batchSize ?? 8;
  const height = opts.height ?? 360;
  const width = opts.width ?? 480;
  const batches = opts.batches ?? 24;
  const cache = opts.cache ?? false;
  const preset = opts.preset ?? 'tutorial';
  if (!Number.isInteger(batches) || batches < 1) throw new Error(`bench data: batches must be a positive integer, got ${batches}`);
  const { spec, source, root } = await pickDataset(opts, width, height, batches * batchSize);
  // With the cache, time steady state: a subset small enough to be seen once untimed, then reused.
  const subsetSize = Math.min(spec.samples.length, cache ? Math.max(batchSize, Math.min(batches * batchSize, spec.samples.length)) : spec.samples.length);
  const indices = Array.from({ length: subsetSize }, (_, i) => i);
  if (subsetSize < batchSize) throw new Error(`bench data: ${root} has ${subsetSize} samples, fewer than one batch of ${batchSize}`);
  const loaderOpts: ConstructorParameters<typeof DataLoader>[0] = {
    dataset: spec,
    indices,
    batchSize,
    shuffle: true,
    dropLast: true,
    height,
    width,
    augment: preset,
    cache,
    seed: opts.seed ?? 0,
  };
  if (opts.workers !== undefined) loaderOpts.workers = opts.workers;
  if (opts.prefetch !== undefined) loaderOpts.prefetch = opts.prefetch;
  const loader = new DataLoader(loaderOpts);
  const warmup = cache ? loader.batchesPerEpoch : (opts.warmup ?? 2);
  const total = warmup + batches;
  const tStart = performance.now();
  let firstBatch = 0;
  let t0 = 0;
  let seen = 0;
  let timedImages = 0;
  try {
    if (warmup === 0) t0 = performance.now();
    outer: for (let epoch = 0; ; epoch++) {
      for await (const b of loader.epoch(epoch)) {
        seen++;
        if (seen === 1) firstBatch = performance.now() - tStart;
        if (seen > warmup) timedImages += b.n;
        if (seen === warmup) t0 = performance.now();
        opts.onProgress?.(seen, total);
        if (seen >= total) break outer;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const st = loader.stats();
    return {
      imagesPerSecond: timedImages / seconds,
      msPerBatch: (seconds * 1000) / batches,
      images: timedImages,
      batches,
      seconds,
      firstBatchSeconds: firstBatch / 1000,
      dataset: { source, root, samples: subsetSize },
      workers: loader.workers,
      batchSize,
      preset,
      cache,
      height,
      width,
      decoded: st.decoded,
      cacheHits: st.cacheHits,
      node: process.version,
      cpus: os.availableParallelism(),
    };
  } finally {
    await loader.close();
  }
}
