// The runtimes `compare` times a model in, as data: one entry per runtime. The parent process prepares the
// file a runtime runs (the checkpoint's weights, or an ONNX export made by the exporter's library call in
// a temporary folder); a child process (measure-child.ts) loads it and times one inference step, so each
// runtime's peak RSS is its own. Engines are imported lazily: this table maps neither libtorch nor
// onnxruntime, and a child loads only its own.
import * as path from 'node:path';
import type { Checkpoint } from '../models/checkpoint.js';
import { rng } from '../util/random.js';
import { CompareInputError } from './errors.js';

export const RUNTIME_NAMES = ['torch', 'onnx', 'onnx-int8'] as const;
export type RuntimeName = (typeof RUNTIME_NAMES)[number];

/** What the child needs to load a runtime. */
export interface MeasureSpec {
  runtime: RuntimeName;
  checkpoint: string;
  modelFile: string;
  height: number;
  width: number;
  iters: number;
  warmup: number;
  /** Intra-op threads (libtorch's count in the parent, so both runtimes get the same). */
  threads: number;
  seed: number;
}

/** One loaded model: `step` runs a batch-1 inference on a fixed input. */
export interface LoadedRuntime {
  step(): unknown;
  dispose(): void;
}

export interface CompareRuntime {
  name: RuntimeName;
  /** Null when the runtime can run a model of this model_type, else why not (asked before any work). */
  supports(modelType: string): Promise<string | null>;
  /**
   * Parent side: the file this runtime runs, exported into `tmp` when it has to be made; `data` is the
   * compared dataset (onnx-int8 calibrates its integer convolutions on its train split).
   */
  prepare(ckpt: Checkpoint, tmp: string, data: string): Promise<string>;
  /** Child side: loads spec.modelFile. Imports its engine lazily, so a child loads only its own. */
  load(spec: MeasureSpec): Promise<LoadedRuntime>;
}

/** A seeded N(0,1) input [1,3,H,W]: ImageNet-normalised pixels have about that spread. */
export function benchInput(height: number, width: number, seed: number): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(3 * height * width);
  for (let i = 0; i < x.length; i++) x[i] = r.normal();
  return x;
}

const torchRuntime: CompareRuntime = {
  name: 'torch',
  supports: async () => null, // every registered family runs in libtorch
  async prepare(ckpt) {
    const { findWeights } = await import('../models/hf.js');
    return ckpt.weightsFile ?? findWeights(ckpt.dir);
  },
  async load(s) {
    const { loadPretrained } = await import('../models/hf.js');
    const { fromArray, inferenceMode, setNumThreads, tidy } = await import('../torch/index.js');
    setNumThreads((await import('../torch/threads.js')).resolveThreads(s.threads));
    const { model } = loadPretrained(s.checkpoint, { weights: s.modelFile, log: () => undefined });
    model.eval();
    const x = fromArray(benchInput(s.height, s.width, s.seed), [1, 3, s.height, s.width]);
    return {
      step: () => inferenceMode(() => tidy(() => void model.forward(x))),
      dispose: () => {
        x.dispose();
        model.dispose();
      },
    };
  },
};

/**
 * The checkpoint exported as `streetseg export [--int8 --calibrate DATA]` does, into `file`; an export
 * failing its self-check is refused.
 */
async function exportOnnx(ckpt: Checkpoint, file: string, int8: boolean, data: string): Promise<string> {
  const { exportCheckpoint, selfCheckError } = await import('../export/export.js');
  const failed = selfCheckError(await exportCheckpoint(ckpt, { out: file, int8, ...(int8 ? { calibrate: data } : {}), log: () => undefined }));
  if (failed) throw new Error(`${ckpt.dir}: the ONNX export${int8 ? ' (int8)' : ''} failed: ${failed}`);
  return file;
}

function onnxRuntime(name: 'onnx' | 'onnx-int8'): CompareRuntime {
  const int8 = name === 'onnx-int8';
  return {
    name,
    async supports(modelType) {
      const { onnxEmitter } = await import('../export/families.js');
      try {
        onnxEmitter(modelType);
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
    prepare: (ckpt, tmp, data) => exportOnnx(ckpt, path.join(tmp, `${name}.onnx`), int8, data),
    async load(s) {
      // The exporter's own session settings (src/export/ort.ts, as `bench model --runtime onnx` uses them):
      // intra-op = the torch thread count, one inter-op thread, every graph optimisation, int8 weights
      // dequantised once at load.
      const { createOrtSession, runLogits } = await import('../export/ort.js');
      const session = await createOrtSession(s.modelFile, { threads: s.threads, optLevel: 'all' });
      const x = benchInput(s.height, s.width, s.seed);
      return {
        step: () => runLogits(session, x, [1, 3, s.height, s.width]),
        dispose: () => void session.release(),
      };
    },
  };
}

const RUNTIMES: Record<RuntimeName, CompareRuntime> = { torch: torchRuntime, onnx: onnxRuntime('onnx'), 'onnx-int8': onnxRuntime('onnx-int8') };

/** The runtime entries for names from --runtimes; an unknown one is an error listing the known ones. */
export function compareRuntimes(names: readonly string[]): CompareRuntime[] {
  if (names.length === 0) throw new CompareInputError(`--runtimes: expected one or more of ${RUNTIME_NAMES.join(', ')}`);
  const out: CompareRuntime[] = [];
  for (const n of names) {
    if (!(RUNTIME_NAMES as readonly string[]).includes(n)) throw new CompareInputError(`--runtimes: unknown runtime '${n}': expected one or more of ${RUNTIME_NAMES.join(', ')}`);
    const rt = RUNTIMES[n as RuntimeName];
    if (!out.includes(rt)) out.push(rt);
  }
  return out;
}

export function runtimeByName(name: string): CompareRuntime {
  const rt = RUNTIMES[name as RuntimeName];
  if (!rt) throw new RangeError(`unknown runtime '${name}': expected one of ${RUNTIME_NAMES.join(', ')}`);
  return rt;
}
