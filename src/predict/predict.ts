// `streetseg predict` as a library call: expand the inputs, load a runtime, then stream every image and
// video frame through batches of the model and write the outputs (outputs.ts, video.ts). Videos (and images
// with `sequence`) go through a TemporalStream in order: optionally smoothed, and their flicker measured.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeImage } from '../data/decode.js';
import type { RGB } from '../data/types.js';
import { blendOverlay, labelPalette } from './colors.js';
import { expandInputs, type PredictInput } from './inputs.js';
import { OnnxSegmenter } from './onnx-runtime.js';
import { colorMask, encodePng, writeImageOutputs } from './outputs.js';
import { PredictProgress, type ProgressMode } from './progress.js';
import { checkLabelCount, preprocessImage, type Segmenter } from './segmenter.js';
import type { Checkpoint } from '../models/checkpoint.js';
import { scaledSize } from '../models/contract.js';
import { TorchSegmenter } from './torch-runtime.js';
import { writeFileAtomic } from '../util/fs.js';
import { sequenceKey, TemporalStream, type Plane, type SmoothSpec } from '../temporal/index.js';
import { decodeFrames, probeVideo, VideoEncoder, type VideoInfo } from './video.js';

export interface PredictOptions {
  /** The opened checkpoint (openCheckpoint). */
  checkpoint: Checkpoint;
  /** Image files, folders of images, videos. */
  inputs: string[];
  out: string;
  runtime?: 'torch' | 'onnx';
  /** ONNX file for runtime 'onnx' (default checkpoint/onnx/model.onnx). */
  onnx?: string;
  /** Images (frames) per forward pass; default 1. */
  batch?: number;
  /** Model input size (each image is resized to it as evaluation does); default each image's own size. */
  height?: number;
  width?: number;
  /**
   * Without height/width: the model input is each image's size times this scale (default: the
   * checkpoint's streetseg_eval_scales when it has exactly one, e.g. 0.5 for camvid-best, else 1).
   */
  scale?: number;
  /** Write NAME_overlay.png / NAME_overlay.mp4 blended at this alpha (weight of the colour mask). */
  overlayAlpha?: number | null;
  /** Also write each video frame's class ids as NAME_frames/NNNNNN.png. */
  frames?: boolean;
  /** 'auto' | 'camvid' | 'camvid32' | palette file; see colors.ts. */
  palette?: string;
  /**
   * Images are video frames: in input order, each folder's images (and runs of image files in one folder)
   * form sequences, split where sequenceKey of the name changes, like eval --sequence. They are smoothed
   * with `smooth` and their flicker is measured, as a video's frames are.
   */
  sequence?: boolean;
  /** Smooth videos (and image sequences) over time; each video has its own smoother state. */
  smooth?: SmoothSpec | null;
  progress?: ProgressMode;
  log?: (line: string) => void;
}

/** The last line `streetseg predict` prints. seconds: from the model loaded to the last file written. */
export interface PredictSummary {
  inputs: number;
  frames: number;
  seconds: number;
  framesPerSecond: number;
  runtime: 'torch' | 'onnx';
  out: string;
  /** mean fraction of pixels whose class changes between consecutive frames written (videos, image sequences); null without frame pairs */
  flicker: number | null;
  /** the consecutive frame pairs it is the mean of */
  pairs: number;
  /** the smoothing applied (canonical spec), or null */
  smooth: string | null;
  /** scene cuts at which the smoother restarted */
  sceneCuts: number;
}

/** One image (or frame) waiting for its batch; `sink` gets its class ids (and, if asked, its probabilities). */
interface Pending {
  pixels: Float32Array;
  height: number;
  width: number;
  out: { height: number; width: number };
  /** also the class probabilities (for a smoother) */
  probs: boolean;
  sink: (ids: Uint8Array, probs?: Plane<Float32Array>) => Promise<void>;
}

/** Collects preprocessed images of one model-input size into batches of `size` and runs them in order. */
class Batcher {
  private items: Pending[] = [];
  constructor(
    private readonly seg: Segmenter,
    private readonly size: number,
  ) {}

