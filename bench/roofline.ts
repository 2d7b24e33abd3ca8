// The roofline of a training step (issue #26): how far the measured step is from the time its GEMM work
// alone would take at this machine's GEMM rate, and where the rest goes. For each model: the FLOPs of one
// step counted from the executed graph (src/torch/flops.ts), the sgemm rate (and the rate at the model's
// own dominant GEMM shapes, replayed alone), the step time (bench model's train step, benchStep), and the
// profiled step's operators (median of 3 steps) split into GEMM-type, memory-bound and dispatch-only time.
import * as path from 'node:path';
import { callOp, getNumThreads, noGrad, profileOps, randn, tidy, type OpProfileRow, type Tensor } from '../src/torch/index.js';
import { countFlops, type ArgSpec, type FlopCount, type GemmShape, type TensorSpec } from '../src/torch/flops.js';
import { native } from '../src/torch/native.js';
import { readConfig } from '../src/models/index.js';
import { median } from '../src/util/median.js';
import { repoRoot } from '../src/util/paths.js';
import { sgemmRate, timeMs } from './engine.js';
import { benchStep, timeSteps, type ModelBenchOptions } from './model.js';

export type OpClass = 'gemm' | 'memory' | 'dispatch';

// The GEMM-type rows of libtorch 1.13's CPU profile: the entry points, the kernels they reach (OpenBLAS
// through mm/addmm/bmm, oneDNN through mkldnn_convolution, im2col GEMMs through slow_conv*), their
// backward kernels and autograd nodes. Entry points mostly show as inclusive time; their self time is
// their own argument handling, which belongs to the GEMM all the same.
const GEMM_ATEN = /^aten::(mm|addmm|bmm|baddbmm|addbmm|matmul|linear|mv|addmv_?|dot|vdot|outer|ger|conv2d|convolution|_convolution|convolution_backward|mkldnn_convolution(_backward.*)?|_slow_conv2d_(forward|backward)|slow_conv.*|thnn_conv.*|_nnpack_spatial_convolution|mkldnn_linear.*)$/;
const GEMM_NODE = /^(autograd::engine::evaluate_function: )?(Addmm|Mm|Bmm|Baddbmm|Addbmm|Mv|Addmv|Dot|Outer|Convolution|MkldnnConvolution|SlowConv2D|SlowConvDilated2D|Linear|Matmul)Backward\d*$/;
// Rows that move no data: views and metadata, allocation, autograd's own wrappers. They are not
// memory-bound work but dispatch cost, and stay out of both shares' numerators.
const DISPATCH = new Set([
  'view', 'reshape', '_reshape_alias', '_unsafe_view', 'as_strided', 'as_strided_', 'select', 'slice', 'narrow', 'permute', 'transpose', 't',
  'expand', 'unsqueeze', 'squeeze', 'flatten', 'unflatten', 'alias', 'detach', 'detach_', 'resolve_conj', 'resolve_neg', 'lift_fresh', 'split', 'chunk',
  'empty', 'empty_like', 'empty_strided', 'new_empty_strided', 'resize_', 'resize_as_', 'to', 'contiguous', 'unbind', 'split_with_sizes',
]);

/**
 * GEMM-type (conv, mm, addmm, bmm, matmul, their backward kernels and nodes), dispatch (views, metadata,
 * allocation and autograd's per-node wrappers: no data moved) or memory-bound (the rest: elementwise,
 * norms, softmax, copies, reductions, upsampling, loss, RNG draws, the optimizer's updates).
 */
export function classifyOp(name: string): OpClass {
  if (GEMM_ATEN.test(name) || GEMM_NODE.test(name)) return 'gemm';
  if (name === 'detach' || (name.startsWith('aten::') && DISPATCH.has(name.slice(6)))) return 'dispatch';
  // Autograd's wrapper rows and view nodes cost only their own bookkeeping; the kernels they run are rows of their own.
  if (name.startsWith('autograd::engine::evaluate_function: ')) return 'dispatch';
  if (/^(View|Reshape|ReshapeAlias|UnsafeView|Permute|Transpose|T|Expand|Select|Slice|Squeeze|Unsqueeze|Split|Alias)Backward\d*$/.test(name)) return 'dispatch';
  return 'memory';
}

