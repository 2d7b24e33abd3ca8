// libtorch's intra-op thread count, decided in one place: the addon applies it when it loads, the trainer
// with the run's `threads` setting and its processes on the host, the --nproc launcher for its workers.
import * as os from 'node:os';

/**
 * The count: `configured` when > 0 (the threads setting), else STREETSEG_THREADS when set and > 0, else
 * the host's cores shared among its `localWorldSize` processes (at least 1 each). OpenMP itself defaults
 * to one thread on these machines, so there is always a count to set.
 */
export function resolveThreads(configured = 0, localWorldSize = 1, env: NodeJS.ProcessEnv = process.env): number {
  if (configured > 0) return configured;
  const raw = env.STREETSEG_THREADS;
  if (raw !== undefined && raw.trim() !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`STREETSEG_THREADS=${JSON.stringify(raw)}: expected a whole number of threads (0 = all cores)`);
    if (n > 0) return n;
  }
  return Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, localWorldSize)));
}
