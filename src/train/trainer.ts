// The fixed training loop. Everything optional (early stopping, checkpoints, logging, progress, the
// report) is a callback (callback.ts); the loop only trains, evaluates when due, and calls them.
//
// Exact resume: a checkpoint holds the weights, the optimizer, libtorch's RNG, the loop position
// (epoch, batch within it, running sums) and every callback's state. The loader's batches are a pure
// function of (seed, epoch, batch index), so `--resume` restarts the same epoch at the same batch and
// reproduces the uninterrupted run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { DataLoader } from '../data/loader.js';
import { batchToTensors } from '../data/tensors.js';
import type { SegmentationModel } from '../models/contract.js';
import { loadPretrained } from '../models/hf.js';
import { clipGradNorm, emptyCache, getMatmulPrecision, manualSeed, setMatmulPrecision, setNumThreads, tensor, tidy, type Adam, type LrSchedule, type Tensor } from '../torch/index.js';
import type { ProcessGroup } from '../torch/distributed.js';
import { resolveThreads } from '../torch/threads.js';
import { chooseMatmulPrecision } from '../torch/matmul-precision.js';
import { Callback, type EpochSummary, type EvalResult, type FitEnd, type LoopState, type TrainContext } from './callback.js';
import { restoreCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { DistributedDataParallel } from './distributed/ddp.js';
import { evaluate } from './evaluate.js';
import { checkpointPath, lastCheckpoint, writeRunConfig } from './run-dir.js';
import { makeLoaders, setupClassWeights, setupData, setupModel, setupOptimizer, type DataSetup } from './setup.js';

export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
}

export interface TrainOptions {
  /** continue from runDir/checkpoints/last */
  resume?: boolean;
  callbacks?: Callback[];
  log?: (line: string) => void;
  /**
   * Data-parallel training in this process group (src/train/distributed/): this rank trains on its
   * shard, gradients are averaged, and only rank 0 writes (config.json, checkpoints; give the writing
   * callbacks to rank 0 only).
   */
  distributed?: {
    group: ProcessGroup;
    syncBn?: boolean;
    bucketBytes?: number;
    /** the group's processes on this host: they share its cores (resolveThreads) */
    localWorldSize?: number;
  };
  /** cfg.model resolved to a local directory elsewhere (a Hub repo id: its snapshot in the cache, and which commit). */
  pretrained?: { dir: string; hub: { repo: string; revision: string; commit: string } | null };
}

export interface TrainResult {
  how: FitEnd;
  runDir: string;
  state: Required<LoopState>;
  lastEval: EvalResult | null;
  classes: string[];
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Everything one fit runs with: set up by Trainer.prepare, released by teardown. */
interface Run {
  ctx: TrainContext;
  callbacks: Callback[];
  data: DataSetup;
  loaders: { train: DataLoader; val: DataLoader };
  model: SegmentationModel;
  ddp: DistributedDataParallel | null;
  optimizer: Adam;
  schedule: LrSchedule;
  weightT: Tensor | null;
  state: Required<LoopState>;
  perEpoch: number;
  worldSize: number;
  /** wall time of the run so far (s), across resumes */
  elapsed: () => number;
}

async function teardown(run: Run): Promise<void> {
  await run.loaders.train.close();
  await run.loaders.val.close();
  run.weightT?.dispose();
  run.model.dispose();
  run.optimizer.dispose();
}

export class Trainer {
  private stopReason: string | null = null;
  private interruptSignal: NodeJS.Signals | null = null;

  constructor(
    readonly config: TrainConfig,
    readonly runDir: string,
    private readonly opts: TrainOptions = {},
  ) {}

  /** Stops after the current step, saving checkpoints/last (SIGINT / SIGTERM). */
  interrupt(signal: NodeJS.Signals): void {
    this.interruptSignal = signal;
  }
  get interruptedBy(): NodeJS.Signals | null {
    return this.interruptSignal;
  }

