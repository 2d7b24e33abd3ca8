// Learning-rate schedules as pure functions of the 0-based iteration: factor(i) multiplies the base lr.
export type LrSchedule = (iter: number) => number;

/** Linear warmup from 1/warmup to 1 over `warmup` iterations: min(1, (i+1)/warmup). */
export function linearWarmup(warmup: number): LrSchedule {
  return (i) => (warmup > 0 ? Math.min(1, (i + 1) / warmup) : 1);
}

/** Polynomial decay to 0 at `total`: (1 − i/total)^power. */
export function polynomial(total: number, power = 1): LrSchedule {
  return (i) => Math.pow(Math.max(0, 1 - i / total), power);
}

/** Cosine decay from 1 to minFactor over `total` iterations. */
export function cosine(total: number, minFactor = 0): LrSchedule {
  return (i) => minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos((Math.PI * Math.min(i, total)) / total));
}

export function constant(): LrSchedule {
  return () => 1;
}

/** The product of schedules, e.g. warmup × poly as in the CamVid recipe. */
export function product(...s: LrSchedule[]): LrSchedule {
  return (i) => s.reduce((f, fn) => f * fn(i), 1);
}

export interface ScheduleSpec {
  kind: 'constant' | 'poly' | 'cosine';
  total: number;
  warmup?: number;
  power?: number;
  minFactor?: number;
}

export function makeSchedule(spec: ScheduleSpec): LrSchedule {
  const main = spec.kind === 'poly' ? polynomial(spec.total, spec.power ?? 1) : spec.kind === 'cosine' ? cosine(spec.total, spec.minFactor ?? 0) : constant();
  return spec.warmup ? product(linearWarmup(spec.warmup), main) : main;
}
