// mIoU against latency: one series per model, one point per runtime (a model's runtimes share its mIoU,
// so its points lie on one horizontal line, joined), drawn with the report's line-chart builder.
import { lineChartSvg } from '../report/charts.js';
import type { CompareResult } from './types.js';

/** Distinct colours for up to ten models (then they repeat). */
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export const CHART_SIZE = { width: 720, height: 380 } as const;

export function compareChartSvg(r: CompareResult): string {
  // Both axes start at 0, so distances read as ratios (twice as far right = twice as slow); the margin
  // keeps the slowest model's point off the frame.
  const slowest = Math.max(...r.models.flatMap((m) => m.runtimes.map((x) => x.latencyMs)).filter(Number.isFinite), 1e-3);
  return lineChartSvg({
    xDomain: [0, slowest * 1.15],
    yMin: 0,
    title: `mIoU against latency (${r.height}×${r.width}, batch 1; ${r.models[0]?.runtimes.map((x) => x.runtime).join(', ') ?? ''})`,
    xLabel: 'latency (ms, median)',
    yLabel: `mIoU (${r.split})`,
    percent: true,
    width: CHART_SIZE.width,
    height: CHART_SIZE.height,
    series: r.models.map((m, i) => ({
      name: m.name + (r.models.filter((o) => o.name === m.name).length > 1 ? ` (${i + 1})` : ''),
      color: COLORS[i % COLORS.length]!,
      points: m.runtimes.map((x) => [x.latencyMs, m.meanIou] as const).sort((a, b) => a[0] - b[0]),
    })),
  });
}