  async fit(): Promise<TrainResult> {
    const precision = getMatmulPrecision(); // prepare() sets the run's; the process gets its own back
    const run = await this.prepare().catch((e: unknown) => {
      setMatmulPrecision(precision);
      throw e;
    });
    const { ctx, callbacks, state } = run;
    const cfg = this.config;
    let how: FitEnd = 'finished';
    let lastEval: EvalResult | null = null;
    try {
      // With the frame cache on, decode every frame before the first epoch (as the PyTorch peer does):
      // the first epoch then does the same work as every other one.
      const t0 = performance.now();
      const decoded = (await run.loaders.train.prefill()) + (await run.loaders.val.prefill());
      if (decoded > 0) ctx.log(`decoded ${decoded} frames into the frame cache in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      for (const c of callbacks) await c.onFitStart?.(ctx);
      while (state.epoch < cfg.epochs) {
        if ((await this.runEpoch(run)) === 'interrupted') {
          how = 'interrupted';
          break;
        }
        lastEval = (await this.endEpoch(run)) ?? lastEval;
        if (cfg.maxSteps > 0 && state.step >= cfg.maxSteps) {
          how = 'max-steps';
          break;
        }
        if (this.stopReason) {
          how = 'early-stop';
          ctx.log(`stopping: ${this.stopReason}`);
          break;
        }
      }
      if (how === 'interrupted') {
        state.elapsedSeconds = run.elapsed();
        await ctx.saveCheckpoint('last');
      }
      for (const c of callbacks) await c.onFitEnd?.(ctx, how);
    } finally {
      setMatmulPrecision(precision);
      await teardown(run);
    }
    return { how, runDir: this.runDir, state: { ...state }, lastEval, classes: run.data.classes };
  }

  /**
   * Everything the loop runs with: data, class weights, the run's config.json (rank 0), loaders, model,
   * optimizer, and the state of the checkpoint resumed from. The order is fixed: the model's
   * initialisation draws from the RNG seeded here.
   */
  private async prepare(): Promise<Run> {
    const cfg = this.config;
    const log = this.opts.log ?? ((l: string) => console.error(l));
    const callbacks = this.opts.callbacks ?? [];
    const names = new Set<string>();
    for (const c of callbacks) {
      if (names.has(c.name)) throw new Error(`two callbacks are called '${c.name}'; their states would collide in checkpoints`);
      names.add(c.name);
    }
    const dist = this.opts.distributed;
    setNumThreads(resolveThreads(cfg.threads, dist?.localWorldSize ?? 1));
    const matmul = chooseMatmulPrecision(cfg.matmulPrecision);
    setMatmulPrecision(matmul.precision);
    if ((dist?.group.rank ?? 0) === 0 && cfg.matmulPrecision !== 'highest') log(`matrix products: ${matmul.reason}`);
    const rank = dist?.group.rank ?? 0;
    const worldSize = dist?.group.size ?? 1;
    const isMain = rank === 0;
    fs.mkdirSync(this.runDir, { recursive: true });
    const resumeFrom = this.opts.resume ? lastCheckpoint(this.runDir) : null;
    if (this.opts.resume && !resumeFrom) throw new Error(`${this.runDir}: nothing to resume (no complete checkpoints/last)`);

    const data: DataSetup = setupData(cfg);
    const weights = await setupClassWeights(cfg, data);
    if (isMain) {
      writeRunConfig(this.runDir, cfg, {
        classes: data.classes,
        classWeightValues: weights,
        trainImages: data.train.samples.length,
        valImages: data.val.samples.length,
        host: os.hostname(),
        node: process.version,
        matmulPrecision: matmul.precision,
        ...(this.opts.pretrained?.hub ? { pretrained: this.opts.pretrained.hub } : {}),
        ...(dist ? { worldSize, backend: dist.group.backend } : {}),
      });
    }
    const loaders = makeLoaders(cfg, data, dist ? { rank, worldSize } : undefined);
    const perEpoch = loaders.train.batchesPerEpoch;
    const totalSteps = cfg.maxSteps > 0 ? Math.min(cfg.maxSteps, perEpoch * cfg.epochs) : perEpoch * cfg.epochs;
    manualSeed(cfg.seed);
    const model = resumeFrom ? loadPretrained(resumeFrom, { log }).model : setupModel(cfg, data.classes, log, this.opts.pretrained?.dir);
    model.train();
    const ddp = dist ? new DistributedDataParallel(model, dist.group, { syncBn: dist.syncBn, bucketBytes: dist.bucketBytes }) : null;
    ddp?.broadcastState();
    const { optimizer, schedule } = setupOptimizer(cfg, model, totalSteps);
    const weightT = weights ? tensor(weights, [weights.length]) : null;
    const state: Required<LoopState> = { epoch: 0, step: 0, batchInEpoch: 0, epochLossSum: 0, epochImages: 0, epochTrainSeconds: 0, elapsedSeconds: 0, worldSize, samplesInEpoch: 0 };
    if (resumeFrom) {
      restoreCheckpoint(resumeFrom, { optimizer, state, callbacks, batchSize: cfg.batchSize, worldSize, log });
      log(`resumed from ${resumeFrom}: epoch ${state.epoch + 1}, batch ${state.batchInEpoch}/${perEpoch}, step ${state.step}`);
    }

    const ctx: TrainContext = {
      config: cfg,
      runDir: this.runDir,
      state,
      model,
      classes: data.classes,
      palette: data.palette,
      batchesPerEpoch: perEpoch,
      totalSteps,
      lr: () => optimizer.lr,
      log,
      requestStop: (reason) => {
        this.stopReason = reason;
      },
      saveCheckpoint: async (name) => {
        const dir = checkpointPath(this.runDir, name);
        if (!isMain) return dir; // rank 0 writes for the group
        const states: Record<string, unknown> = {};
        for (const c of callbacks) states[c.name] = c.stateDict();
        saveCheckpoint(dir, model, optimizer, state, states);
        return dir;
      },
      removeCheckpoint: (name) => {
        if (isMain) fs.rmSync(checkpointPath(this.runDir, name), { recursive: true, force: true });
      },
    };
    // wall time goes on from where the resumed run left it
    const wall0 = performance.now() / 1000 - state.elapsedSeconds;
    const elapsed = (): number => performance.now() / 1000 - wall0;
    return { ctx, callbacks, data, loaders, model, ddp, optimizer, schedule, weightT, state, perEpoch, worldSize, elapsed };
  }

  /**
   * Trains the rest of the current epoch (from state.batchInEpoch): until its last batch, max steps, a
   * stop request, or an interrupt ('interrupted').
   */
  private async runEpoch(run: Run): Promise<'interrupted' | null> {
    const cfg = this.config;
    const { ctx, callbacks, state, perEpoch, optimizer, schedule, ddp, worldSize } = run;
    const e = state.epoch;
    if (state.batchInEpoch >= perEpoch) return null;
    let tEpoch = performance.now() / 1000;
    for await (const batch of run.loaders.train.epoch(e, state.batchInEpoch)) {
      const t0 = performance.now() / 1000;
      // The schedule's position is the epoch's place (equal to state.step in a run of one world size), so
      // a resume with another world size keeps the learning rate where the run was in its epochs.
      optimizer.setLrFactor(schedule(e * perEpoch + state.batchInEpoch));
      const { loss, stop } = this.step(run.model, optimizer, batch, run.weightT, ddp);
      if (!Number.isFinite(loss)) {
        throw new NonFiniteLossError(
          `step ${state.step + 1} (epoch ${e + 1}, batch ${state.batchInEpoch + 1}): the loss is ${loss}; batch files: ${batch.ids.join(', ')}. ` +
            'Training stopped; the last good checkpoint is kept (try a lower --lr, or --clip-grad-norm).',
        );
      }
      const now = performance.now() / 1000;
      state.step++;
      state.batchInEpoch++;
      state.samplesInEpoch += cfg.batchSize * worldSize;
      state.epochLossSum += loss;
      state.epochImages += batch.n * worldSize;
      state.epochTrainSeconds += now - tEpoch;
      tEpoch = now;
      state.elapsedSeconds = run.elapsed();
      for (const c of callbacks) await c.onTrainBatchEnd?.(ctx, { loss, batch, seconds: now - t0 });
      // Callbacks (step checkpoints) are not training time; the yield is: with `workers: 0` the
      // loader prepares the next batch on this thread there.
      tEpoch = performance.now() / 1000;
      await yieldToLoop();
      // Data-parallel ranks stop on the flag agreed in the step (an interrupt seen here during the
      // callbacks is agreed on at the next step); alone, at once.
      if (ddp ? stop : this.interruptSignal) {
        this.interruptSignal ??= 'SIGTERM'; // another rank was interrupted
        return 'interrupted';
      }
      if (cfg.maxSteps > 0 && state.step >= cfg.maxSteps) break;
      if (this.stopReason) break;
    }
    return null;
  }

  /**
   * The end of an epoch: evaluation when due, the summary, the position moved on to the next epoch, and
   * the callbacks' onEpochEnd (which save `last`). Returns the evaluation, if there was one.
   */
  private async endEpoch(run: Run): Promise<EvalResult | null> {
    const cfg = this.config;
    const { ctx, callbacks, state, data, ddp } = run;
    const e = state.epoch;
    // The training working set, sampled before evaluation empties the allocator's cache.
    const rssMiB = process.memoryUsage.rss() / 2 ** 20;
    const trainLoss = state.batchInEpoch > 0 ? state.epochLossSum / state.batchInEpoch : NaN;
    const lastEpoch = e + 1 === cfg.epochs || (cfg.maxSteps > 0 && state.step >= cfg.maxSteps);
    let ev: EvalResult | null = null;
    if ((e + 1) % cfg.evalEvery === 0 || lastEpoch || this.stopReason) {
      // Evaluation allocates other block sizes than training: hand the allocator's cached blocks back
      // before and after it, so that the process holds one working set at a time (flat RSS).
      emptyCache();
      // Evaluation computes in float32 whatever the training's matmul precision, so that the run's val
      // figures are the ones `streetseg eval` reproduces from its checkpoints.
      const trainPrecision = getMatmulPrecision();
      setMatmulPrecision('highest');
      ev = await evaluate(run.model, run.loaders.val, {
        numClasses: data.classes.length,
        ignoreIndex: data.ignoreIndex,
        weight: run.weightT,
        samples: cfg.reportSamples,
        worst: cfg.reportWorst,
        scales: cfg.evalScales,
        flip: cfg.evalFlip,
        ...(cfg.evalSequence ? { sequence: {} } : {}),
        epoch: e + 1,
        step: state.step,
        ...(ddp ? { sumAcrossRanks: (t: Float64Array) => ddp.sumAcrossRanks(t) } : {}),
      }).finally(() => setMatmulPrecision(trainPrecision));
      emptyCache();
      for (const c of callbacks) await c.onValidationEnd?.(ctx, ev);
    }
    const summary: EpochSummary = {
      epoch: e + 1,
      step: state.step,
      trainLoss,
      lr: run.optimizer.lr,
      epochTrainSeconds: state.epochTrainSeconds,
      trainImagesPerSecond: state.epochImages / Math.max(state.epochTrainSeconds, 1e-9),
      seconds: run.elapsed(),
      rssMiB,
      eval: ev,
    };
    // The epoch is complete: the position moves on before the callbacks save `last`.
    Object.assign(state, { epoch: e + 1, batchInEpoch: 0, samplesInEpoch: 0, epochLossSum: 0, epochImages: 0, epochTrainSeconds: 0, elapsedSeconds: run.elapsed() });
    for (const c of callbacks) await c.onEpochEnd?.(ctx, summary);
    return ev;
  }

  /**
   * One optimizer step; returns the loss (averaged across ranks) and whether to stop after it (an
   * interrupt here or, data-parallel, on any rank). Every tensor of the step is freed before it returns.
   */
  private step(
    model: SegmentationModel,
    optimizer: Adam,
    batch: Parameters<typeof batchToTensors>[0],
    weight: Tensor | null,
    ddp: DistributedDataParallel | null,
  ): { loss: number; stop: boolean } {
    const cfg = this.config;
    return tidy(() => {
      const { pixelValues, labels } = batchToTensors(batch);
      optimizer.zeroGrad();
      ddp?.beforeForward();
      const { loss } = model.forward(pixelValues, labels, {
        weight,
        ignoreIndex: cfg.ignoreIndex,
        labelSmoothing: cfg.labelSmoothing,
        focalGamma: cfg.loss === 'focal' ? cfg.focalGamma : 0,
      });
      // Every rank must take the same branch below: agree on the loss (and on stopping) first.
      const agreed = ddp ? ddp.agree(loss!.item(), this.interruptSignal !== null) : { loss: loss!.item(), stop: this.interruptSignal !== null };
      if (!Number.isFinite(agreed.loss)) {
        ddp?.syncBn?.clear();
        return agreed;
      }
      loss!.backward();
      ddp?.syncGradients();
      if (cfg.clipGradNorm > 0) clipGradNorm(model.parameters(), cfg.clipGradNorm);
      optimizer.step();
      return agreed;
    });
  }
}