export interface ProfileSplit {
  /** Σ self ms of every row (a profiled step; profiling itself adds a little). */
  profiledMs: number;
  ms: Record<OpClass, number>;
  share: Record<OpClass, number>;
  topMemory: TopRow[];
  topGemm: TopRow[];
}
type TopRow = { name: string; calls: number; selfMs: number; share: number };

const r1 = (v: number) => +v.toFixed(1);
const r3 = (v: number) => +v.toFixed(3);

/** The profile's rows by class: time and share of the profiled total, and the top rows of two classes. */
export function splitProfile(rows: OpProfileRow[], top = 10): ProfileSplit {
  const ms: Record<OpClass, number> = { gemm: 0, memory: 0, dispatch: 0 };
  for (const r of rows) ms[classifyOp(r.name)] += r.selfMs;
  const total = ms.gemm + ms.memory + ms.dispatch;
  const share = (v: number) => (total > 0 ? r3(v / total) : 0);
  const pick = (c: OpClass) =>
    rows
      .filter((r) => classifyOp(r.name) === c)
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top)
      .map((r) => ({ name: r.name, calls: r.calls, selfMs: r1(r.selfMs), share: share(r.selfMs) }));
  return {
    profiledMs: r1(total),
    ms: { gemm: r1(ms.gemm), memory: r1(ms.memory), dispatch: r1(ms.dispatch) },
    share: { gemm: share(ms.gemm), memory: share(ms.memory), dispatch: share(ms.dispatch) },
    topMemory: pick('memory'),
    topGemm: pick('gemm'),
  };
}

/** One row per op name over several profiles of the same step: the median calls and self / total ms (absent = 0). */
export function medianRows(profiles: OpProfileRow[][]): OpProfileRow[] {
  const names = new Set(profiles.flatMap((p) => p.map((r) => r.name)));
  const pick = (name: string, f: (r: OpProfileRow) => number) => median(profiles.map((p) => { const r = p.find((x) => x.name === name); return r ? f(r) : 0; }));
  return [...names]
    .map((name) => ({ name, calls: pick(name, (r) => r.calls), selfMs: pick(name, (r) => r.selfMs), totalMs: pick(name, (r) => r.totalMs) }))
    .sort((a, b) => b.selfMs - a.selfMs);
}

function makeTensor(s: TensorSpec, leaves: Tensor[]): Tensor {
  const swapped = s.layout === 'transposed' ? [...s.shape.slice(0, -2), s.shape[s.shape.length - 1]!, s.shape[s.shape.length - 2]!] : s.shape;
  let leaf = randn(swapped);
  if (s.layout === 'channels_last') leaf = leaf.contiguous('channels_last');
  if (s.requiresGrad) leaves.push(leaf.setRequiresGrad());
  return s.layout === 'transposed' ? leaf.transpose(-1, -2) : leaf;
}

function makeArg(a: ArgSpec, leaves: Tensor[]): unknown {
  if ('tensor' in a) return makeTensor(a.tensor, leaves);
  if ('tensors' in a) return a.tensors.map((t) => makeTensor(t, leaves));
  return a.value;
}

export interface ShapeRate {
  op: string;
  shapes: string;
  calls: number;
  /** This shape's share of the step's GEMM FLOPs (forward + backward, all its calls). */
  flopShare: number;
  fwdGflops: number;
  fwdBwdGflops: number | null;
  /** A strided operand was replayed contiguous (the step's copy into a contiguous buffer is then not timed). */
  replayedContiguous: boolean;
}

/** The GEMM rate of one recorded call shape, replayed alone on random tensors: forward, and forward + backward. */
export function shapeRate(s: GemmShape, totalFlops: number, iters = 5): ShapeRate {
  const fwd = s.fwdFlops / s.calls;
  const all = [...s.args, ...Object.values(s.kwargs)];
  const tensors = all.flatMap((a) => ('tensor' in a ? [a.tensor] : 'tensors' in a ? a.tensors : []));
  return tidy(() => {
    const leaves: Tensor[] = [];
    const args = s.args.map((a) => makeArg(a, leaves));
    const kwargs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(s.kwargs)) kwargs[k] = makeArg(v, leaves);
    const call = () => callOp(s.op, args, kwargs) as Tensor;
    const tf = median(timeMs(() => noGrad(() => tidy(() => void call())), iters, 1));
    const g = noGrad(() => randn(call().shape));
    // A call under noGrad in the step (no operand takes grads) has no backward to time.
    const tb = leaves.length === 0 ? NaN : median(
      timeMs(() => tidy(() => {
        for (const l of leaves) l.grad = null;
        call().backward(g);
      }), iters, 1),
    );
    return {
      op: s.op,
      shapes: tensors.map((t) => t.shape.join('x') + (t.layout === 'contiguous' ? '' : ` (${t.layout})`)).join(', '),
      calls: s.calls,
      flopShare: r3((s.fwdFlops + s.bwdFlops) / totalFlops),
      fwdGflops: r1(fwd / tf / 1e6),
      fwdBwdGflops: leaves.length === 0 ? null : r1(((1 + s.gradOperands) * fwd) / tb / 1e6),
      replayedContiguous: tensors.some((t) => t.layout === 'strided'),
    };
  });
}

