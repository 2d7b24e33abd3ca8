// Latency of one repeated step: untimed warm-up runs, then timed runs; the median is the figure (robust
// to the odd descheduled run on a shared machine). The event loop gets a turn between runs so that Node
// can finalise freed tensor handles (see docs/architecture.md, Memory).
import { median } from '../util/median.js';

export interface Timing {
  /** Median of the timed runs, ms. */
  medianMs: number;
  /** Every timed run, ms, in order. */
  timesMs: number[];
}

const yieldLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

export async function timeSteps(step: () => unknown, o: { iters: number; warmup: number }): Promise<Timing> {
  if (!(Number.isInteger(o.iters) && o.iters >= 1)) throw new RangeError(`timeSteps: iters ${o.iters}: expected an integer >= 1`);
  for (let i = 0; i < o.warmup; i++) {
    await step();
    await yieldLoop();
  }
  const timesMs: number[] = [];
  for (let i = 0; i < o.iters; i++) {
    const t0 = process.hrtime.bigint();
    await step();
    timesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await yieldLoop();
  }
  return { medianMs: median(timesMs), timesMs };
}
