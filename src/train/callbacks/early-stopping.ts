// Early stopping (Lightning's EarlyStopping): stop when the monitored metric has not improved by more
// than minDelta for `patience` evaluations in a row.
import { Callback, type EvalResult, type TrainContext } from '../callback.js';
import { improves, monitoredValue, type MonitorKey } from './monitor.js';

interface State {
  best: number | null;
  wait: number;
  stoppedEpoch: number | null;
}

export class EarlyStopping extends Callback {
  readonly name = 'early_stopping';
  private s: State = { best: null, wait: 0, stoppedEpoch: null };

  constructor(
    readonly monitor: MonitorKey,
    readonly mode: 'min' | 'max',
    readonly patience: number,
    readonly minDelta = 0,
  ) {
    super();
    if (!(patience >= 1)) throw new RangeError(`EarlyStopping: patience must be >= 1, got ${patience}`);
  }

  get best(): number | null {
    return this.s.best;
  }
  get wait(): number {
    return this.s.wait;
  }

  override onValidationEnd(ctx: TrainContext, ev: EvalResult): void {
    const v = monitoredValue(ev, this.monitor);
    if (improves(v, this.s.best, this.mode, this.minDelta)) {
      this.s.best = v;
      this.s.wait = 0;
      return;
    }
    this.s.wait++;
    if (this.s.wait >= this.patience) {
      this.s.stoppedEpoch = ev.epoch;
      ctx.requestStop(`${this.monitor} did not improve on ${this.s.best?.toFixed(4)} for ${this.s.wait} evaluations (patience ${this.patience})`);
    }
  }

  override stateDict(): State {
    return { ...this.s };
  }
  override loadStateDict(s: unknown): void {
    this.s = { ...(s as State) };
  }
}
