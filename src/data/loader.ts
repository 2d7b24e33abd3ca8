// DataLoader: batches of NCHW float32 images and NHW class ids, built by worker threads.
//
//   const loader = new DataLoader({ dataset, batchSize: 8, shuffle: true, dropLast: true, height: 360,
//                                   width: 480, augment: 'camvid-scratch', workers: 2, seed: 0 });
//   for await (const batch of loader.epoch(e)) { ... batch.pixelValues, batch.labels ... }
//   await loader.close();
//
// Determinism: the sample order of epoch e is a permutation drawn from rng(hashSeed(seed, e)) and sample i's
// augmentation uses rng(hashSeed(seed, e, i)) (i = index into dataset.samples), so batches are identical for
// the same seed whatever the number of workers, the prefetch depth or the cache setting.
//
// Work is split by batch: each job (one batch) goes to a worker (up to two at once per worker, so one batch's
// files decode while the other augments), which decodes, resizes, augments and
// normalises, and transfers the finished buffers back (no copies). Up to `prefetch` batches are in flight
// ahead of the consumer, and batches are yielded in order. A failing sample rejects the iteration with the
// worker's message (which starts with the offending file); a crashed worker rejects its batch and is replaced
// (worker-pool.ts).
import { availableParallelism } from 'node:os';
import { buildPreset, fromPipelineSpec, PRESET_NAMES, type Pipeline, type PipelineSpec } from './augment/index.js';
import type { CachedFrame, WorkerConfig } from './loader-worker.js';
import { IMAGENET, type Normalization } from './preprocess.js';
import type { DatasetSpec } from './types.js';
import { hashSeed, rng, shuffleInPlace } from '../util/random.js';
import { InlineRunner, WorkerPool, type Runner } from './worker-pool.js';

export interface Batch {
  /** N×3×H×W, normalised (or x/255 with normalize 'none') */
  pixelValues: Float32Array;
  /** the same N frames before normalisation, RGB HWC uint8 (what evaluation resizes to other input scales) */
  images: Uint8Array;
  /** N×H×W class ids; the dataset's ignoreIndex where ignored */
  labels: Uint8Array;
  ids: string[];
  /** indices into dataset.samples, in batch order */
  indices: number[];
  n: number;
  height: number;
  width: number;
  epoch: number;
}

export interface DataLoaderOptions {
  dataset: DatasetSpec;
  /** subset of dataset.samples to iterate (default: all, in order) */
  indices?: readonly number[];
  batchSize: number;
  /** reshuffle the order every epoch (seeded) (default false) */
  shuffle?: boolean;
  /**
   * Where each epoch's order comes from instead of `indices`/`shuffle`: a data-parallel rank's shard
   * (src/train/distributed/sampler.ts). Indices are into dataset.samples; `length` is per epoch.
   */
  sampler?: EpochSampler;
  /** drop the last incomplete batch (default false) */
  dropLast?: boolean;
  /** training size; decoded frames are resized to it before augmentation. Default: the first sample's size */
  height?: number;
  width?: number;
  /** preset name ('none' | 'tutorial' | 'camvid-scratch'), a pipeline, or a pipeline spec (default 'none') */
  augment?: string | Pipeline | PipelineSpec;
  /** 'imagenet' (default), 'none' (x/255) or explicit RGB mean/std for x/255 */
  normalize?: 'imagenet' | 'none' | Normalization;
  /** worker threads; 0 runs everything on the calling thread (default min(2, cores)) */
  workers?: number;
  /** batches in flight ahead of the consumer (default max(2, 2·workers)) */
  prefetch?: number;
  /** keep decoded, resized (pre-augmentation) frames in memory after their first use (default false) */
  cache?: boolean;
  seed?: number;
  /** image fill value for preset padding/warps (default 0) */
  fill?: number;
}

export interface EpochSampler {
  readonly length: number;
  order(epoch: number): number[];
}

export interface LoaderStats {
  batches: number;
  samples: number;
  decoded: number;
  cacheHits: number;
  cachedFrames: number;
}

function defaultWorkers(): number {
  return Math.min(2, availableParallelism());
}

async function imageSize(file: string): Promise<{ width: number; height: number }> {
  const sharp = (await import('sharp')).default;
  let meta;
  try {
    meta = await sharp(file).metadata();
  } catch (e) {
    throw new Error(`${file}: cannot read the image size: ${(e as Error).message}`);
  }
  if (!meta.width || !meta.height) throw new Error(`${file}: cannot read the image size`);
  return { width: meta.width, height: meta.height };
}

