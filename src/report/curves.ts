// Training curves from the metrics.csv rows: loss, validation metrics, learning rate, throughput.
import { lineChartSvg, type LineSeries } from './charts.js';

type Row = Record<string, number | string | null>;

/** A metrics.csv cell as a number: null, '' and unparsable text (e.g. 'nan') become NaN. */
export function cellNumber(v: number | string | null | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || v.trim() === '') return NaN;
  return Number(v);
}

/** The x axis of the curves: step if the rows have one, else epoch, else the row number. */
export function historyAxis(history: readonly Row[]): { key: string | null; label: string } {
  for (const key of ['step', 'epoch']) {
    if (history.some((r) => Number.isFinite(cellNumber(r[key])))) return { key, label: key };
  }
  return { key: null, label: 'row' };
}

/** Each row's x value on the historyAxis (NaN where a row lacks one). */
function rowsX(history: readonly Row[]): number[] {
  const key = historyAxis(history).key;
  return history.map((r, i) => (key === null ? i + 1 : cellNumber(r[key])));
}

/**
 * The (x, y) points of one column. Rows where the column is empty (null or '': no evaluation that epoch)
 * are skipped, so evaluations every few epochs still join into a line; a NaN value gives a gap; rows
 * without an x are skipped.
 */
export function historySeries(history: readonly Row[], column: string): Array<[number, number]> {
  const xs = rowsX(history);
  const pts: Array<[number, number]> = [];
  history.forEach((r, i) => {
    const v = r[column];
    if (v === null || v === undefined || v === '') return;
    if (Number.isFinite(xs[i]!)) pts.push([xs[i]!, cellNumber(v)]);
  });
  return pts;
}

interface CurveSpec {
  key: string;
  title: string;
  yLabel: string;
  columns: Array<{ column: string; name: string; color: string }>;
  /** Fractions drawn as percentages (when every value is in [0, 1]). */
  fraction?: boolean;
}

export const CURVES: readonly CurveSpec[] = [
  {
    key: 'loss', title: 'Loss', yLabel: 'loss', columns: [
      { column: 'train_loss', name: 'train', color: '#1f77b4' },
      { column: 'val_loss', name: 'validation', color: '#d62728' },
    ],
  },
  {
    key: 'metrics', title: 'Validation metrics', yLabel: 'score', fraction: true, columns: [
      { column: 'val_miou', name: 'mIoU', color: '#2ca02c' },
      { column: 'val_macc', name: 'mean accuracy', color: '#ff7f0e' },
      { column: 'val_aacc', name: 'pixel accuracy', color: '#9467bd' },
    ],
  },
  { key: 'lr', title: 'Learning rate', yLabel: 'lr', columns: [{ column: 'lr', name: 'lr', color: '#444444' }] },
  { key: 'throughput', title: 'Training throughput', yLabel: 'images/s', columns: [{ column: 'train_img_s', name: 'train images/s', color: '#17becf' }] },
];

/** One SVG line chart per curve group that has at least one value; none for an empty history. */
export function historyCharts(history: readonly Row[]): Array<{ key: string; title: string; svg: string }> {
  const axis = historyAxis(history);
  const out: Array<{ key: string; title: string; svg: string }> = [];
  // One x range for every chart, so an epoch sits at the same place in all of them.
  const xs = rowsX(history).filter(Number.isFinite);
  const xDomain = xs.length > 1 ? ([Math.min(...xs), Math.max(...xs)] as const) : undefined;
  for (const spec of CURVES) {
    const series: LineSeries[] = spec.columns.map((c) => ({ name: c.name, color: c.color, points: historySeries(history, c.column) }));
    const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
    if (ys.length === 0) continue;
    const percent = spec.fraction === true && ys.every((y) => y >= 0 && y <= 1);
    out.push({
      key: spec.key,
      title: spec.title,
      svg: lineChartSvg({ series, title: spec.title, xLabel: axis.label, yLabel: spec.yLabel, percent, ...(percent ? { yMin: 0 } : {}), ...(xDomain ? { xDomain } : {}) }),
    });
  }
  return out;
}
