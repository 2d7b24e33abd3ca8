// SegFormer step timing on random tensors: inference (eval, inference mode) or one training step
// (train mode, upsampled weighted CE with ignored pixels, AdamW), the same work as the PyTorch
// reference's bench.py.
import { AdamW, F, inferenceMode, manualSeed, randn, randint, rand, tensor, tidy, noGrad, getNumThreads } from '../src/torch/index.js';
import { createModel } from '../src/models/index.js';
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
}

export interface ModelBench {
  model: string;
  mode: string;
  batch: number;
  height: number;
  width: number;
  msPerStep: number;
  imagesPerSecond: number;
  peakRssMiB: number;
  threads: number;
  timesMs: number[];
}

const yieldLoop = () => new Promise((r) => setImmediate(r));

export async function benchModel(o: ModelBenchOptions): Promise<ModelBench> {
  manualSeed(0);
  const nl = o.numLabels ?? 11;
  const model = createModel(o.model, Array.from({ length: nl }, (_, i) => `c${i}`));
  const iters = o.iters ?? (o.mode === 'infer' ? 10 : 5);
  const warmup = o.warmup ?? (o.mode === 'infer' ? 3 : 2);
  const x = randn([o.batch, 3, o.height, o.width]);
  let step: () => void;
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
    step = () =>
      tidy(() => {
        opt.zeroGrad();
        const { loss } = model.forward(x, labels, { weight: w, ignoreIndex: 255 });
        loss!.backward();
        opt.step();
      });
  }
  for (let i = 0; i < warmup; i++) {
    step();
    await yieldLoop();
  }
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await yieldLoop();
  }
  model.dispose();
  return summarizeTimes(o, times);
}

/** The bench JSON from per-step times (ms): the median step, images/s, peak RSS, threads. */
export function summarizeTimes(o: Pick<ModelBenchOptions, 'model' | 'mode' | 'batch' | 'height' | 'width'>, times: number[], threads = getNumThreads()): ModelBench {
  const med = median(times);
  return {
    model: o.model,
    mode: o.mode,
    batch: o.batch,
    height: o.height,
    width: o.width,
    msPerStep: +med.toFixed(1),
    imagesPerSecond: +((1000 * o.batch) / med).toFixed(3),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    threads,
    timesMs: times.map((t) => +t.toFixed(1)),
  };
}

export { median };
