// The training loop is fixed (trainer.ts); everything optional hangs off it as a callback, Lightning
// style. Each callback owns its state: stateDict() goes into every checkpoint and loadStateDict()
// restores it on --resume, so no flag is threaded through the loop that a callback could own.
import type { Batch } from '../data/loader.js';
import type { SegMetrics } from '../metrics/miou.js';
import type { ReportSample } from '../report/types.js';
import type { SegmentationModel } from '../models/contract.js';
import type { StreamResult } from '../temporal/index.js';
import type { TrainConfig } from './config.js';

/** Where the loop is; saved in checkpoints so that a resumed run continues exactly here. */
export interface LoopState {
  /** the current (or next) epoch, 0-based */
  epoch: number;
  /** optimizer steps done */
  step: number;
  /** batches of `epoch` done (the loader restarts from here on resume) */
  batchInEpoch: number;
  /** running sums of the current epoch */
  epochLossSum: number;
  epochImages: number;
  epochTrainSeconds: number;
  /** wall time of the whole run, evaluations included, across resumes */
  elapsedSeconds: number;
  /**
   * Data-parallel position: the number of processes that trained, and the samples of `epoch` consumed
   * by all of them together (batchInEpoch × batchSize × worldSize), so that a resume with another
   * world size restarts at the same place in the epoch's global order (src/train/distributed/).
   */
  worldSize?: number;
  samplesInEpoch?: number;
}

export interface EvalResult {
  epoch: number;
  step: number;
  loss: number;
  metrics: SegMetrics;
  confusion: Float64Array;
  numImages: number;
  seconds: number;
  imagesPerSecond: number;
  perImage: { id: string; miou: number }[];
  samples: ReportSample[];
  worst: ReportSample[];
  /** over a video split (evaluate's `sequence`): flicker and consistency of consecutive frames */
  temporal?: StreamResult;
}

export interface EpochSummary {
  epoch: number;
  step: number;
  trainLoss: number;
  lr: number;
  epochTrainSeconds: number;
  trainImagesPerSecond: number;
  /** cumulative wall time, evaluations included */
  seconds: number;
  /** resident set size after the epoch's last step, before evaluation (MiB): the training working set, to show it stays flat */
  rssMiB: number;
  eval: EvalResult | null;
}

export interface TrainContext {
  readonly config: TrainConfig;
  readonly runDir: string;
  readonly state: LoopState;
  readonly model: SegmentationModel;
  readonly classes: string[];
  readonly palette: [number, number, number][];
  readonly batchesPerEpoch: number;
  readonly totalSteps: number;
  /** current learning rate of the first parameter group */
  lr(): number;
  log(line: string): void;
  /** Asks the loop to stop after the current step or epoch (early stopping). */
  requestStop(reason: string): void;
  /** Writes checkpoints/<name>/ (HF directory + trainer state) atomically. */
  saveCheckpoint(name: string): Promise<string>;
  /** Deletes a checkpoint directory written by saveCheckpoint. */
  removeCheckpoint(name: string): void;
}

export interface StepInfo {
  loss: number;
  batch: Batch;
  seconds: number;
}

export type FitEnd = 'finished' | 'max-steps' | 'early-stop' | 'interrupted';

export abstract class Callback {
  abstract readonly name: string;
  onFitStart?(ctx: TrainContext): void | Promise<void>;
  onTrainBatchEnd?(ctx: TrainContext, info: StepInfo): void | Promise<void>;
  onValidationEnd?(ctx: TrainContext, result: EvalResult): void | Promise<void>;
  onEpochEnd?(ctx: TrainContext, summary: EpochSummary): void | Promise<void>;
  onFitEnd?(ctx: TrainContext, how: FitEnd): void | Promise<void>;
  stateDict(): unknown {
    return null;
  }
  loadStateDict(_state: unknown): void {}
}
