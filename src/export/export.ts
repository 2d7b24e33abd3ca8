// Model → ONNX file (fp32 or int8), a Transformers.js folder beside it, and the self-check that
// runs the file in onnxruntime-node against our libtorch forward on a seeded random input; and the whole
// of `streetseg export` for an opened checkpoint (exportCheckpoint), which compare, eval and the app call.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromArray, inferenceMode, manualSeed, noGrad, randn, tidy } from '../torch/index.js';
import { loadPretrained, type Checkpoint, type SegmentationModel } from '../models/index.js';
import { IMAGENET } from '../data/preprocess.js';
import { readJsonObject, writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { onnxEmitter } from './families.js';
import { GraphBuilder, type Int8Options } from './graph.js';
import type { EmitOptions } from './layers.js';
import { createOrtSession, runLogits } from './ort.js';
import { encodeModel } from './serialize.js';

/**
 * --int8: weights of 4096 elements or more int8 (smaller convs and the classifier of few labels stay
 * fp32); the linear layers' as DynamicQuantizeMatMul, integer GEMMs at run time (Int8Options).
 */
export const DEFAULT_INT8: Int8Options = { minElements: 4096, dynamicLinear: true };
/** int8 weights only, every layer computing in fp32 after load: a smaller file, fp32's speed and numerics. */
export const WEIGHTS_ONLY_INT8: Int8Options = { minElements: 4096 };

export interface BuildOptions {
  opset?: number;
  int8?: boolean | Int8Options;
  emit?: EmitOptions;
}

export interface BuiltOnnx {
  bytes: Uint8Array;
  builder: GraphBuilder;
  nodes: number;
}

/** Builds the ONNX model of `model` (put in eval mode: the graph is the inference forward). */
export function buildOnnx(model: SegmentationModel, o: BuildOptions = {}): BuiltOnnx {
  const emit = onnxEmitter(model.config.model_type);
  const int8 = o.int8 === true ? DEFAULT_INT8 : o.int8 || null;
  const g = new GraphBuilder({ opset: o.opset, int8, name: model.family.architecture });
  model.eval();
  const x = g.input('pixel_values', ['batch_size', model.config.num_channels, 'height', 'width']);
  const logits = noGrad(() => tidy(() => emit(model, g, x, o.emit ?? {})));
  g.output('logits', logits, ['batch_size', model.numLabels, 'logits_height', 'logits_width']);
  const bytes = encodeModel(g.toModelProto({ model_type: model.config.model_type, int8: String(!!int8) }));
  return { bytes, builder: g, nodes: g.nodeCount };
}

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
   * int8 with dynamic linears only: RMS(ORT − libtorch on the dequantised weights) / RMS(libtorch), the
   * error of quantising the linears' activations at run time, which the libtorch forward does not do.
   */
  relRms?: number;
}

/** Runs `file` in onnxruntime-node and our model on the same seeded input. */
export async function checkOnnx(model: SegmentationModel, file: string, built: BuiltOnnx, o: { dims?: [number, number, number, number]; seed?: number } = {}): Promise<CheckResult> {
  const dims = o.dims ?? [1, model.config.num_channels, 75, 101];
  const x = randomInput(dims, o.seed ?? 0);
  const session = await createOrtSession(file);
  try {
    const ortOut = await runLogits(session, x, dims);
    const deq = built.builder.dequantized;
    const ref = torchLogits(model, x, dims, deq.size ? deq : undefined);
    const res: CheckResult = { dims: ortOut.dims, maxAbsDiff: maxAbsDiff(ortOut.data, ref) };
    if (built.builder.dynamicLinears > 0) res.relRms = relRms(ortOut.data, ref);
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
 * With dynamic int8 linears, the bound on their run-time activation rounding: RMS error relative to the
 * logits (CheckResult.relRms). Measured: 0.0002 (camvid-best) and 0.0018 (camvid-scratch) for trained
 * models; up to 0.034 for untrained ones, whose activations have outliers that coarsen the per-tensor
 * uint8 step. A wrong weight layout or scale gives errors of the order of the logits themselves (≈ 1).
 */
export const CHECK_INT8_REL_RMS = 0.1;

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
  const { model } = loadPretrained(ckpt, o.log ? { log: o.log } : {});
  try {
    const t0 = performance.now();
    const built = buildOnnx(model, { opset, int8 });
    writeFileAtomic(o.out, built.bytes);
    const exportMs = performance.now() - t0;
    if (hfDir) writeTransformersJsDir(hfDir, model, built.bytes, int8, readPreprocessor(ckpt.dir));
    const check = await checkOnnx(model, o.out, built, { seed: o.seed ?? 0 });
    return {
      onnx: o.out,
      bytes: built.bytes.byteLength,
      opset,
      int8,
      maxAbsDiff: check.maxAbsDiff,
      ...(check.maxAbsDiffVsFp32 !== undefined ? { maxAbsDiffVsFp32: check.maxAbsDiffVsFp32 } : {}),
      dynamicLinears: built.builder.dynamicLinears,
      ...(check.relRms !== undefined ? { relRms: check.relRms } : {}),
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
    return e.relRms <= CHECK_INT8_REL_RMS ? null : `${e.onnx}: self-check failed: the int8 logits' RMS error relative to libtorch on the dequantised weights is ${e.relRms} > ${CHECK_INT8_REL_RMS}`;
  }
  return e.maxAbsDiff <= CHECK_TOLERANCE ? null : `${e.onnx}: self-check failed: max |ORT − libtorch| = ${e.maxAbsDiff} > ${CHECK_TOLERANCE}`;
}

/** The checkpoint's preprocessor_config.json, if it has one (a JSON object), for the Transformers.js folder. */
function readPreprocessor(dir: string): Record<string, unknown> | undefined {
  const file = path.join(dir, 'preprocessor_config.json');
  return fs.existsSync(file) ? readJsonObject(file) : undefined;
}
