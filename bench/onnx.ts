// onnxruntime-node inference timing of our exported graph, optionally back to back with PyTorch's own
// ONNX export of the same architecture (shared/reference/pytorch/export_onnx.py), both in this process
// with the session options of the reference's ort_bench.js (intra-op = threads, inter-op 1, 'all').
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel, resolveModelName } from '../src/models/index.js';
import { buildOnnx, randomInput } from '../src/export/export.js';
import type { EmitOptions } from '../src/export/layers.js';
import { createOrtSession, runLogits, type OrtSession, type OrtSessionOptions } from '../src/export/ort.js';
import { manualSeed, getNumThreads } from '../src/torch/index.js';
import { sharedRoot } from '../src/util/paths.js';
import { runPython } from '../src/util/python.js';
import { median } from '../src/util/median.js';
import { summarizeTimes, type ModelBench, type ModelBenchOptions } from './model.js';

/** The torch bench's options (inference only); numLabels defaults to 12, as the reference's build(). */
export interface OnnxBenchOptions extends Omit<ModelBenchOptions, 'mode'> {
  int8?: boolean;
  opset?: number;
  threads?: number;
  optLevel?: OrtSessionOptions['optLevel'];
  /** onnxruntime's intra-op spinning (default true), for both sessions. */
  spinning?: boolean;
  emit?: EmitOptions;
  /** Also time PyTorch's export, alternating with ours for `rounds` rounds. */
  comparePytorch?: boolean;
  /** Opset of PyTorch's export (default 13, export_onnx.py's own default). */
  referenceOpset?: number;
  rounds?: number;
}

export interface OnnxBench extends ModelBench {
  runtime: 'onnx';
  int8: boolean;
  /** The session's intra-op spinning and the attention form of the graph (what the time depends on). */
  spinning: boolean;
  attention: NonNullable<EmitOptions['attention']>;
  onnxBytes: number;
  nodes: number;
  /** Per-round medians (ms) when rounds > 1. */
  roundsMs?: number[];
  pytorchExport?: { msPerStep: number; roundsMs: number[]; onnxBytes: number; file: string } | { error: string };
  /** PyTorch export's ms / ours: > 1 means ours is faster. */
  speedupVsPytorchExport?: number;
}

async function timeSession(s: OrtSession, dims: [number, number, number, number], iters: number, warmup: number): Promise<number[]> {
  const x = randomInput(dims, 0);
  for (let i = 0; i < warmup; i++) await runLogits(s, x, dims);
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await runLogits(s, x, dims);
    times.push(performance.now() - t0);
  }
  return times;
}

/** PyTorch's ONNX export of the variant (12 labels, random init), written into `dir`; its path or {error}. */
export function exportPytorchReference(variant: string, dir: string, opset = 13): string | { error: string } {
  const ref = path.join(sharedRoot(), 'reference', 'pytorch');
  const out = path.join(dir, `segformer-${variant}-pytorch.onnx`);
  const r = runPython(path.join(ref, 'export_onnx.py'), ['--variant', variant, '--opset', String(opset), '--out', out], { cwd: dir });
  if ('error' in r) return r;
  return fs.existsSync(out) ? out : { error: `export_onnx.py wrote no ${out}` };
}

export async function benchOnnx(o: OnnxBenchOptions): Promise<OnnxBench> {
  const threads = o.threads ?? getNumThreads();
  const iters = o.iters ?? 10;
  const warmup = o.warmup ?? 3;
  const rounds = o.rounds ?? (o.comparePytorch ? 3 : 1);
  const dims: [number, number, number, number] = [o.batch, 3, o.height, o.width];
  manualSeed(0);
  const model = createModel(o.model, Array.from({ length: o.numLabels ?? 12 }, (_, i) => `c${i}`));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-bench-onnx-'));
  try {
    const built = buildOnnx(model, { int8: o.int8, opset: o.opset, emit: o.emit });
    model.dispose();
    const file = path.join(tmp, 'ours.onnx');
    fs.writeFileSync(file, built.bytes);
    const ours = await createOrtSession(file, { threads, optLevel: o.optLevel, spinning: o.spinning });
    let ref: OrtSession | null = null;
    let refInfo: OnnxBench['pytorchExport'];
    if (o.comparePytorch) {
      const { family, variant } = resolveModelName(o.model);
      if (family.modelType !== 'segformer') throw new Error(`bench model --compare-pytorch: the reference exports SegFormer only, not ${family.modelType}`);
      const refFile = exportPytorchReference(variant, tmp, o.referenceOpset);
      if (typeof refFile === 'string') {
        ref = await createOrtSession(refFile, { threads, optLevel: 'all', spinning: o.spinning });
        refInfo = { msPerStep: 0, roundsMs: [], onnxBytes: fs.statSync(refFile).size, file: path.basename(refFile) };
      } else refInfo = refFile;
    }
    const all: number[] = [];
    const roundsMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t = await timeSession(ours, dims, iters, warmup);
      all.push(...t);
      roundsMs.push(median(t));
      if (ref && refInfo && !('error' in refInfo)) refInfo.roundsMs.push(median(await timeSession(ref, dims, iters, warmup)));
    }
    await ours.release();
    await ref?.release();
    const base = summarizeTimes({ model: o.model, mode: 'infer', batch: o.batch, height: o.height, width: o.width }, all, threads);
    const res: OnnxBench = { ...base, msPerStep: +median(roundsMs).toFixed(1), imagesPerSecond: +((1000 * o.batch) / median(roundsMs)).toFixed(3), runtime: 'onnx', int8: !!o.int8, spinning: o.spinning !== false, attention: o.emit?.attention ?? 'matmul', onnxBytes: built.bytes.byteLength, nodes: built.nodes };
    if (rounds > 1) res.roundsMs = roundsMs.map((t) => +t.toFixed(1));
    if (refInfo) {
      if (!('error' in refInfo)) {
        refInfo.msPerStep = +median(refInfo.roundsMs).toFixed(1);
        refInfo.roundsMs = refInfo.roundsMs.map((t) => +t.toFixed(1));
        res.speedupVsPytorchExport = +(median(refInfo.roundsMs) / median(roundsMs)).toFixed(3);
      }
      res.pytorchExport = refInfo;
    }
    return res;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
