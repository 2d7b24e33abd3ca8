// Checkpoints: the top-k by the monitored metric (checkpoints/best-epoch=E-<metric>=V) and `last`, at
// every epoch end and, optionally, every N steps. Each is a complete, atomically written directory. The
// kept list is this callback's state, so it is in every checkpoint: run-dir.ts finds a run's best there.
import { Callback, type EpochSummary, type EvalResult, type FitEnd, type StepInfo, type TrainContext } from '../callback.js';
import { bestCheckpointName, MODEL_CHECKPOINT_STATE, type KeptCheckpoint } from '../run-dir.js';
import { improves, monitoredValue, type MonitorKey } from './monitor.js';

export class ModelCheckpoint extends Callback {
  readonly name = MODEL_CHECKPOINT_STATE;
  private kept: KeptCheckpoint[] = [];

  constructor(
    readonly monitor: MonitorKey,
    readonly mode: 'min' | 'max',
    readonly topK: number,
    readonly everySteps = 0,
  ) {
    super();
  }

  /** The kept best checkpoints, best first. */
  get best(): readonly KeptCheckpoint[] {
    return this.kept;
  }

  override async onValidationEnd(ctx: TrainContext, ev: EvalResult): Promise<void> {
    if (this.topK <= 0) return;
    const v = monitoredValue(ev, this.monitor);
    if (!Number.isFinite(v)) return;
    const worst = this.kept.length < this.topK ? null : this.kept[this.kept.length - 1]!.value;
    if (worst !== null && !improves(v, worst, this.mode)) return;
    const name = bestCheckpointName(ev.epoch, this.monitor, v);
    this.kept.push({ name, value: v, epoch: ev.epoch });
    this.kept.sort((a, b) => (this.mode === 'min' ? a.value - b.value : b.value - a.value));
    const dropped = this.kept.slice(this.topK);
    this.kept = this.kept.slice(0, this.topK);
    await ctx.saveCheckpoint(name);
    // Only after the new one is complete do the displaced ones go.
    for (const d of dropped) if (d.name !== name) ctx.removeCheckpoint(d.name);
    ctx.log(`checkpoint ${name}`);
  }

  override async onTrainBatchEnd(ctx: TrainContext, _info: StepInfo): Promise<void> {
    if (this.everySteps > 0 && ctx.state.step % this.everySteps === 0 && ctx.state.batchInEpoch < ctx.batchesPerEpoch) {
      await ctx.saveCheckpoint('last');
    }
  }

  override async onEpochEnd(ctx: TrainContext, _s: EpochSummary): Promise<void> {
    await ctx.saveCheckpoint('last');
  }

  override onFitEnd(ctx: TrainContext, how: FitEnd): void {
    if (this.kept[0]) ctx.log(`best checkpoint: checkpoints/${this.kept[0].name} (${how})`);
  }

  override stateDict(): KeptCheckpoint[] {
    return this.kept.map((k) => ({ ...k }));
  }
  override loadStateDict(s: unknown): void {
    this.kept = (s as KeptCheckpoint[]).map((k) => ({ ...k }));
  }
}
