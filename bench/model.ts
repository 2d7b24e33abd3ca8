// Model step timing on random tensors: inference (eval, inference mode) or one training step
// (train mode, upsampled weighted CE with ignored pixels, AdamW), the same work as the PyTorch peers
// (shared/reference/pytorch/bench.py for SegFormer, bench/pytorch/bench_mobile.py for MobileViT and
// MobileNetV2), which benchPytorch runs with the same settings.
import * as path from 'node:path';
import { AdamW, F, inferenceMode, manualSeed, randn, randint, rand, tensor, tidy, noGrad, getNumThreads, profileOps, type OpProfileRow } from '../src/torch/index.js';
import { createModel, getFamily, resolveModelName, type BaseSegConfig, type SegmentationModel } from '../src/models/index.js';
import { repoRoot, sharedRoot } from '../src/util/paths.js';
import { runPythonJson } from '../src/util/python.js';
import { median } from '../src/util/median.js';

export interface ModelBenchOptions {
  model: string;
  mode: 'infer' | 'train';
  batch: number;
  height: number;
  width: number;
  iters?: number;
  warmup?: number;
  numLabels?: number;
  /** A checkpoint's config (e.g. models/camvid-best's): build that architecture, random weights, its labels. */
  config?: BaseSegConfig;
  /** profile one more step per operator (the `profile` rows: the top `profileRows`, by self time) */
  profile?: boolean;
  profileRows?: number;
}

export interface ModelBench {
  model: string;
  mode: string;
  batch: number;
  height: number;
  width: number;
  msPerStep: number;
  /** Median CPU time of a step, all threads (robust to other load on a shared machine, unlike wall time); absent where not measured (onnxruntime). */
  cpuMsPerStep?: number;
  imagesPerSecond: number;
  peakRssMiB: number;
  threads: number;
  timesMs: number[];
  /** with `profile`: one extra step's operators and autograd nodes, by self time (ms, rounded to 0.1) */
  profile?: OpProfileRow[];
}

const yieldLoop = () => new Promise((r) => setImmediate(r));

/** Labels of the benchmark's classifier: CamVid's 11 classes, as the PyTorch peers' default --num-labels. */
const BENCH_LABELS = 11;

/** The PyTorch script that times a family's HF-layout reference, and its family-specific arguments. */
function pytorchPeer(modelType: string, variant: string): { script: string; args: string[] } {
  switch (modelType) {
    case 'segformer':
      return { script: path.join(sharedRoot(), 'reference', 'pytorch', 'bench.py'), args: ['--variant', variant] };
    case 'mobilevit':
    case 'mobilenet_v2':
      return { script: path.join(repoRoot, 'bench', 'pytorch', 'bench_mobile.py'), args: ['--model-type', modelType, '--variant', variant] };
    default:
      throw new RangeError(`bench model: no PyTorch reference for model type '${modelType}' (have segformer, mobilevit, mobilenet_v2)`);
  }
}

export interface PytorchBench {
  msPerStep: number;
  /** bench_mobile.py reports it; shared/reference/pytorch/bench.py (SegFormer) does not. */
  cpuMsPerStep?: number;
  imagesPerSecond: number;
  timesMs: number[];
  threads: number;
  torch: string;
}

/**
 * The same benchmark on the model's PyTorch reference (Debian's python3-torch, same OPENBLAS_CORETYPE,
 * threads, batch, input size, iterations), in benchModel's units; {error} when it could not run. The peer
 * inherits this process's environment, OMP_WAIT_POLICY included, so both sides' OpenMP threads wait the
 * same way: on a loaded machine spinning threads cost PyTorch up to 30× (measured), which would compare
 * the wait policies rather than the models. (`bench train` instead runs the recipe as shipped.)
 */
export function benchPytorch(o: ModelBenchOptions & { threads: number }): PytorchBench | { error: string } {
  const { family, variant } = resolveModelName(o.model);
  const peer = pytorchPeer(family.modelType, variant);
  const args = [...peer.args, '--mode', o.mode, '--h', String(o.height), '--w', String(o.width), '--batch', String(o.batch)];
  args.push('--threads', String(o.threads), '--num-labels', String(o.numLabels ?? BENCH_LABELS));
  if (o.iters) args.push('--iters', String(o.iters));
  if (o.warmup !== undefined) args.push('--warmup', String(o.warmup));
  const py = runPythonJson(peer.script, args, { cwd: path.dirname(peer.script) });
  if (py.error) return { error: String(py.error) };
  const median = py.median_s as number;
  return {
    msPerStep: +(1000 * median).toFixed(1),
    ...(typeof py.cpu_median_s === 'number' ? { cpuMsPerStep: +(1000 * py.cpu_median_s).toFixed(1) } : {}),
    imagesPerSecond: py.images_per_s as number,
    timesMs: (py.times_s as number[]).map((t) => +(1000 * t).toFixed(1)),
    threads: py.threads as number,
    torch: py.torch as string,
  };
}

