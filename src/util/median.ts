// The median of timings (benchmarks, compare): the upper middle value for an even count.
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median: no values');
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
