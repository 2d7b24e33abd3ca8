// The standard callback set of `streetseg train`, in the order they run (checkpointing last, so that
// `last` holds every other callback's state for the epoch).
import type { Callback } from '../callback.js';
import type { TrainConfig } from '../config.js';
import { CsvLogger } from './csv-logger.js';
import { EarlyStopping } from './early-stopping.js';
import { ModelCheckpoint } from './model-checkpoint.js';
import { ProgressReporter } from './progress.js';
import { ReportWriter } from './report.js';
import { LrMonitor, TensorBoardLogger } from './tensorboard.js';

export { CsvLogger, EarlyStopping, LrMonitor, ModelCheckpoint, ProgressReporter, ReportWriter, TensorBoardLogger };

export function defaultCallbacks(cfg: TrainConfig, progress: 'bar' | 'log' | 'none'): { callbacks: Callback[]; report: ReportWriter; checkpoints: ModelCheckpoint } {
  const csv = new CsvLogger();
  const tb = cfg.tensorboard ? new TensorBoardLogger() : null;
  const report = new ReportWriter(csv);
  const checkpoints = new ModelCheckpoint(cfg.monitor, cfg.mode, cfg.saveTopK, cfg.saveEverySteps);
  const callbacks: Callback[] = [
    ...(cfg.patience > 0 ? [new EarlyStopping(cfg.monitor, cfg.mode, cfg.patience, cfg.minDelta)] : []),
    new ProgressReporter(progress),
    csv,
    ...(tb ? [tb, new LrMonitor(tb)] : []),
    report,
    checkpoints,
  ];
  return { callbacks, report, checkpoints };
}
