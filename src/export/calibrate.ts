// Calibration for static int8 convolutions: the activation ranges QLinearConv needs, measured on real
// frames. The model is exported once as the calibration graph (Int8Options.convs = 'observe': the linear
// layers already int8 as in the final graph, the convs fp32 on their int8-rounded weights, every conv's
// input and output a graph output), run in onnxruntime-node on each frame at the model's inference size,
// and each observed tensor's min and max over all frames is its range (MinMax calibration, what
// onnxruntime's own quantiser does by default).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { detectFormat, openDataset } from '../data/dataset.js';
import { decodeImage } from '../data/decode.js';
import { preprocessImage, scaledSize } from '../data/preprocess.js';
import { IMAGE_EXTENSIONS, isImageName as isImage } from '../predict/inputs.js';
import type { SegmentationModel } from '../models/index.js';
import ort from 'onnxruntime-node';
import { buildOnnx } from './build.js';
import type { ConvRanges, Int8Options, Range } from './graph.js';
import { createOrtSession } from './ort.js';

/** Frames used by default: enough for stable min/max on a driving dataset, a second or two of work. */
export const DEFAULT_CALIBRATION_IMAGES = 32;

export interface CalibrationSet {
  /** What the user named: a dataset root (its train split), a folder of images or one image. */
  source: string;
  files: string[];
}

/**
 * The calibration frames `spec` names: a dataset root (any layout openDataset reads) gives its train split's
 * images (datasetImages); another folder its image files (sorted by name); a file itself. `count` frames evenly spaced
 * through the sorted list (all of them if fewer): deterministic, and spread over the sequences.
 */
export function calibrationImages(spec: string, count = DEFAULT_CALIBRATION_IMAGES): CalibrationSet {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`calibration image count ${count}: expected an integer ≥ 1`);
  if (!fs.existsSync(spec)) throw new Error(`${spec}: calibration images not found (expected a dataset folder, a folder of images or an image file)`);
  let all: string[];
  if (fs.statSync(spec).isDirectory()) {
    all = datasetImages(spec) ?? fs.readdirSync(spec).filter(isImage).sort().map((f) => path.join(spec, f));
    if (all.length === 0) throw new Error(`${spec}: no image files to calibrate on (${IMAGE_EXTENSIONS.join(' ')})`);
  } else {
    if (!isImage(spec)) throw new Error(`${spec}: not an image file (${IMAGE_EXTENSIONS.join(' ')}) to calibrate on`);
    all = [spec];
  }
  const n = Math.min(count, all.length);
  const files = Array.from({ length: n }, (_, i) => all[Math.floor(((i + 0.5) * all.length) / n)]!);
  return { source: spec, files };
}

/** The model's input size: the frame's times a scale (predict, eval), or a fixed one (an app built with --height/--width). */
export type CalibrationSize = { scale: number } | { height: number; width: number };

/**
 * A dataset root's calibration frames: its train split where it has one (CamVid, folder datasets with
 * images/train), else all its frames (CamSeq01, a folder dataset without splits); null if `root` is not a
 * dataset.
 */
function datasetImages(root: string): string[] | null {
  let format;
  try {
    format = detectFormat(root);
  } catch {
    return null;
  }
  const images = (split?: string) => openDataset(root, { format, unknownColors: 'ignore', ...(split ? { split } : {}) }).samples.map((s) => s.image);
  try {
    return images('train');
  } catch {
    return images();
  }
}

/** One calibration frame as the model sees it: decoded, resized to `size`, ImageNet-normalised (NCHW). */
export async function calibrationInput(file: string, at: CalibrationSize): Promise<{ data: Float32Array; dims: [number, number, number, number] }> {
  const img = await decodeImage(file);
  const size = 'scale' in at ? scaledSize(img.height, img.width, at.scale) : at;
  return { data: preprocessImage(img.data, img.width, img.height, size), dims: [1, 3, size.height, size.width] };
}

/**
 * The ranges of every quantised conv's input and output over `files` (at input size `size`), for the
 * graph that `int8` (with convs then set to these ranges) builds.
 */
export async function calibrateConvs(model: SegmentationModel, files: readonly string[], size: CalibrationSize, int8: Int8Options): Promise<ConvRanges> {
  if (files.length === 0) throw new Error('calibrateConvs: no calibration images');
  const built = buildOnnx(model, { int8: { ...int8, convs: 'observe' } });
  const observed = built.builder.observed;
  const ranges: ConvRanges = new Map();
  if (observed.size === 0) return ranges;
  const session = await createOrtSession(built.bytes, { what: `${model.config.model_type} calibration graph` });
  const seen = new Map<string, Range>();
  try {
    for (const file of files) {
      const x = await calibrationInput(file, size);
      const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x.data, x.dims) }, [...new Set(observed.values())]);
      for (const [name, t] of Object.entries(out)) {
        const v = t.data as Float32Array;
        const r = seen.get(name) ?? { min: Infinity, max: -Infinity };
        for (let i = 0; i < v.length; i++) {
          const e = v[i]!;
          if (!Number.isFinite(e)) {
            const keys = [...observed].filter(([, val]) => val === name).map(([k]) => k);
            throw new Error(`${file}: calibration: ${keys.join(', ')} has the non-finite value ${e}; the model's weights or this frame are broken`);
          }
          if (e < r.min) r.min = e;
          if (e > r.max) r.max = e;
        }
        seen.set(name, r);
        t.dispose();
      }
    }
  } finally {
    await session.release();
  }
  for (const [key, value] of observed) {
    const [conv, side] = key.split(':') as [string, 'input' | 'output'];
    const entry = ranges.get(conv) ?? { input: { min: 0, max: 0 }, output: { min: 0, max: 0 } };
    entry[side] = { ...seen.get(value)! };
    ranges.set(conv, entry);
  }
  return ranges;
}
