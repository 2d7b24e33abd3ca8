// Data-parallel benchmark on this machine's cores (docs/distributed.md):
//   node dist/bench/distributed.js [--height 256] [--width 320] [--batch 4] [--steps 4] [--out FILE.json]
// - images/s of SegFormer-B0 training steps (forward, backward, gradient allreduce, AdamW) for 1 process
//   × 2 threads against 2 processes × 1 thread at the same global batch, on random tensors (no loader:
//   the loader's cost is the same either way and is measured by bench train);
// - the time of each phase of a step in the 2-process run, so that what overlapping the allreduce with
//   backward could save is an upper bound from numbers (the engine has no autograd hooks to overlap);
// - allreduce ms of one B0 gradient bucket (all parameters, ~14 MB float32) between 2 processes, alone.
// Prints one JSON object (and writes it to --out).
import { median } from '../src/util/median.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { blasChildEnv } from '../src/torch/blas-core.js';
import { freePort } from '../src/util/net.js';
import { writeJsonAtomic } from '../src/util/fs.js';

interface WorkerOpts {
  height: number;
  width: number;
  batch: number;
  steps: number;
  warmup: number;
  allreduceReps: number;
}

interface WorkerResult {
  rank: number;
  worldSize: number;
  threads: number;
  stepMs: number[];
  phases: { forwardMs: number; backwardMs: number; allreduceMs: number; optimizerMs: number };
  gradientBytes: number;
  buckets: number;
  bucketAllreduceMs: number[] | null;
}

async function worker(o: WorkerOpts): Promise<WorkerResult> {
  const { createModel } = await import('../src/models/index.js');
  const { AdamW, getNumThreads, manualSeed, randn, randint, tidy, tensor } = await import('../src/torch/index.js');
  const { initProcessGroup } = await import('../src/torch/distributed.js');
  const { DistributedDataParallel } = await import('../src/train/distributed/ddp.js');
  const rank = Number(process.env.RANK);
  const worldSize = Number(process.env.WORLD_SIZE);
  const pg = initProcessGroup({ masterAddr: '127.0.0.1', masterPort: Number(process.env.MASTER_PORT), rank, worldSize, timeoutMs: 120_000 });
  manualSeed(rank);
  const classes = Array.from({ length: 12 }, (_, i) => `c${i}`);
  const model = createModel('segformer-b0', classes);
  model.train();
  const ddp = new DistributedDataParallel(model, pg);
  ddp.broadcastState();
  const opt = new AdamW([{ params: model.parameters(), lr: 1e-4 }], { lr: 1e-4 });
  const pixels = randn([o.batch, 3, o.height, o.width]);
  const labels = randint(0, 12, [o.batch, o.height, o.width], { dtype: 'int64' });
  const stepMs: number[] = [];
  const phases = { forwardMs: 0, backwardMs: 0, allreduceMs: 0, optimizerMs: 0 };
  for (let s = 0; s < o.warmup + o.steps; s++) {
    const t: number[] = [performance.now()];
    tidy(() => {
      opt.zeroGrad();
      const { loss } = model.forward(pixels, labels);
      ddp.agree(loss!.item(), false);
      t.push(performance.now());
      loss!.backward();
      t.push(performance.now());
      ddp.syncGradients();
      t.push(performance.now());
      opt.step();
      t.push(performance.now());
    });
    if (s >= o.warmup) {
      stepMs.push(t[4]! - t[0]!);
      phases.forwardMs += (t[1]! - t[0]!) / o.steps;
      phases.backwardMs += (t[2]! - t[1]!) / o.steps;
      phases.allreduceMs += (t[3]! - t[2]!) / o.steps;
      phases.optimizerMs += (t[4]! - t[3]!) / o.steps;
    }
  }
  let bucketAllreduceMs: number[] | null = null;
  if (worldSize > 1) {
    // One flat bucket of every parameter's size, averaged alone (no compute around it).
    const flat = tensor(new Float32Array(ddp.stats.bytesPerStep / 4).fill(rank + 1));
    pg.barrier();
    bucketAllreduceMs = [];
    for (let i = 0; i < o.allreduceReps; i++) {
      const t0 = performance.now();
      pg.allreduce([flat], 'avg');
      bucketAllreduceMs.push(performance.now() - t0);
    }
  }
  const out: WorkerResult = { rank, worldSize, threads: getNumThreads(), stepMs, phases, gradientBytes: ddp.stats.bytesPerStep, buckets: ddp.stats.buckets, bucketAllreduceMs };
  pg.destroy();
  return out;
}