export class DataLoader {
  readonly dataset: DatasetSpec;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly workers: number;
  readonly prefetch: number;
  readonly cache: boolean;
  readonly seed: number;
  /** the subset iterated, in its base order */
  readonly indices: readonly number[];
  readonly sampler: EpochSampler | null;
  private height: number | undefined;
  private width: number | undefined;
  private readonly augment: string | Pipeline | PipelineSpec;
  private readonly norm: WorkerConfig['norm'];
  private readonly fill: number;
  private runner: Runner | null = null;
  private starting: Promise<Runner> | null = null;
  private closed = false;
  private readonly frames = new Map<number, CachedFrame>();
  private pipelineSpec: PipelineSpec | null = null;
  private readonly counters = { batches: 0, samples: 0, decoded: 0, cacheHits: 0 };

  constructor(opts: DataLoaderOptions) {
    const { dataset } = opts;
    if (!dataset || !Array.isArray(dataset.samples)) throw new Error('DataLoader: dataset spec with samples is required');
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new Error(`DataLoader: batchSize must be a positive integer, got ${opts.batchSize}`);
    const n = dataset.samples.length;
    const indices = opts.indices ? opts.indices.slice() : Array.from({ length: n }, (_, i) => i);
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`DataLoader: index ${i} is out of range (dataset has ${n} samples)`);
    }
    if (opts.sampler && (opts.indices || opts.shuffle)) throw new Error('DataLoader: give a sampler or indices/shuffle, not both');
    const workers = opts.workers ?? defaultWorkers();
    if (!Number.isInteger(workers) || workers < 0) throw new Error(`DataLoader: workers must be an integer >= 0, got ${workers}`);
    const prefetch = opts.prefetch ?? Math.max(2, 2 * workers);
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new Error(`DataLoader: prefetch must be an integer >= 1, got ${prefetch}`);
    for (const [k, v] of [
      ['height', opts.height],
      ['width', opts.width],
    ] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`DataLoader: ${k} must be a positive integer, got ${v}`);
    }
    if ((opts.height === undefined) !== (opts.width === undefined)) throw new Error('DataLoader: give both height and width, or neither');
    this.dataset = dataset;
    this.indices = indices;
    this.sampler = opts.sampler ?? null;
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.workers = workers;
    this.prefetch = prefetch;
    this.cache = opts.cache ?? false;
    this.seed = opts.seed ?? 0;
    this.height = opts.height;
    this.width = opts.width;
    this.augment = opts.augment ?? 'none';
    if (typeof this.augment === 'string' && !(PRESET_NAMES as readonly string[]).includes(this.augment)) {
      throw new Error(`DataLoader: unknown augmentation preset '${this.augment}' (expected one of ${PRESET_NAMES.join(', ')})`);
    }
    this.fill = opts.fill ?? 0;
    const nz = opts.normalize ?? 'imagenet';
    const norm = nz === 'none' ? null : nz === 'imagenet' ? IMAGENET : nz;
    this.norm = norm ? { mean: [norm.mean[0], norm.mean[1], norm.mean[2]], std: [norm.std[0], norm.std[1], norm.std[2]] } : null;
    if (this.norm && this.norm.std.some((s) => !(s > 0))) throw new Error('DataLoader: normalisation std must be > 0');
  }

  /** Samples per epoch that end up in batches. */
  get length(): number {
    const n = this.sampler?.length ?? this.indices.length;
    return this.dropLast ? Math.floor(n / this.batchSize) * this.batchSize : n;
  }

  get batchesPerEpoch(): number {
    const n = this.sampler?.length ?? this.indices.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample order of an epoch (dataset indices), before batching and dropLast. */
  order(epoch: number): number[] {
    if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`DataLoader: epoch must be an integer >= 0, got ${epoch}`);
    if (this.sampler) {
      const o = this.sampler.order(epoch);
      const n = this.dataset.samples.length;
      for (const i of o) if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`DataLoader: the sampler gave index ${i}, out of range (dataset has ${n} samples)`);
      return o;
    }
    const o = this.indices.slice();
    if (this.shuffle) shuffleInPlace(o, rng(hashSeed(this.seed, epoch)));
    return o;
  }

  /** The batches of an epoch as lists of dataset indices. */
  plan(epoch: number): number[][] {
    const o = this.order(epoch);
    const out: number[][] = [];
    for (let i = 0; i < o.length; i += this.batchSize) {
      const b = o.slice(i, i + this.batchSize);
      if (b.length < this.batchSize && this.dropLast) break;
      out.push(b);
    }
    return out;
  }

  /** Training size (resolving it from the first sample if it was not given). */
  async size(): Promise<{ height: number; width: number }> {
    if (this.height === undefined || this.width === undefined) {
      const first = this.dataset.samples[this.indices[0] ?? 0];
      if (!first) throw new Error('DataLoader: empty dataset');
      const s = await imageSize(first.image);
      this.height ??= s.height;
      this.width ??= s.width;
    }
    return { height: this.height!, width: this.width! };
  }

  /** The augmentation pipeline spec the workers run (available after the first epoch starts or size()). */
  async pipeline(): Promise<PipelineSpec> {
    await this.start();
    return this.pipelineSpec!;
  }

  stats(): LoaderStats {
    return { ...this.counters, cachedFrames: this.frames.size };
  }

  private start(): Promise<Runner> {
    if (this.closed) return Promise.reject(new Error('DataLoader is closed'));
    if (this.runner) return Promise.resolve(this.runner);
    this.starting ??= (async () => {
      const { height, width } = await this.size();
      const a = this.augment;
      let spec: PipelineSpec;
      if (typeof a === 'string') spec = buildPreset(a, { height, width, ignoreIndex: this.dataset.classes.ignoreIndex, fill: this.fill }).spec;
      else if ('run' in a && typeof a.run === 'function') spec = (a as Pipeline).spec;
      else spec = a as PipelineSpec;
      fromPipelineSpec(spec); // validate on this thread before any worker sees it
      this.pipelineSpec = spec;
      const config: WorkerConfig = { dataset: this.dataset, height, width, pipeline: spec, norm: this.norm, seed: this.seed, returnDecoded: this.cache };
      const runner = this.workers === 0 ? new InlineRunner(config) : new WorkerPool(this.workers, config);
      if (this.closed) {
        await runner.close();
        throw new Error('DataLoader is closed');
      }
      this.runner = runner;
      return runner;
    })();
    this.starting.catch(() => {
      this.starting = null;
    });
    return this.starting;
  }

  /**
   * Decodes every frame of the loader's samples into the cache now (a no-op without `cache`), batch by
   * batch through the workers, so that the first epoch augments cached frames like every later one,
   * as a peer that decodes its whole split before training does. Returns the frames decoded.
   */
  async prefill(): Promise<number> {
    if (!this.cache) return 0;
    const runner = await this.start();
    const todo = this.indices.filter((i) => !this.frames.has(i));
    const chunks: number[][] = [];
    for (let i = 0; i < todo.length; i += this.batchSize) chunks.push(todo.slice(i, i + this.batchSize));
    const outs = await Promise.all(chunks.map((indices) => runner.run({ epoch: 0, indices, cached: indices.map(() => null), decodeOnly: true })));
    for (const out of outs) for (const d of out.decoded) this.frames.set(d.index, d.frame);
    this.counters.decoded += todo.length;
    return todo.length;
  }

  private async runBatch(runner: Runner, epoch: number, indices: number[]): Promise<Batch> {
    const cached = indices.map((i) => (this.cache ? (this.frames.get(i) ?? null) : null));
    const out = await runner.run({ epoch, indices, cached });
    for (const d of out.decoded) if (this.cache) this.frames.set(d.index, d.frame);
    const hits = cached.filter((c) => c !== null).length;
    this.counters.batches++;
    this.counters.samples += indices.length;
    this.counters.cacheHits += hits;
    this.counters.decoded += indices.length - hits;
    return {
      pixelValues: out.pixelValues,
      images: out.images,
      labels: out.labels,
      ids: out.ids,
      indices,
      n: indices.length,
      height: this.height!,
      width: this.width!,
      epoch,
    };
  }

  /**
   * The batches of one epoch, in order, from batch `startBatch` on (a resumed run skips the batches it has
   * done without decoding them). Rejects (naming the file) if any sample fails.
   */
  async *epoch(epoch: number, startBatch = 0): AsyncGenerator<Batch, void, undefined> {
    if (!Number.isInteger(startBatch) || startBatch < 0) throw new Error(`DataLoader: startBatch must be an integer >= 0, got ${startBatch}`);
    const plan = this.plan(epoch).slice(startBatch);
    const runner = await this.start();
    const inflight: Promise<Batch>[] = [];
    let next = 0;
    const launch = () => {
      while (next < plan.length && inflight.length < this.prefetch) {
        const p = this.runBatch(runner, epoch, plan[next++]!);
        p.catch(() => undefined); // handled when awaited in order; avoids unhandled-rejection noise meanwhile
        inflight.push(p);
      }
    };
    launch();
    while (inflight.length) {
      const b = await inflight.shift()!;
      launch();
      yield b;
    }
  }

  /** Terminates the workers. Pending batches reject; further epochs throw. */
  async close(): Promise<void> {
    this.closed = true;
    const r = this.runner ?? (this.starting ? await this.starting.catch(() => null) : null);
    this.runner = null;
    this.frames.clear();
    await r?.close();
  }
}
