// Progress: a live bar on a TTY (epoch, step, loss, images/s, ETA), plain log lines otherwise, or nothing.
import cliProgress from 'cli-progress';
import { Callback, type EpochSummary, type EvalResult, type FitEnd, type StepInfo, type TrainContext } from '../callback.js';

const f4 = (v: number): string => (Number.isFinite(v) ? v.toFixed(4) : 'n/a');

export class ProgressReporter extends Callback {
  readonly name = 'progress';
  private bar: cliProgress.SingleBar | null = null;
  private ema: number | null = null;
  private lastLog = 0;

  constructor(
    readonly mode: 'bar' | 'log' | 'none',
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    super();
  }

  override onFitStart(ctx: TrainContext): void {
    if (this.mode === 'none') return;
    const c = ctx.config;
    ctx.log(`training ${c.model} on ${c.data}: ${ctx.batchesPerEpoch} batches of ${c.batchSize} per epoch, ${ctx.totalSteps} steps, run ${ctx.runDir}`);
    if (this.mode === 'bar') {
      this.bar = new cliProgress.SingleBar(
        { stream: this.stream, format: 'epoch {ep} [{bar}] {value}/{total} step {step} | loss {loss} | {ips} img/s | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
    }
  }

  override onTrainBatchEnd(ctx: TrainContext, info: StepInfo): void {
    const ips = info.batch.n / Math.max(info.seconds, 1e-9);
    this.ema = this.ema === null ? ips : 0.9 * this.ema + 0.1 * ips;
    const s = ctx.state;
    const payload = { ep: `${s.epoch + 1}/${ctx.config.epochs}`, step: s.step, loss: info.loss.toFixed(4), ips: this.ema.toFixed(2) };
    if (this.bar) {
      if (s.batchInEpoch === 1 || !this.bar.getTotal()) this.bar.start(ctx.batchesPerEpoch, s.batchInEpoch, payload);
      else this.bar.update(s.batchInEpoch, payload);
    } else if (this.mode === 'log') {
      const now = Date.now();
      if (now - this.lastLog > 30_000 || s.batchInEpoch === ctx.batchesPerEpoch) {
        this.lastLog = now;
        ctx.log(`epoch ${payload.ep} batch ${s.batchInEpoch}/${ctx.batchesPerEpoch} step ${s.step} loss ${payload.loss} ${payload.ips} img/s`);
      }
    }
  }

  override onValidationEnd(ctx: TrainContext, ev: EvalResult): void {
    this.bar?.stop();
    if (this.mode === 'none') return;
    ctx.log(`eval epoch ${ev.epoch}: loss ${f4(ev.loss)} mIoU ${f4(ev.metrics.meanIou)} mAcc ${f4(ev.metrics.meanAccuracy)} aAcc ${f4(ev.metrics.overallAccuracy)} (${ev.numImages} images, ${ev.imagesPerSecond.toFixed(1)} img/s)`);
  }

  override onEpochEnd(ctx: TrainContext, s: EpochSummary): void {
    this.bar?.stop();
    if (this.mode === 'none') return;
    ctx.log(`epoch ${s.epoch}/${ctx.config.epochs} done: train loss ${f4(s.trainLoss)}, ${s.epochTrainSeconds.toFixed(1)} s (${s.trainImagesPerSecond.toFixed(2)} img/s), lr ${s.lr.toExponential(2)}`);
  }

  override onFitEnd(_ctx: TrainContext, _how: FitEnd): void {
    this.bar?.stop();
    this.bar = null;
  }
}
