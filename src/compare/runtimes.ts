// The runtimes `compare` times a model in, as data: one entry per runtime. The parent process prepares the
// file a runtime runs (the checkpoint's weights, or an ONNX export made in a temporary folder); a child
// process (measure-child.ts) loads it and times one inference step, so each runtime's peak RSS is its own.
// A runtime this build cannot run says why (unavailable), and compare refuses it before any work.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findCommand } from '../cli/registry.js';
import { rng } from '../util/random.js';
import { repoRoot } from '../util/paths.js';
import { CompareInputError } from './errors.js';
import { runNode, stderrTail } from './measure.js';

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
  /** Null when this build can run the runtime, else why not. */
  unavailable(): string | null;
  /** Null when the runtime can run a model of this model_type, else why not (asked before any work). */
  supports(modelType: string): Promise<string | null>;
  /** Parent side: the file this runtime runs, exported into `tmp` when it has to be made. */
  prepare(checkpoint: string, tmp: string): Promise<string>;
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
  unavailable: () => null,
  supports: async () => null, // every registered family runs in libtorch
  async prepare(checkpoint) {
    const { findWeights } = await import('../models/hf.js');
    return findWeights(checkpoint);
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

/** Runs `streetseg export` (this build's own CLI) and returns its ONNX file. */
async function exportOnnx(checkpoint: string, file: string, int8: boolean): Promise<string> {
  const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  const r = await runNode([cli, 'export', '--checkpoint', checkpoint, '--onnx', file, '--no-transformersjs', ...(int8 ? ['--int8'] : [])]);
  if (r.code !== 0 || !fs.existsSync(file)) throw new Error(`${checkpoint}: streetseg export${int8 ? ' --int8' : ''} failed (exit ${r.code}): ${stderrTail(r)}`);
  return file;
}

function onnxRuntime(name: 'onnx' | 'onnx-int8'): CompareRuntime {
  const int8 = name === 'onnx-int8';
  return {
    name,
    unavailable: () =>
      findCommand('export')
        ? null
        : `runtime ${name} needs the ONNX exporter ('streetseg export'), which this build does not have; use --runtimes torch`,
    async supports(modelType) {
      const { onnxEmitter } = await import('../export/families.js');
      try {
        onnxEmitter(modelType);
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
    prepare: (checkpoint, tmp) => exportOnnx(checkpoint, path.join(tmp, `${name}.onnx`), int8),
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

/** The runtime entries for names from --runtimes; unknown or unavailable ones are an error saying why. */
export function compareRuntimes(names: readonly string[]): CompareRuntime[] {
  if (names.length === 0) throw new CompareInputError(`--runtimes: expected one or more of ${RUNTIME_NAMES.join(', ')}`);
  const out: CompareRuntime[] = [];
  for (const n of names) {
    if (!(RUNTIME_NAMES as readonly string[]).includes(n)) throw new CompareInputError(`--runtimes: unknown runtime '${n}': expected one or more of ${RUNTIME_NAMES.join(', ')}`);
    const rt = RUNTIMES[n as RuntimeName];
    const why = rt.unavailable();
    if (why) throw new CompareInputError(`--runtimes: ${why}`);
    if (!out.includes(rt)) out.push(rt);
  }
  return out;
}

export function runtimeByName(name: string): CompareRuntime {
  const rt = RUNTIMES[name as RuntimeName];
  if (!rt) throw new RangeError(`unknown runtime '${name}': expected one of ${RUNTIME_NAMES.join(', ')}`);
  return rt;
}
