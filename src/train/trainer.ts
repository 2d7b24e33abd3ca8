// The fixed training loop. Everything optional (early stopping, checkpoints, logging, progress, the
// report) is a callback (callback.ts); the loop only trains, evaluates when due, and calls them.
//
// Exact resume: a checkpoint holds the weights, the optimizer, libtorch's RNG, the loop position
// (epoch, batch within it, running sums) and every callback's state. The loader's batches are a pure
// function of (seed, epoch, batch index), so `--resume` restarts the same epoch at the same batch and
// reproduces the uninterrupted run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { batchToTensors } from '../data/tensors.js';
import type { SegmentationModel } from '../models/contract.js';
import { loadPretrained } from '../models/hf.js';
import { clipGradNorm, dispose, emptyCache, manualSeed, setRngState, tensor, tidy, type Adam, type Tensor } from '../torch/index.js';
import { native } from '../torch/native.js';
import { writeJsonAtomic } from '../util/fs.js';
import { Callback, type EpochSummary, type EvalResult, type FitEnd, type LoopState, type TrainContext } from './callback.js';
import { findCheckpoint, readTrainerState, saveCheckpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { evaluate } from './evaluate.js';
import { makeLoaders, setupClassWeights, setupData, setupModel, setupOptimizer, type DataSetup } from './setup.js';
import { DistributedDataParallel } from './distributed/ddp.js';
import type { ProcessGroup } from '../torch/distributed.js';

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
  distributed?: { group: ProcessGroup; syncBn?: boolean; bucketBytes?: number };
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
    const cfg = this.config;
    const log = this.opts.log ?? ((l: string) => console.error(l));
    const callbacks = this.opts.callbacks ?? [];
    const names = new Set<string>();
    for (const c of callbacks) {
      if (names.has(c.name)) throw new Error(`two callbacks are called '${c.name}'; their states would collide in checkpoints`);
      names.add(c.name);
    }
    if (cfg.threads > 0) native.setNumThreads(cfg.threads);
    const dist = this.opts.distributed;
    const rank = dist?.group.rank ?? 0;
    const worldSize = dist?.group.size ?? 1;
    const isMain = rank === 0;
    fs.mkdirSync(this.runDir, { recursive: true });
    const ckptDir = path.join(this.runDir, 'checkpoints');
    const resumeFrom = this.opts.resume ? findCheckpoint(ckptDir, 'last') : null;
    if (this.opts.resume && !resumeFrom) throw new Error(`${this.runDir}: nothing to resume (no complete checkpoints/last)`);

    const data: DataSetup = setupData(cfg);
    const weights = await setupClassWeights(cfg, data);
    if (isMain) {
      writeJsonAtomic(path.join(this.runDir, 'config.json'), {
        ...cfg,
        resolved: {
          classes: data.classes,
          classWeightValues: weights,
          trainImages: data.train.samples.length,
          valImages: data.val.samples.length,
          host: os.hostname(),
          node: process.version,
          ...(this.opts.pretrained?.hub ? { pretrained: this.opts.pretrained.hub } : {}),
          ...(dist ? { worldSize, backend: dist.group.backend } : {}),
        },
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
      const saved = readTrainerState(resumeFrom);
      try {
        optimizer.loadStateDict(saved.optimizer);
      } finally {
        dispose([...saved.optimizer.tensors.values()]);
      }
      setRngState(new Uint8Array(Buffer.from(saved.state.rng, 'base64')));
      Object.assign(state, { worldSize: 1, samplesInEpoch: saved.state.loop.batchInEpoch * cfg.batchSize }, saved.state.loop);
      if (state.worldSize !== worldSize) {
        // Another world size: restart at the last batch boundary of the new group at or before the global
        // position (samples of the epoch's order consumed); the running sums shrink in proportion.
        const batch = Math.floor(state.samplesInEpoch / (cfg.batchSize * worldSize));
        const keep = state.batchInEpoch > 0 ? batch / state.batchInEpoch : 0;
        log(`resume: ${state.worldSize} → ${worldSize} processes; epoch ${state.epoch + 1} continues at global sample ${batch * cfg.batchSize * worldSize} of the ${state.samplesInEpoch} done`);
        Object.assign(state, { batchInEpoch: batch, samplesInEpoch: batch * cfg.batchSize * worldSize, epochLossSum: state.epochLossSum * keep, epochImages: state.epochImages * keep, worldSize });
      }
      for (const c of callbacks) if (c.name in saved.state.callbacks) c.loadStateDict(saved.state.callbacks[c.name]);
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
        const dir = path.join(ckptDir, name);
        if (!isMain) return dir; // rank 0 writes for the group
        const states: Record<string, unknown> = {};
        for (const c of callbacks) states[c.name] = c.stateDict();
        saveCheckpoint(dir, model, optimizer, state, states);
        return dir;
      },
      removeCheckpoint: (name) => {
        if (isMain) fs.rmSync(path.join(ckptDir, name), { recursive: true, force: true });
      },
    };

    let how: FitEnd = 'finished';
    let lastEval: EvalResult | null = null;
    const wall0 = performance.now() / 1000 - state.elapsedSeconds;
    const elapsed = (): number => performance.now() / 1000 - wall0;
    try {
      // With the frame cache on, decode every frame before the first epoch (as the PyTorch peer does):
      // the first epoch then does the same work as every other one.
      const t0 = performance.now();
      const decoded = (await loaders.train.prefill()) + (await loaders.val.prefill());
      if (decoded > 0) log(`decoded ${decoded} frames into the frame cache in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      for (const c of callbacks) await c.onFitStart?.(ctx);
      epochs: while (state.epoch < cfg.epochs) {
        const e = state.epoch;
        if (state.batchInEpoch < perEpoch) {
          let tEpoch = performance.now() / 1000;
          for await (const batch of loaders.train.epoch(e, state.batchInEpoch)) {
            const t0 = performance.now() / 1000;
            // The schedule's position is the epoch's place (equal to state.step in a run of one world size), so
            // a resume with another world size keeps the learning rate where the run was in its epochs.
            optimizer.setLrFactor(schedule(e * perEpoch + state.batchInEpoch));
            const { loss, stop } = this.step(model, optimizer, batch, weightT, ddp);
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
            state.elapsedSeconds = elapsed();
            for (const c of callbacks) await c.onTrainBatchEnd?.(ctx, { loss, batch, seconds: now - t0 });
            // Callbacks (step checkpoints) are not training time; the yield is: with `workers: 0` the
            // loader prepares the next batch on this thread there.
            tEpoch = performance.now() / 1000;
            await yieldToLoop();
            // Data-parallel ranks stop on the flag agreed in the step (an interrupt seen here during the
            // callbacks is agreed on at the next step); alone, at once.
            if (ddp ? stop : this.interruptSignal) {
              this.interruptSignal ??= 'SIGTERM'; // another rank was interrupted
              how = 'interrupted';
              break epochs;
            }
            if (cfg.maxSteps > 0 && state.step >= cfg.maxSteps) break;
            if (this.stopReason) break;
          }
        }
        // The training working set, sampled before evaluation empties the allocator's cache.
        const rssMiB = process.memoryUsage.rss() / 2 ** 20;
        const trainLoss = state.batchInEpoch > 0 ? state.epochLossSum / state.batchInEpoch : NaN;
        const lastEpoch = e + 1 === cfg.epochs || (cfg.maxSteps > 0 && state.step >= cfg.maxSteps);
        let ev: EvalResult | null = null;
        if ((e + 1) % cfg.evalEvery === 0 || lastEpoch || this.stopReason) {
          // Evaluation allocates other block sizes than training: hand the allocator's cached blocks back
          // before and after it, so that the process holds one working set at a time (flat RSS).
          emptyCache();
          ev = await evaluate(model, loaders.val, {
            numClasses: data.classes.length,
            ignoreIndex: data.ignoreIndex,
            weight: weightT,
            samples: cfg.reportSamples,
            worst: cfg.reportWorst,
            scales: cfg.evalScales,
            flip: cfg.evalFlip,
            ...(cfg.evalSequence ? { sequence: {} } : {}),
            epoch: e + 1,
            step: state.step,
            ...(ddp ? { sumAcrossRanks: (t: Float64Array) => ddp.sumAcrossRanks(t) } : {}),
          });
          lastEval = ev;
          emptyCache();
          for (const c of callbacks) await c.onValidationEnd?.(ctx, ev);
        }
        const summary: EpochSummary = {
          epoch: e + 1,
          step: state.step,
          trainLoss,
          lr: optimizer.lr,
          epochTrainSeconds: state.epochTrainSeconds,
          trainImagesPerSecond: state.epochImages / Math.max(state.epochTrainSeconds, 1e-9),
          seconds: elapsed(),
          rssMiB,
          eval: ev,
        };
        // The epoch is complete: the position moves on before the callbacks save `last`.
        Object.assign(state, { epoch: e + 1, batchInEpoch: 0, samplesInEpoch: 0, epochLossSum: 0, epochImages: 0, epochTrainSeconds: 0, elapsedSeconds: elapsed() });
        for (const c of callbacks) await c.onEpochEnd?.(ctx, summary);
        if (cfg.maxSteps > 0 && state.step >= cfg.maxSteps) {
          how = 'max-steps';
          break;
        }
        if (this.stopReason) {
          how = 'early-stop';
          log(`stopping: ${this.stopReason}`);
          break;
        }
      }
      if (how === 'interrupted') {
        state.elapsedSeconds = elapsed();
        await ctx.saveCheckpoint('last');
      }
      for (const c of callbacks) await c.onFitEnd?.(ctx, how);
    } finally {
      await loaders.train.close();
      await loaders.val.close();
      weightT?.dispose();
      model.dispose();
      optimizer.dispose();
    }
    return { how, runDir: this.runDir, state: { ...state }, lastEval, classes: data.classes };
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

