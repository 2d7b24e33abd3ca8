// The `streetseg stats` chart: class frequencies and, below, class weights, as bars in the class colours.
import { classFrequencies, classWeights, type ClassStats, type WeightMethod } from '../data/stats.js';
import { barChartSvg, svgToPng, type BarPanel } from './charts.js';

export interface StatsChartOptions {
  title?: string;
  /** Which weighting to draw in the lower panel (default 'median-freq'); null for frequencies only. */
  weights?: WeightMethod | null;
}

/** SVG bar chart: class frequencies (% of labelled pixels) and, below, class weights, bars in class colours. */
export function statsChartSvg(stats: ClassStats, opts: StatsChartOptions = {}): string {
  const method = opts.weights === undefined ? 'median-freq' : opts.weights;
  const panels: BarPanel[] = [{ title: 'Share of labelled pixels', values: classFrequencies(stats).map((f) => f * 100), suffix: '%' }];
  if (method) panels.push({ title: `Class weights (${method})`, values: classWeights(stats, method) });
  return barChartSvg({
    title: opts.title ?? `${stats.images} images, ${stats.totalPixels} pixels (${stats.ignoredPixels} ignored)`,
    labels: stats.names,
    colors: stats.palette,
    panels,
  });
}

/** The chart as a PNG (rendered from the SVG by sharp). */
export async function renderStatsChart(stats: ClassStats, opts: StatsChartOptions = {}): Promise<Buffer> {
  return svgToPng(statsChartSvg(stats, opts));
}