/** The phases of a training step, for a caller that watches them (the FLOP counter of bench/roofline.ts). */
export type StepPhase = 'forward' | 'backward' | 'optimizer';

export interface BenchStep {
  model: SegmentationModel;
  /** One step; `mark`, if given, is called as each phase of a training step begins. */
  step: (mark?: (phase: StepPhase) => void) => void;
}

/**
 * The model (random weights; `config`: that checkpoint config's architecture instead of the named
 * variant) and the step benchModel times, so that other benchmarks measure exactly the same work.
 */
export function benchStep(o: ModelBenchOptions): BenchStep {
  manualSeed(0);
  const nl = o.config ? Object.keys(o.config.id2label).length : (o.numLabels ?? BENCH_LABELS);
  const model = o.config ? getFamily(o.config.model_type).build(o.config) : createModel(o.model, Array.from({ length: nl }, (_, i) => `c${i}`));
  const x = randn([o.batch, 3, o.height, o.width]);
  let step: BenchStep['step'];
  if (o.mode === 'infer') {
    model.eval();
    step = () => inferenceMode(() => tidy(() => void model.forward(x)));
  } else {
    model.train();
    const opt = new AdamW(model.parameters(), { lr: 6e-4, betas: [0.9, 0.999], weightDecay: 0.01 });
    const labels = noGrad(() =>
      tidy(() => {
        const l = randint(0, nl, [o.batch, o.height, o.width]);
        return F.where(rand([o.batch, o.height, o.width]).lt(0.05), tensor([255], [], { dtype: 'int64' }), l);
      }),
    );
    const w = tensor(Array.from({ length: nl }, (_, i) => 0.5 + (1.5 * i) / (nl - 1)), [nl]);
    step = (mark) =>
      tidy(() => {
        opt.zeroGrad();
        mark?.('forward');
        const { loss } = model.forward(x, labels, { weight: w, ignoreIndex: 255 });
        mark?.('backward');
        loss!.backward();
        mark?.('optimizer');
        opt.step();
      });
  }
  return { model, step };
}

/** Runs `warmup` untimed steps, then `iters` timed ones: wall and CPU ms (all threads) of each. */
export async function timeSteps(step: () => void, iters: number, warmup: number): Promise<{ times: number[]; cpu: number[] }> {
  for (let i = 0; i < warmup; i++) {
    step();
    await yieldLoop();
  }
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < iters; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    await yieldLoop();
  }
  return { times, cpu };
}

export async function benchModel(o: ModelBenchOptions): Promise<ModelBench> {
  const { model, step } = benchStep(o);
  const iters = o.iters ?? (o.mode === 'infer' ? 10 : 5);
  const warmup = o.warmup ?? (o.mode === 'infer' ? 3 : 2);
  const { times, cpu } = await timeSteps(() => step(), iters, warmup);
  const result: ModelBench = summarizeTimes(o, times, getNumThreads(), cpu);
  if (o.profile) {
    const round = (v: number) => +v.toFixed(1);
    result.profile = profileOps(() => step())
      .ops.slice(0, o.profileRows ?? 25)
      .map((r) => ({ name: r.name, calls: r.calls, selfMs: round(r.selfMs), totalMs: round(r.totalMs) }));
  }
  model.dispose();
  return result;
}

/** The bench JSON from per-step times (ms) and CPU ms (all threads): the median step, images/s, peak RSS, threads. */
export function summarizeTimes(o: Pick<ModelBenchOptions, 'model' | 'mode' | 'batch' | 'height' | 'width'>, times: number[], threads = getNumThreads(), cpu: number[] = []): ModelBench {
  const med = median(times);
  return {
    model: o.model,
    mode: o.mode,
    batch: o.batch,
    height: o.height,
    width: o.width,
    msPerStep: +med.toFixed(1),
    ...(cpu.length ? { cpuMsPerStep: +median(cpu).toFixed(1) } : {}),
    imagesPerSecond: +((1000 * o.batch) / med).toFixed(3),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    threads,
    timesMs: times.map((t) => +t.toFixed(1)),
  };
}