/** Runs `n` workers of this script with `threads` libtorch threads each; returns rank 0's result. */
async function group(n: number, threads: number, o: WorkerOpts): Promise<WorkerResult> {
  const port = await freePort();
  const self = fileURLToPath(import.meta.url);
  const results = await Promise.all(
    Array.from({ length: n }, (_, rank) => {
      const env = { ...blasChildEnv(), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), RANK: String(rank), WORLD_SIZE: String(n), STREETSEG_THREADS: String(threads) };
      const child = spawn(process.execPath, [self, '--worker', JSON.stringify(o)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      return new Promise<WorkerResult>((resolve, reject) =>
        child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as WorkerResult) : reject(new Error(`bench worker ${rank}/${n} exited with ${code}`)))),
      );
    }),
  );
  return results[0]!;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

async function main(argv: string[]): Promise<void> {
  const wi = argv.indexOf('--worker');
  if (wi >= 0) {
    process.stdout.write(JSON.stringify(await worker(JSON.parse(argv[wi + 1]!) as WorkerOpts)) + '\n');
    return;
  }
  const arg = (name: string, d: number): number => {
    const i = argv.indexOf(`--${name}`);
    const v = i >= 0 ? Number(argv[i + 1]) : d;
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} ${argv[i + 1]}: expected a positive integer`);
    return v;
  };
  const oi = argv.indexOf('--out');
  const outFile = oi >= 0 ? argv[oi + 1] : undefined;
  const height = arg('height', 256);
  const width = arg('width', 320);
  const batch = arg('batch', 4);
  if (batch % 2) throw new Error(`--batch ${batch}: expected an even global batch (split over 2 processes)`);
  const base = { height, width, steps: arg('steps', 4), warmup: 1, allreduceReps: arg('reps', 10) };
  const one = await group(1, 2, { ...base, batch });
  const two = await group(2, 1, { ...base, batch: batch / 2 });
  const ips = (r: WorkerResult, perProc: number) => (perProc * r.worldSize * 1000) / median(r.stepMs);
  const result = {
    model: 'segformer-b0 (12 classes)',
    input: `${height}x${width}`,
    globalBatch: batch,
    steps: base.steps,
    oneProcess: { processes: 1, threads: one.threads, batch, stepMs: r2(median(one.stepMs)), imagesPerSecond: r2(ips(one, batch)), phasesMs: mapR(one.phases) },
    twoProcesses: {
      processes: 2,
      threadsEach: two.threads,
      batchEach: batch / 2,
      stepMs: r2(median(two.stepMs)),
      imagesPerSecond: r2(ips(two, batch / 2)),
      phasesMs: mapR(two.phases),
    },
    gradients: { bytes: one.gradientBytes, mib: r2(one.gradientBytes / 2 ** 20), buckets25MB: one.buckets },
    allreduce: { msPerStepInTraining: r2(two.phases.allreduceMs), msAloneMedian: r2(median(two.bucketAllreduceMs!)), msAloneMin: r2(Math.min(...two.bucketAllreduceMs!)) },
    overlap: {
      // Overlap could at best hide the allreduce behind backward: the step would shrink by at most this.
      bestCaseSavingPercent: r2((100 * Math.min(two.phases.allreduceMs, two.phases.backwardMs)) / median(two.stepMs)),
      note: 'upper bound; on these shared cores Gloo\'s threads would compete with backward\'s for the same CPUs',
    },
  };
  const json = JSON.stringify(result, null, 2);
  if (outFile) writeJsonAtomic(outFile, result);
  process.stdout.write(json + '\n');
}

function mapR(p: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, r2(v)]));
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`bench distributed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});