  async add(p: Pending): Promise<void> {
    const first = this.items[0];
    if (first && (first.height !== p.height || first.width !== p.width || first.probs !== p.probs)) await this.flush();
    this.items.push(p);
    if (this.items.length >= this.size) await this.flush();
  }

  async flush(): Promise<void> {
    const items = this.items;
    if (items.length === 0) return;
    this.items = [];
    const { height, width } = items[0]!;
    const plane = 3 * height * width;
    const pixels = items.length === 1 ? items[0]!.pixels : new Float32Array(items.length * plane);
    if (items.length > 1) items.forEach((it, i) => pixels.set(it.pixels, i * plane));
    const batch = { pixels, n: items.length, height, width, sizes: items.map((it) => it.out) };
    if (items[0]!.probs) {
      const out = await this.seg.segmentWithProbabilities(batch);
      for (let i = 0; i < items.length; i++) await items[i]!.sink(out[i]!.ids, out[i]!.probs);
    } else {
      const ids = await this.seg.segment(batch);
      for (let i = 0; i < items.length; i++) await items[i]!.sink(ids[i]!);
    }
  }
}

async function loadSegmenter(o: PredictOptions): Promise<Segmenter> {
  if ((o.runtime ?? 'torch') === 'onnx') return OnnxSegmenter.load(o.checkpoint, o.onnx);
  return TorchSegmenter.load(o.checkpoint);
}

export async function predict(o: PredictOptions): Promise<PredictSummary> {
  const log = o.log ?? ((l: string) => console.error(l));
  const batch = o.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`predict: batch ${batch}: expected an integer >= 1`);
  if ((o.height === undefined) !== (o.width === undefined)) throw new Error('predict: give both height and width, or neither');
  const alpha = o.overlayAlpha ?? null;
  if (alpha !== null && !(alpha >= 0 && alpha <= 1)) throw new RangeError(`predict: alpha ${alpha}: expected a number from 0 to 1`);
  // the labels and the palette first: cheap, and their errors should not wait for a model load
  const labels = o.checkpoint.labels;
  checkLabelCount(labels, o.checkpoint.configFile);
  const pal = labelPalette(labels, o.palette ?? 'auto');
  if (pal.fallback.length) log(`predict: no palette colour for ${pal.fallback.join(', ')}; using fallback colours (PASCAL VOC colormap)`);
  const inputs = expandInputs(o.inputs);
  const smooth = o.smooth && o.smooth.method !== 'none' ? o.smooth : null;
  if (smooth && !o.sequence && inputs.every((i) => i.kind === 'image')) {
    throw new Error('predict: smoothing works over time, on videos and on images given as a sequence (--sequence); these inputs are only separate images');
  }
  const videos = new Map<PredictInput, VideoInfo>(inputs.filter((i) => i.kind === 'video').map((i) => [i, probeVideo(i.file)]));
  const total = inputs.reduce((s, i) => s + (i.kind === 'image' ? 1 : (videos.get(i)!.frames ?? 0)), 0);
  fs.mkdirSync(o.out, { recursive: true });

  const seg = await loadSegmenter(o);
  const fixed = o.height !== undefined && o.width !== undefined ? { height: o.height, width: o.width } : undefined;
  const scale = o.scale ?? o.checkpoint.scale;
  if (!(scale > 0 && Number.isFinite(scale))) throw new RangeError(`predict: scale ${scale}: expected a positive number`);
  const modelSize = (height: number, width: number) => fixed ?? scaledSize(height, width, scale);
  const progress = new PredictProgress(o.progress ?? 'none', total, log);
  const t0 = performance.now();
  let frames = 0;
  const stream = new TemporalStream({ numClasses: seg.labels.length, smooth });
  try {
    const batcher = new Batcher(seg, batch);
    for (let k = 0; k < inputs.length; ) {
      const input = inputs[k]!;
      if (input.kind === 'video') {
        await batcher.flush();
        stream.break();
        frames += await predictVideo(input, videos.get(input)!, batcher, stream, o, pal.colors, modelSize, alpha, progress);
        stream.break();
        k++;
        continue;
      }
      // decode a batch of consecutive images at once (sharp decodes off the JS thread)
      const group: PredictInput[] = [];
      while (k < inputs.length && inputs[k]!.kind === 'image' && group.length < batch) group.push(inputs[k++]!);
      const decoded = await Promise.all(group.map((g) => decodeImage(g.file)));
      for (let i = 0; i < group.length; i++) {
        const img = decoded[i]!;
        const { name, file } = group[i]!;
        const size = modelSize(img.height, img.width);
        await batcher.add({
          pixels: preprocessImage(img.data, img.width, img.height, size),
          ...size,
          out: { height: img.height, width: img.width },
          probs: !!o.sequence && stream.smoothing,
          sink: async (raw, probs) => {
            // a sequence: frames of one folder whose names share the prefix before their frame number
            const ids = o.sequence
              ? stream.frame({ id: name, sequence: `${path.dirname(path.resolve(file))}/${sequenceKey(name)}`, width: img.width, height: img.height, ids: raw, ...(probs ? { probs, image: { data: img.data, width: img.width, height: img.height } } : {}) })
              : raw;
            await writeImageOutputs(o.out, { name, width: img.width, height: img.height, image: img.data, ids }, pal.colors, alpha);
            frames++;
            progress.tick(1, name);
          },
        });
      }
    }
    await batcher.flush();
  } finally {
    progress.stop();
    seg.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const t = stream.result();
  return {
    inputs: inputs.length,
    frames,
    seconds,
    framesPerSecond: frames / seconds,
    runtime: seg.runtime,
    out: path.resolve(o.out),
    flicker: t.pairs > 0 ? t.flicker : null,
    pairs: t.pairs,
    smooth: t.smooth,
    sceneCuts: t.cuts,
  };
}

