// The batch-building work of the DataLoader: decode (or take the cached frame), resize to the training size,
// augment with rng(hashSeed(seed, epoch, index)), normalise into NCHW float32 and copy labels. The same code
// runs in worker threads (this file is the worker's entry point) and, with workers: 0, on the main thread.
// Results depend only on the job, never on which thread ran it.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fromPipelineSpec, type Pipeline, type PipelineSpec } from './augment/index.js';
import { decodeSample } from './decode.js';
import { normalizeImage, resizeSample, type Normalization } from './preprocess.js';
import type { DatasetSpec, SampleRef } from './types.js';

/** A decoded frame already resized to the training size (what the cache holds). */
export interface CachedFrame {
  image: Uint8Array;
  label: Uint8Array;
  width: number;
  height: number;
}

export interface WorkerConfig {
  dataset: DatasetSpec;
  height: number;
  width: number;
  pipeline: PipelineSpec;
  /** per-channel mean/std (RGB) for x/255, or null for x/255 only */
  norm: Normalization | null;
  seed: number;
  /** return freshly decoded frames so the main thread can cache them */
  returnDecoded: boolean;
}

export interface BatchJob {
  epoch: number;
  /** dataset sample indices, in batch order */
  indices: number[];
  /** cached frames for some of them (same length as indices; null = decode) */
  cached: (CachedFrame | null)[];
  /** only decode (and return) the frames: no augmentation, empty pixelValues/labels (cache prefill) */
  decodeOnly?: boolean;
}

export interface BatchOutput {
  pixelValues: Float32Array;
  /** the augmented frames that pixelValues normalise, RGB HWC uint8, one after another */
  images: Uint8Array;
  labels: Uint8Array;
  ids: string[];
  /** frames decoded for this batch (only when returnDecoded), by dataset index */
  decoded: { index: number; frame: CachedFrame }[];
}

/** Builds a processor for one configuration (one per worker thread). */
export function createBatchProcessor(cfg: WorkerConfig): (job: BatchJob) => Promise<BatchOutput> {
  const { dataset, height: H, width: W, seed } = cfg;
  const pipe: Pipeline = fromPipelineSpec(cfg.pipeline);
  const plane = H * W;

  const frameFor = async (index: number, ref: SampleRef): Promise<CachedFrame> => {
    const d = await decodeSample(ref, dataset.label, dataset.classes);
    const r = resizeSample(d, W, H);
    return { image: r.image, label: r.label, width: r.width, height: r.height };
  };

  return async (job: BatchJob): Promise<BatchOutput> => {
    const n = job.indices.length;
    const refs = job.indices.map((i) => {
      const ref = dataset.samples[i];
      if (!ref) throw new Error(`loader: sample index ${i} is out of range (dataset has ${dataset.samples.length} samples)`);
      return ref;
    });
    // decode the misses concurrently (sharp works off the JS thread)
    const frames = await Promise.all(
      job.indices.map((index, k) => {
        const c = job.cached[k];
        return c ? Promise.resolve(c) : frameFor(index, refs[k]!);
      }),
    );
    if (job.decodeOnly) {
      const decoded = job.indices.flatMap((index, k) => (job.cached[k] ? [] : [{ index, frame: frames[k]! }]));
      return { pixelValues: new Float32Array(0), images: new Uint8Array(0), labels: new Uint8Array(0), ids: refs.map((r) => r.id), decoded };
    }
    const pixelValues = new Float32Array(n * 3 * plane);
    const images = new Uint8Array(n * 3 * plane);
    const labels = new Uint8Array(n * plane);
    const decoded: BatchOutput['decoded'] = [];
    for (let k = 0; k < n; k++) {
      const index = job.indices[k]!;
      const ref = refs[k]!;
      const frame = frames[k]!;
      if (cfg.returnDecoded && !job.cached[k]) decoded.push({ index, frame });
      let s;
      try {
        s = pipe.apply(frame, seed, job.epoch, index);
      } catch (e) {
        throw new Error(`${ref.image}: augmentation '${cfg.pipeline.name}' failed for sample ${ref.id}: ${(e as Error).message}`);
      }
      if (s.width !== W || s.height !== H) {
        throw new Error(`${ref.image}: augmentation '${cfg.pipeline.name}' produced ${s.width}x${s.height} for sample ${ref.id}, expected ${W}x${H}`);
      }
      normalizeImage(s.image, cfg.norm, pixelValues, k * 3 * plane);
      images.set(s.image, k * 3 * plane);
      labels.set(s.label, k * plane);
    }
    return { pixelValues, images, labels, ids: refs.map((r) => r.id), decoded };
  };
}

/** True if the view spans its whole ArrayBuffer, so transferring the buffer moves exactly this data. */
function ownsBuffer(a: Uint8Array | Float32Array): boolean {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer;
}

/** Makes every typed array of an output own its buffer and lists the buffers to transfer. */
export function transferList(out: BatchOutput): ArrayBuffer[] {
  const list: ArrayBuffer[] = [out.pixelValues.buffer as ArrayBuffer, out.images.buffer as ArrayBuffer, out.labels.buffer as ArrayBuffer];
  for (const d of out.decoded) {
    if (!ownsBuffer(d.frame.image)) d.frame.image = d.frame.image.slice();
    if (!ownsBuffer(d.frame.label)) d.frame.label = d.frame.label.slice();
    list.push(d.frame.image.buffer as ArrayBuffer, d.frame.label.buffer as ArrayBuffer);
  }
  return list;
}

export type ToWorker = { type: 'batch'; id: number; job: BatchJob };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'result'; id: number; out: BatchOutput }
  | { type: 'error'; id: number; message: string; stack?: string };

export const WORKER_MARK = 'streetseg-loader-worker';

if (!isMainThread && parentPort && (workerData as { mark?: string } | null)?.mark === WORKER_MARK) {
  const port = parentPort;
  const cfg = (workerData as { config: WorkerConfig }).config;
  let processBatch: ((job: BatchJob) => Promise<BatchOutput>) | null = null;
  let initError: Error | null = null;
  try {
    processBatch = createBatchProcessor(cfg);
  } catch (e) {
    initError = e as Error;
  }
  port.on('message', (msg: ToWorker) => {
    if (msg.type !== 'batch') return;
    const fail = (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      const reply: FromWorker = { type: 'error', id: msg.id, message: err.message };
      if (err.stack) reply.stack = err.stack;
      port.postMessage(reply);
    };
    if (!processBatch) return fail(initError ?? new Error('loader worker failed to initialise'));
    processBatch(msg.job).then((out) => {
      const list = transferList(out);
      const reply: FromWorker = { type: 'result', id: msg.id, out };
      port.postMessage(reply, list);
    }, fail);
  });
  // Tells the pool this thread started (a worker that dies before this is not respawned without limit).
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}
