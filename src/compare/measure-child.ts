// Child-process entry of `compare`'s latency measurement: one model in one runtime per process, so that
// the peak RSS it reports is that runtime's alone (the parent has the evaluation's tensors and caches).
// argv[2] is a MeasureSpec as JSON; the last stdout line is a ChildResult as JSON.
import { runtimeByName, type MeasureSpec } from './runtimes.js';
import { peakRssMiB } from '../util/proc.js';
import { timeSteps } from './timing.js';

export interface ChildResult {
  runtime: string;
  medianMs: number;
  timesMs: number[];
  /** Peak resident set of this process (model loaded, timed runs done), MiB. */
  peakRssMiB: number;
  /** Seconds from start to a loaded model (import of the engine included). */
  loadSeconds: number;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const spec = JSON.parse(process.argv[2] ?? '') as MeasureSpec;
  const loaded = await runtimeByName(spec.runtime).load(spec);
  const loadSeconds = (performance.now() - t0) / 1000;
  try {
    const t = await timeSteps(() => loaded.step(), { iters: spec.iters, warmup: spec.warmup });
    const r: ChildResult = {
      runtime: spec.runtime,
      medianMs: t.medianMs,
      timesMs: t.timesMs,
      peakRssMiB: peakRssMiB(),
      loadSeconds,
    };
    console.log(JSON.stringify(r));
  } finally {
    loaded.dispose();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