export interface RooflineModel {
  name: string;
  model: string;
  config?: string;
  batch: number;
  height: number;
  width: number;
  gflop: {
    forward: { gemm: number; other: number };
    backward: { gemm: number; other: number };
    total: { gemm: number; other: number };
    byOp: Record<string, { calls: number; forward: number; backward: number }>;
    /** GEMM calls whose input takes no gradient (backward 1×): the stem conv on the data. */
    noGradInput: string[];
  };
  /** Bytes the non-GEMM ops read and write, forward and optimizer (autograd's backward is not observable from here). */
  otherGB: { forward: number; optimizer: number; topForward: { op: string; calls: number; gb: number }[] };
  shapeRates: ShapeRate[];
  step: { msPerStep: number; timesMs: number[]; cpuMsPerStep: number };
  profile: ProfileSplit & { wallMs: number; outsideOpsMs: number; stepsProfiled: number };
  roofline: {
    gemmGflopPerStep: number;
    gemmRateGflops: number;
    floorMs: number;
    measuredMs: number;
    ratio: number;
    memoryBoundShare: number;
    gemmAchievedGflops: number;
    /** The floor again with the replayed shapes at their own forward + backward rate (the rest at the sgemm rate). */
    floorAtShapeRatesMs: number;
    shapesFlopShare: number;
  };
}

const gf = (f: number) => r3(f / 1e9);

/** The FLOP summary of a count: GFLOP by direction and class, per op, and the calls without an input grad. */
export function flopSummary(c: FlopCount): RooflineModel['gflop'] {
  // "Other" FLOPs are one per output element; backward is taken as twice the forward phase's (an estimate: not observable).
  const fwdOther = c.phases.forward?.otherFlops ?? 0;
  const optOther = c.phases.optimizer?.otherFlops ?? 0;
  const byOp: RooflineModel['gflop']['byOp'] = {};
  for (const s of c.shapes) {
    const o = (byOp[s.op] ??= { calls: 0, forward: 0, backward: 0 });
    o.calls += s.calls;
    o.forward += s.fwdFlops;
    o.backward += s.bwdFlops;
  }
  for (const o of Object.values(byOp)) Object.assign(o, { forward: gf(o.forward), backward: gf(o.backward) });
  return {
    forward: { gemm: gf(c.gemm.fwd), other: gf(fwdOther) },
    backward: { gemm: gf(c.gemm.bwd), other: gf(2 * fwdOther) },
    total: { gemm: gf(c.gemm.fwd + c.gemm.bwd), other: gf(3 * fwdOther + optOther) },
    byOp,
    noGradInput: c.shapes.filter((s) => s.gradOperands === 1).map((s) => `${s.op} ${s.args.flatMap((a) => ('tensor' in a ? [a.tensor.shape.join('x')] : [])).join(', ')}`),
  };
}

export interface RooflineOptions {
  iters?: number;
  warmup?: number;
  /** Dominant GEMM shapes replayed alone (largest FLOPs first). */
  shapes?: number;
  /** Steps profiled; each row's median self time is reported. */
  profileSteps?: number;
  /** The sgemm shape (m, k, n) whose rate sets the floor. */
  sgemm?: [number, number, number];
}

