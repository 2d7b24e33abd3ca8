// The comparison's data: one row per model, one timing per runtime. Metrics are fractions in [0, 1];
// fps is exactly 1000 / latencyMs (batch 1).
import type { CompareInput } from './inputs.js';

export interface RuntimeResult {
  runtime: string;
  /** Median of the timed runs, ms (batch 1 at the comparison's height × width). */
  latencyMs: number;
  fps: number;
  /** Peak RSS of the child process that loaded and ran the model, MiB. */
  peakRssMiB: number;
  /** The file this runtime ran and its size: model.safetensors (path), or the ONNX export's name (it is
   * made in a temporary folder, deleted afterwards). */
  file: string;
  fileBytes: number;
  fileMB: number;
  timesMs: number[];
}

export interface CompareRow extends CompareInput {
  numImages: number;
  meanIou: number;
  meanAccuracy: number;
  overallAccuracy: number;
  /** with --sequence: flicker and consistency of consecutive frames (eval --sequence's) */
  temporal?: { flicker: number; consistency: number; pairs: number };
  /** Σ numel of the model's parameters (buffers such as BatchNorm statistics not counted). */
  params: number;
  /** model.safetensors (or pytorch_model.bin) in bytes and in MB (10^6 bytes). */
  weightsFile: string;
  sizeBytes: number;
  sizeMB: number;
  runtimes: RuntimeResult[];
  /** The input size the latencies were measured at: the comparison's, or a run's own inference size
   * (a run evaluated at one scale, e.g. camvid-best's 0.5, is timed at that scale). */
  latencyHeight: number;
  latencyWidth: number;
}

export interface CompareResult {
  data: string;
  split: string;
  height: number;
  width: number;
  batch: 1;
  iters: number;
  warmup: number;
  threads: number;
  models: CompareRow[];
}

/** Bytes → MB (10^6 bytes), as file sizes are usually quoted. */
export const toMB = (bytes: number): number => bytes / 1e6;
