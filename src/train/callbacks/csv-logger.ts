// metrics.csv: one row per epoch, val columns filled at evaluation epochs (RECIPE.md's columns, plus
// evaluation speed). The rows are callback state, so the file is rewritten whole (atomically) from
// them: a resumed run never duplicates or loses a row. run-dir.ts reads it back.
import { writeFileAtomic } from '../../util/fs.js';
import { Callback, type EpochSummary, type TrainContext } from '../callback.js';
import { runPaths } from '../run-dir.js';

export const CSV_COLUMNS = [
  'epoch',
  'step',
  'train_loss',
  'val_loss',
  'val_miou',
  'val_macc',
  'val_aacc',
  'seconds',
  'lr',
  'epoch_train_s',
  'train_img_s',
  'eval_s',
  'eval_img_s',
  'rss_mib',
] as const;

export type CsvRow = Record<(typeof CSV_COLUMNS)[number], number | null>;

export function summaryRow(s: EpochSummary): CsvRow {
  const e = s.eval;
  return {
    epoch: s.epoch,
    step: s.step,
    train_loss: s.trainLoss,
    val_loss: e ? e.loss : null,
    val_miou: e ? e.metrics.meanIou : null,
    val_macc: e ? e.metrics.meanAccuracy : null,
    val_aacc: e ? e.metrics.overallAccuracy : null,
    seconds: s.seconds,
    lr: s.lr,
    epoch_train_s: s.epochTrainSeconds,
    train_img_s: s.trainImagesPerSecond,
    eval_s: e ? e.seconds : null,
    eval_img_s: e ? e.imagesPerSecond : null,
    rss_mib: s.rssMiB,
  };
}

const fmt = (v: number | null): string => (v === null || Number.isNaN(v) ? '' : Number.isInteger(v) ? String(v) : v.toPrecision(6));

export function formatCsv(rows: readonly CsvRow[]): string {
  return [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => fmt(r[c])).join(','))].join('\n') + '\n';
}

export class CsvLogger extends Callback {
  readonly name = 'csv_logger';
  private rows: CsvRow[] = [];

  get history(): readonly CsvRow[] {
    return this.rows;
  }

  override onFitStart(ctx: TrainContext): void {
    if (this.rows.length) this.write(ctx); // a resumed run drops rows written after its checkpoint
  }

  override onEpochEnd(ctx: TrainContext, s: EpochSummary): void {
    this.rows.push(summaryRow(s));
    this.write(ctx);
  }

  private write(ctx: TrainContext): void {
    writeFileAtomic(runPaths(ctx.runDir).metrics, formatCsv(this.rows));
  }

  override stateDict(): CsvRow[] {
    return this.rows.map((r) => ({ ...r }));
  }
  override loadStateDict(s: unknown): void {
    this.rows = (s as CsvRow[]).map((r) => ({ ...r }));
  }
}