/**
 * One video: frames decoded through a pipe, batched, and the overlay (or colour-mask) video encoded
 * through a pipe. On any failure the partial video and frame folder are deleted. Returns the frame count.
 */
async function predictVideo(
  input: PredictInput,
  info: VideoInfo,
  batcher: Batcher,
  stream: TemporalStream,
  o: PredictOptions,
  palette: readonly RGB[],
  modelSize: (height: number, width: number) => { height: number; width: number },
  alpha: number | null,
  progress: PredictProgress,
): Promise<number> {
  const { width, height } = info;
  const videoFile = path.join(o.out, `${input.name}_${alpha !== null ? 'overlay' : 'color'}.mp4`);
  const framesDir = path.join(o.out, `${input.name}_frames`);
  const framesTmp = path.join(o.out, `.${input.name}_frames.${process.pid}.tmp`);
  const enc = new VideoEncoder(videoFile, width, height, info.rate);
  const size = modelSize(height, width); // every frame of a video has the same size
  let index = 0;
  let written = 0;
  try {
    if (o.frames) fs.mkdirSync(framesTmp, { recursive: true });
    for await (const rgb of decodeFrames(input.file, info)) {
      const k = index++;
      await batcher.add({
        pixels: preprocessImage(rgb, width, height, size),
        ...size,
        out: { height, width },
        probs: stream.smoothing,
        sink: async (raw, probs) => {
          const ids = stream.frame({ id: `${input.name} frame ${k}`, sequence: input.file, width, height, ids: raw, ...(probs ? { probs, image: { data: rgb, width, height } } : {}) });
          const color = colorMask(ids, palette, `${input.file} frame ${k}`);
          await enc.write(alpha !== null ? blendOverlay(rgb, color, alpha) : color);
          if (o.frames) writeFileAtomic(path.join(framesTmp, `${String(k).padStart(6, '0')}.png`), await encodePng(ids, width, height, 1));
          written++;
          progress.tick(1, input.name);
        },
      });
    }
    await batcher.flush();
    await enc.finish();
    if (o.frames) {
      fs.rmSync(framesDir, { recursive: true, force: true });
      fs.renameSync(framesTmp, framesDir);
    }
    return written;
  } catch (e) {
    await enc.abort();
    fs.rmSync(framesTmp, { recursive: true, force: true });
    throw e;
  }
}
