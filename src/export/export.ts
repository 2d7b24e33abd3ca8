// Model → ONNX file (fp32 or int8), a Transformers.js folder beside it, and the self-check that
// runs the file in onnxruntime-node against our libtorch forward on a seeded random input; and the whole
// of `streetseg export` for an opened checkpoint (exportCheckpoint), which compare, eval and the app call.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromArray, inferenceMode, manualSeed, noGrad, randn, tidy } from '../torch/index.js';
import { loadPretrained, type Checkpoint, type SegmentationModel } from '../models/index.js';
import { IMAGENET } from '../data/preprocess.js';
import { readJsonObject, writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { buildOnnx, DEFAULT_INT8, type BuiltOnnx } from './build.js';
import { calibrateConvs, calibrationImages, calibrationInput, DEFAULT_CALIBRATION_IMAGES, type CalibrationSize } from './calibrate.js';
import { onnxEmitter } from './families.js';
import type { Int8Options } from './graph.js';
import { cpuVnniFlags, int8ConvChoice, type ConvMode, type Int8Target } from './int8-convs.js';
import { createOrtSession, runLogits } from './ort.js';

export { buildOnnx, DEFAULT_INT8, WEIGHTS_ONLY_INT8, type BuildOptions, type BuiltOnnx } from './build.js';

/** Seeded N(0,1) NCHW input, as Float32Array. */
export function randomInput(dims: [number, number, number, number], seed: number): Float32Array {
  manualSeed(seed);
  return tidy(() => randn(dims).toArray() as Float32Array);
}

/** Our libtorch logits for `data`; with `weights`, those tensors (checkpoint names) replace the model's for the call. */
export function torchLogits(model: SegmentationModel, data: Float32Array, dims: number[], weights?: Map<string, Float32Array>): Float32Array {
  model.eval();
  const sd = model.stateDict();
  const saved = new Map<string, Float32Array>();
  try {
    for (const [k, w] of weights ?? []) {
      const t = sd.get(k);
      if (!t) throw new Error(`torchLogits: the model has no tensor '${k}'`);
      saved.set(k, t.toArray() as Float32Array);
      noGrad(() => t.copyFromArray(w));
    }
    return inferenceMode(() => tidy(() => model.forward(fromArray(data, dims, 'float32')).logits.contiguous().toArray() as Float32Array));
  } finally {
    for (const [k, w] of saved) noGrad(() => sd.get(k)!.copyFromArray(w));
  }
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`maxAbsDiff: lengths differ (${a.length} vs ${b.length})`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** RMS(a − ref) / RMS(ref). */
export function relRms(a: Float32Array, ref: Float32Array): number {
  if (a.length !== ref.length) throw new RangeError(`relRms: lengths differ (${a.length} vs ${ref.length})`);
  let e = 0;
  let r = 0;
  for (let i = 0; i < a.length; i++) {
    e += (a[i]! - ref[i]!) ** 2;
    r += ref[i]! ** 2;
  }
  return r > 0 ? Math.sqrt(e / r) : Math.sqrt(e);
}

export interface CheckResult {
  dims: number[];
  /** max |ORT − libtorch|; for int8, against libtorch running the same dequantised weights. */
  maxAbsDiff: number;
  /** int8 only: max |ORT int8 − libtorch fp32|, the quantisation error itself. */
  maxAbsDiffVsFp32?: number;
  /**
   * int8 with dynamic linears or integer convs: RMS(ORT − libtorch on the dequantised linear and QDQ
   * weights) / RMS(libtorch): the activations' rounding, and the integer convs' weight rounding (their
   * weights stay fp32 on the libtorch side), which libtorch does not do.
   */
  relRms?: number;
}

/**
 * Runs `file` in onnxruntime-node and our model on the same input: `o.input` (a real frame, for a graph
 * whose activation ranges were calibrated on real frames), else a seeded N(0, 1) one of `o.dims`.
 */
export async function checkOnnx(model: SegmentationModel, file: string, built: BuiltOnnx, o: { dims?: [number, number, number, number]; seed?: number; input?: { data: Float32Array; dims: [number, number, number, number] } } = {}): Promise<CheckResult> {
  const dims = o.input?.dims ?? o.dims ?? [1, model.config.num_channels, 75, 101];
  const x = o.input?.data ?? randomInput(dims, o.seed ?? 0);
  const session = await createOrtSession(file);
  try {
    const ortOut = await runLogits(session, x, dims);
    const deq = built.builder.dequantized;
    const ref = torchLogits(model, x, dims, deq.size ? deq : undefined);
    const res: CheckResult = { dims: ortOut.dims, maxAbsDiff: maxAbsDiff(ortOut.data, ref) };
    if (built.builder.dynamicLinears > 0 || built.builder.qlinearConvs > 0) res.relRms = relRms(ortOut.data, ref);
    if (deq.size) res.maxAbsDiffVsFp32 = maxAbsDiff(ortOut.data, torchLogits(model, x, dims));
    return res;
  } finally {
    await session.release();
  }
}

/**
 * A folder Transformers.js loads with pipeline('image-segmentation', dir): onnx/model.onnx (int8:
 * onnx/model_quantized.onnx, which it picks with dtype 'q8'), config.json with id2label, and
 * preprocessor_config.json: the checkpoint's own when it has one (`preprocessor`, e.g. resize to the
 * training size 360×480), else our input pipeline's: RGB/255, ImageNet mean/std, no resize (the model
 * runs at the image's own size and the pipeline upsamples the logits to it).
 */
export function writeTransformersJsDir(dir: string, model: SegmentationModel, bytes: Uint8Array, int8: boolean, preprocessor?: Record<string, unknown>): void {
  writeFileAtomic(path.join(dir, 'onnx', int8 ? 'model_quantized.onnx' : 'model.onnx'), bytes);
  const { family } = model;
  writeJsonAtomic(path.join(dir, 'config.json'), { ...model.config, architectures: [family.architecture], model_type: family.modelType });
  writeJsonAtomic(path.join(dir, 'preprocessor_config.json'), preprocessor ?? {
    image_processor_type: 'SegformerImageProcessor',
    feature_extractor_type: 'SegformerFeatureExtractor',
    do_resize: false,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [...IMAGENET.mean],
    image_std: [...IMAGENET.std],
    do_reduce_labels: false,
  });
}

/** The self-check's bound on max |onnxruntime − libtorch|: an export above it is refused. */
export const CHECK_TOLERANCE = 1e-4;
/**
 * With dynamic int8 linears or integer convs, the bound on their activation rounding: RMS error relative to
 * the logits (CheckResult.relRms). Measured: 0.0002 (camvid-best) and 0.0018 (camvid-scratch) for trained
 * models; up to 0.034 for untrained ones, whose activations have outliers that coarsen the per-tensor
 * uint8 step. A wrong weight layout or scale gives errors of the order of the logits themselves (≈ 1).
 */
export const CHECK_INT8_REL_RMS = 0.1;
/**
 * The same bound with integer convolutions (activations rounded to uint8 at every conv's input and output,
 * on ranges calibrated on real frames): measured 0.012 for camvid-best on a CamVid frame; untrained models
 * up to 0.13, their activations' heavy tails stretching the per-tensor ranges. A wrong layout, scale or
 * zero point still gives errors of the order of the logits (≈ 1).
 */
export const CHECK_INT8_CONV_REL_RMS = 0.25;

/** Fails early, naming the path, when `file` cannot be written (its folder is not a writable directory). */
export function checkWritable(file: string): void {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new Error(`${file}: is a directory, expected a file path to write`);
  let dir = path.dirname(path.resolve(file));
  while (!fs.existsSync(dir)) dir = path.dirname(dir);
  try {
    if (!fs.statSync(dir).isDirectory()) throw new Error('not a directory');
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    throw new Error(`${file}: cannot write here (${dir}: ${(e as Error).message})`);
  }
}

export interface CheckpointExportOptions {
  /** The .onnx file to write. */
  out: string;
  /** Default 17. */
  opset?: number;
  int8?: boolean;
  /** int8: calibration images for integer convolutions (calibrationImages: a dataset root, a folder, a file). */
  calibrate?: string;
  /** How many of them (default DEFAULT_CALIBRATION_IMAGES). */
  calibrationImages?: number;
  /** The model input size they are resized to (default: the frame's size times the checkpoint's scale). */
  calibrationSize?: CalibrationSize;
  /** int8: the convolutions' mode (int8ConvChoice; default 'auto'). */
  int8Convs?: ConvMode;
  /** Where the file will run (default 'cpu': onnxruntime-node here). */
  target?: Int8Target;
  /** Also write a Transformers.js folder here (writeTransformersJsDir); default none. */
  hfDir?: string | null;
  /** Seed of the self-check input (default 0). */
  seed?: number;
  /** Where the weight loader's log lines go (default console.error). */
  log?: (line: string) => void;
}

/** What `streetseg export` prints. */
export interface CheckpointExport {
  onnx: string;
  bytes: number;
  opset: number;
  int8: boolean;
  /** The self-check (checkOnnx): max |onnxruntime − libtorch|. */
  maxAbsDiff: number;
  maxAbsDiffVsFp32?: number;
  /** Linear layers exported as DynamicQuantizeMatMul (int8 GEMMs at run time); 0 without --int8. */
  dynamicLinears: number;
  relRms?: number;
  /** int8 only: whether the convolutions are integer QLinearConv, and why (int8ConvChoice). */
  convs?: { int8: boolean; reason: string; qlinearConvs: number; reduceRange?: boolean; calibration?: { source: string; images: number } };
  checkDims: number[];
  nodes: number;
  exportMs: number;
  hfDir?: string;
}

/**
 * An opened checkpoint → `o.out` (written atomically), the Transformers.js folder if asked, and the
 * self-check in onnxruntime-node. The cheap refusals (no exporter for the family, an unwritable path)
 * come before the weights are loaded. A failed self-check is not thrown: see selfCheckError.
 */
export async function exportCheckpoint(ckpt: Checkpoint, o: CheckpointExportOptions): Promise<CheckpointExport> {
  onnxEmitter(ckpt.config.model_type);
  checkWritable(o.out);
  const hfDir = o.hfDir ?? null;
  if (hfDir) checkWritable(path.join(hfDir, 'config.json'));
  const opset = o.opset ?? 17;
  const int8 = o.int8 === true;
  const choice = int8 ? int8ConvChoice({ mode: o.int8Convs ?? 'auto', target: o.target ?? 'cpu', calibrated: !!o.calibrate, vnni: cpuVnniFlags() }) : null;
  // frames are listed (and a bad path refused) only when the convs will use them
  const calibration = choice?.int8 && o.calibrate ? calibrationImages(o.calibrate, o.calibrationImages ?? DEFAULT_CALIBRATION_IMAGES) : null;
  const size = o.calibrationSize ?? { scale: ckpt.scale };
  const { model } = loadPretrained(ckpt, o.log ? { log: o.log } : {});
  try {
    const t0 = performance.now();
    let int8Opts: Int8Options | null = int8 ? DEFAULT_INT8 : null;
    if (choice?.int8 && calibration) {
      const base = { ...DEFAULT_INT8, reduceRange: choice.reduceRange };
      int8Opts = { ...base, convs: await calibrateConvs(model, calibration.files, size, base) };
    }
    const built = buildOnnx(model, { opset, int8: int8Opts ?? false });
    writeFileAtomic(o.out, built.bytes);
    const exportMs = performance.now() - t0;
    if (hfDir) writeTransformersJsDir(hfDir, model, built.bytes, int8, readPreprocessor(ckpt.dir));
    // calibrated activation ranges are those of real frames: the check runs on one, not on noise
    const input = built.builder.qlinearConvs > 0 && calibration ? await calibrationInput(calibration.files[0]!, size) : undefined;
    const check = await checkOnnx(model, o.out, built, { seed: o.seed ?? 0, ...(input ? { input } : {}) });
    return {
      onnx: o.out,
      bytes: built.bytes.byteLength,
      opset,
      int8,
      maxAbsDiff: check.maxAbsDiff,
      ...(check.maxAbsDiffVsFp32 !== undefined ? { maxAbsDiffVsFp32: check.maxAbsDiffVsFp32 } : {}),
      dynamicLinears: built.builder.dynamicLinears,
      ...(check.relRms !== undefined ? { relRms: check.relRms } : {}),
      ...(choice
        ? {
            convs: {
              int8: choice.int8,
              reason: choice.reason,
              qlinearConvs: built.builder.qlinearConvs,
              ...(choice.reduceRange ? { reduceRange: true } : {}),
              ...(calibration ? { calibration: { source: calibration.source, images: calibration.files.length } } : {}),
            },
          }
        : {}),
      checkDims: check.dims,
      nodes: built.nodes,
      exportMs: +exportMs.toFixed(1),
      ...(hfDir ? { hfDir } : {}),
    };
  } finally {
    model.dispose();
  }
}

/** Why an export failed its self-check (naming the file, the difference and the bound), or null when it passed. */
export function selfCheckError(e: CheckpointExport): string | null {
  if (e.relRms !== undefined) {
    const bound = e.convs?.qlinearConvs ? CHECK_INT8_CONV_REL_RMS : CHECK_INT8_REL_RMS;
    return e.relRms <= bound ? null : `${e.onnx}: self-check failed: the int8 logits' RMS error relative to libtorch (on the dequantised linear and QDQ weights) is ${e.relRms} > ${bound}`;
  }
  return e.maxAbsDiff <= CHECK_TOLERANCE ? null : `${e.onnx}: self-check failed: max |ORT − libtorch| = ${e.maxAbsDiff} > ${CHECK_TOLERANCE}`;
}

/** The checkpoint's preprocessor_config.json, if it has one (a JSON object), for the Transformers.js folder. */
function readPreprocessor(dir: string): Record<string, unknown> | undefined {
  const file = path.join(dir, 'preprocessor_config.json');
  return fs.existsSync(file) ? readJsonObject(file) : undefined;
}
