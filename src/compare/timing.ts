// Latency of one repeated step: untimed warm-up runs, then timed runs; the median is the figure (robust
// to the odd descheduled run on a shared machine). The event loop gets a turn between runs so that Node
// can finalise freed tensor handles (see docs/architecture.md, Memory).
export interface Timing {
  /** Median of the timed runs, ms. */
  medianMs: number;
  /** Every timed run, ms, in order. */
  timesMs: number[];
}

const yieldLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The median of `xs` (the upper middle one for an even count, as bench/model.ts reports). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median: no values');
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

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
