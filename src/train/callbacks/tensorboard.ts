// TensorBoard scalars (train loss per step, val metrics per evaluation, per-class IoU) and a sample
// prediction image, in real tfevents files under <run>/tensorboard/.
import { TfEventsWriter } from '../tfevents.js';
import { Callback, type EvalResult, type StepInfo, type TrainContext } from '../callback.js';
import { runPaths } from '../run-dir.js';
import { sampleStrip, stripSize } from '../../report/images.js';

export class TensorBoardLogger extends Callback {
  readonly name = 'tensorboard';
  private writer: TfEventsWriter | null = null;

  /** The writer, for other callbacks that log scalars (LrMonitor). Null before the fit starts. */
  get events(): TfEventsWriter | null {
    return this.writer;
  }

  override onFitStart(ctx: TrainContext): void {
    // A resumed run opens a new file; TensorBoard merges every file of the directory.
    // The suffix keeps two starts within one second (a quick resume) from colliding.
    this.writer = new TfEventsWriter(runPaths(ctx.runDir).tensorboard, { filenameSuffix: `.${process.pid}.step${ctx.state.step}` });
  }

  override onTrainBatchEnd(ctx: TrainContext, info: StepInfo): void {
    this.writer?.addScalar('train/loss', info.loss, ctx.state.step);
    this.writer?.addScalar('train/images_per_second', info.batch.n / Math.max(info.seconds, 1e-9), ctx.state.step);
  }

  override async onValidationEnd(ctx: TrainContext, ev: EvalResult): Promise<void> {
    const w = this.writer;
    if (!w) return;
    const step = ctx.state.step;
    w.addScalar('val/loss', ev.loss, step);
    w.addScalar('val/miou', ev.metrics.meanIou, step);
    w.addScalar('val/macc', ev.metrics.meanAccuracy, step);
    w.addScalar('val/aacc', ev.metrics.overallAccuracy, step);
    ev.metrics.perClassIou.forEach((v, i) => {
      if (Number.isFinite(v)) w.addScalar(`val_iou/${ctx.classes[i]}`, v, step);
    });
    const s = ev.samples[0];
    if (s) {
      const png = await sampleStrip(s, ctx.palette, ctx.config.ignoreIndex);
      const { width, height } = stripSize(s);
      w.addImage('val/sample', png, height, width, step);
    }
    w.flush();
  }

  override onFitEnd(): void {
    this.writer?.close();
    this.writer = null;
  }
}

/** Logs the learning rate of each step (Lightning's LearningRateMonitor) to TensorBoard and keeps the last one. */
export class LrMonitor extends Callback {
  readonly name = 'lr_monitor';
  last: number | null = null;
  constructor(private readonly tb: TensorBoardLogger | null) {
    super();
  }
  override onTrainBatchEnd(ctx: TrainContext): void {
    this.last = ctx.lr();
    this.tb?.events?.addScalar('train/lr', this.last, ctx.state.step);
  }
  override stateDict(): { last: number | null } {
    return { last: this.last };
  }
  override loadStateDict(s: unknown): void {
    this.last = (s as { last: number | null }).last;
  }
}
