// Writes <run>/report/index.html at every evaluation and at the end of the fit.
import * as path from 'node:path';
import { writeReport } from '../../report/index.js';
import type { ReportData } from '../../report/types.js';
import { Callback, type EvalResult, type FitEnd, type TrainContext } from '../callback.js';
import { runPaths } from '../run-dir.js';
import type { CsvLogger } from './csv-logger.js';

export class ReportWriter extends Callback {
  readonly name = 'report';
  private lastEval: EvalResult | null = null;
  private status = 'training';
  path: string | null = null;

  constructor(private readonly csv: CsvLogger) {
    super();
  }

  override async onValidationEnd(ctx: TrainContext, ev: EvalResult): Promise<void> {
    this.lastEval = ev;
    this.status = `evaluated at epoch ${ev.epoch}/${ctx.config.epochs}`;
    await this.write(ctx);
  }

  override async onFitEnd(ctx: TrainContext, how: FitEnd): Promise<void> {
    this.status = how === 'finished' ? 'finished' : how === 'early-stop' ? `stopped early at epoch ${ctx.state.epoch}` : how === 'max-steps' ? `stopped at max steps (${ctx.state.step})` : 'interrupted';
    await this.write(ctx);
  }

  private async write(ctx: TrainContext): Promise<void> {
    const rows = this.csv.history;
    const ev = this.lastEval;
    const lastRow = rows[rows.length - 1];
    const data: ReportData = {
      title: path.basename(path.resolve(ctx.runDir)),
      config: ctx.config,
      history: rows.map((r) => ({ ...r })),
      eval: ev
        ? {
            classes: ctx.classes,
            perClassIou: ev.metrics.perClassIou,
            perClassAccuracy: ev.metrics.perClassAccuracy,
            meanIou: ev.metrics.meanIou,
            meanAccuracy: ev.metrics.meanAccuracy,
            overallAccuracy: ev.metrics.overallAccuracy,
            loss: ev.loss,
            numImages: ev.numImages,
            confusion: Array.from(ev.confusion),
            epoch: ev.epoch,
            step: ev.step,
            ...(ev.temporal ? { temporal: { flicker: ev.temporal.flicker, consistency: ev.temporal.consistency, labelFlicker: ev.temporal.labelFlicker, pairs: ev.temporal.pairs, smooth: ev.temporal.smooth, perPair: ev.temporal.perPair } } : {}),
          }
        : undefined,
      samples: ev?.samples ?? [],
      worst: ev?.worst ?? [],
      palette: ctx.palette,
      ignoreIndex: ctx.config.ignoreIndex,
      timing: {
        trainImagesPerSecond: lastRow?.train_img_s ?? undefined,
        evalImagesPerSecond: ev?.imagesPerSecond,
        secondsPerEpoch: lastRow?.epoch_train_s ?? undefined,
        totalSeconds: ctx.state.elapsedSeconds,
      },
      status: this.status,
    };
    this.path = await writeReport(runPaths(ctx.runDir).report, data);
  }
}