/** One model's roofline: FLOPs from the graph, step time, profile split, floor at `rate` GFLOP/s. */
export async function rooflineModel(name: string, o: ModelBenchOptions, rate: number, ro: RooflineOptions = {}): Promise<RooflineModel> {
  const { model, step } = benchStep(o);
  try {
    const { times, cpu } = await timeSteps(() => step(), ro.iters ?? 5, ro.warmup ?? 2);
    // Counted on a step of its own: the observer's shape reads would otherwise sit inside the timing.
    const { count } = countFlops((mark) => step(mark));
    // Several profiled steps, each row's median self time kept: on a shared machine one step's op can
    // catch another job's burst (a 10 ms kernel taking 70), which would skew the shares.
    const runs = Array.from({ length: ro.profileSteps ?? 3 }, () => {
      const t0 = process.hrtime.bigint();
      const { ops } = profileOps(() => step());
      return { ops, wallMs: Number(process.hrtime.bigint() - t0) / 1e6 };
    });
    const split = splitProfile(medianRows(runs.map((r) => r.ops)));
    const wallMs = median(runs.map((r) => r.wallMs));
    const gemm = count.gemm.fwd + count.gemm.bwd;
    const measuredMs = median(times);
    const floorMs = gemm / rate / 1e6;
    const shapeRates = count.shapes.slice(0, ro.shapes ?? 8).map((s) => shapeRate(s, gemm));
    let covered = 0;
    let shapeMs = 0;
    shapeRates.forEach((r, i) => {
      const s = count.shapes[i]!;
      if (r.fwdBwdGflops === null) return;
      covered += s.fwdFlops + s.bwdFlops;
      shapeMs += (s.fwdFlops + s.bwdFlops) / r.fwdBwdGflops / 1e6;
    });
    const floorAtShapeRatesMs = shapeMs + (gemm - covered) / rate / 1e6;
    return {
      name,
      model: o.model,
      ...(o.config ? { config: name } : {}),
      batch: o.batch,
      height: o.height,
      width: o.width,
      gflop: flopSummary(count),
      otherGB: {
        forward: gf(count.phases.forward?.otherBytes ?? 0),
        optimizer: gf(count.phases.optimizer?.otherBytes ?? 0),
        topForward: count.otherOps.slice(0, 8).map((x) => ({ op: x.op, calls: x.calls, gb: gf(x.bytes) })),
      },
      shapeRates,
      step: { msPerStep: r1(measuredMs), timesMs: times.map(r1), cpuMsPerStep: r1(median(cpu)) },
      // outsideOpsMs: the profiled step's wall time that no op row holds (TypeScript, N-API, the event loop).
      profile: { ...split, wallMs: r1(wallMs), outsideOpsMs: r1(wallMs - split.profiledMs), stepsProfiled: runs.length },
      roofline: {
        gemmGflopPerStep: gf(gemm),
        gemmRateGflops: rate,
        floorMs: r1(floorMs),
        measuredMs: r1(measuredMs),
        ratio: +(measuredMs / floorMs).toFixed(2),
        memoryBoundShare: split.share.memory,
        gemmAchievedGflops: r1(gemm / split.ms.gemm / 1e6),
        floorAtShapeRatesMs: r1(floorAtShapeRatesMs),
        shapesFlopShare: r3(covered / gemm),
      },
    };
  } finally {
    model.dispose();
  }
}

/** The two models of issue #26: SegFormer-B0 as bench model trains it, and the zoo's camvid-best at its recipe's shape. */
export function rooflineTargets(): { name: string; o: ModelBenchOptions }[] {
  return [
    { name: 'segformer-b0', o: { model: 'b0', mode: 'train', batch: 8, height: 360, width: 480 } },
    // The camvid-best preset (src/train/presets.ts): batch 8 at 180×240, the checkpoint's architecture (output stride 8).
    { name: 'camvid-best', o: { model: 'mobilevit-xxs', mode: 'train', batch: 8, height: 180, width: 240, config: readConfig(path.join(repoRoot, 'models', 'camvid-best')) } },
  ];
}

export async function benchRoofline(ro: RooflineOptions & { models?: string[] } = {}): Promise<Record<string, unknown>> {
  const [m, k, n] = ro.sgemm ?? [2048, 2048, 2048];
  const sgemm = sgemmRate(m, k, n);
  const targets = rooflineTargets().filter((t) => !ro.models || ro.models.includes(t.name));
  const models: RooflineModel[] = [];
  for (const t of targets) models.push(await rooflineModel(t.name, t.o, sgemm.gflops, ro));
  // Again at the end: a rate that moved says the machine's load changed while the models ran.
  const sgemmAfter = sgemmRate(m, k, n);
  return { threads: getNumThreads(), blasCore: native.blasProbe().corename, sgemm, sgemmAfter, models };
}
