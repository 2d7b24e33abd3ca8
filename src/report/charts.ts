// Small SVG chart builders (bar chart, line chart, heat map) for the training report and `streetseg stats`.
// Each returns a standalone SVG document as a string; svgToPng rasterises one with sharp where a PNG is
// wanted. Layout is plain arithmetic on fixed margins so tests can recompute a bar's height or a point's
// position exactly. Non-finite values (a class absent from the data, an epoch without validation) are drawn
// as "n/a" or left out, never as 0.
import sharp from 'sharp';
import { cssColor, escapeXml, formatNumber } from './format.js';

type Color = readonly number[];

const FONT = 'DejaVu Sans, Arial, sans-serif';
const GREY: Color = [128, 128, 128];

function svgDocument(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...body,
    '</svg>',
  ].join('\n');
}

/** Rounds a coordinate to 2 decimals so the SVG stays short and tests can compare exactly. */
function r2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Rasterises an SVG string to PNG (sharp/librsvg; fonts from the system, nothing fetched). */
export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}

// ---------------------------------------------------------------------------------------------------------
// Bar chart

export interface BarPanel {
  title: string;
  /** One value per bar; NaN draws no bar and the label "n/a". Negative values are drawn as 0. */
  values: readonly number[];
  /** Appended to each bar's value label (e.g. "%"). */
  suffix?: string;
  /** Value at the top of the axis (e.g. 100 for percentages); default the largest finite value. */
  max?: number;
}

export interface BarChartOptions {
  /** One label per bar (shared by all panels). */
  labels: readonly string[];
  /** Bar colours, one per bar; a missing one is grey. */
  colors: readonly Color[];
  /** Panels stacked vertically, each with its own axis. */
  panels: readonly BarPanel[];
  title?: string;
  barWidth?: number;
  /** Pixel height of a bar whose value equals the axis maximum. */
  plotHeight?: number;
}

/** Fixed geometry (px): the plot starts `top` below the chart's top edge, `titleHeight` lower with a title. */
export const BAR_LAYOUT = { left: 60, gap: 12, top: 20, titleHeight: 30, headroom: 20, labelHeight: 90, panelGap: 30 } as const;

/** Vertical bars in the given colours, one panel per value set (e.g. IoU above, accuracy below). */
export function barChartSvg(opts: BarChartOptions): string {
  const n = opts.labels.length;
  for (const p of opts.panels) {
    if (p.values.length !== n) throw new Error(`bar chart panel "${p.title}": ${p.values.length} values for ${n} labels`);
  }
  const { left, gap, headroom, labelHeight, panelGap } = BAR_LAYOUT;
  const top = BAR_LAYOUT.top + (opts.title ? BAR_LAYOUT.titleHeight : 0);
  const barW = opts.barWidth ?? 44;
  const plotH = opts.plotHeight ?? 180;
  const panelH = plotH + headroom;
  const plotW = n * (barW + gap) + gap;
  const width = left + plotW + 60; // room for the last rotated label
  const height = top + opts.panels.length * (panelH + labelHeight + panelGap);
  const out: string[] = [];
  if (opts.title) out.push(`<text x="${width / 2}" y="28" font-size="16" text-anchor="middle">${escapeXml(opts.title)}</text>`);
  opts.panels.forEach((p, pi) => {
    const y0 = top + pi * (panelH + labelHeight + panelGap) + 20;
    const base = y0 + panelH;
    const finite = p.values.filter(Number.isFinite);
    const max = p.max ?? Math.max(...finite, 1e-12);
    const suffix = p.suffix ?? '';
    out.push(`<text x="${left}" y="${y0 - 6}" font-size="13" font-weight="bold">${escapeXml(p.title)}</text>`);
    out.push(`<line x1="${left}" y1="${base}" x2="${left + plotW}" y2="${base}" stroke="#333"/>`);
    out.push(`<line x1="${left}" y1="${y0 + 10}" x2="${left}" y2="${base}" stroke="#333"/>`);
    for (let t = 0; t <= 4; t++) {
      const y = r2(base - (plotH * t) / 4);
      out.push(`<line x1="${left - 4}" y1="${y}" x2="${left + plotW}" y2="${y}" stroke="#ddd"/>`);
      out.push(`<text x="${left - 6}" y="${y + 4}" font-size="10" text-anchor="end">${formatNumber((max * t) / 4)}</text>`);
    }
    p.values.forEach((v, i) => {
      const x = left + gap + i * (barW + gap);
      const cx = x + barW / 2;
      if (Number.isFinite(v)) {
        const h = r2((plotH * Math.min(Math.max(v, 0), max)) / max);
        out.push(`<rect x="${x}" y="${r2(base - h)}" width="${barW}" height="${h}" fill="${cssColor(opts.colors[i] ?? GREY)}" stroke="#222" stroke-width="0.8"/>`);
        out.push(`<text x="${cx}" y="${r2(base - h - 4)}" font-size="10" text-anchor="middle">${formatNumber(v)}${escapeXml(suffix)}</text>`);
      } else {
        out.push(`<text x="${cx}" y="${base - 4}" font-size="10" text-anchor="middle" fill="#888">n/a</text>`);
      }
      out.push(`<text transform="translate(${cx},${base + 10}) rotate(40)" font-size="11">${escapeXml(opts.labels[i]!)}</text>`);
    });
  });
  return svgDocument(width, height, out);
}

// ---------------------------------------------------------------------------------------------------------
// Line chart

export interface LineSeries {
  name: string;
  /** Any CSS colour. */
  color: string;
  /** (x, y) points in x order; a non-finite y breaks the line there. */
  points: ReadonlyArray<readonly [number, number]>;
}

export interface LineChartOptions {
  series: readonly LineSeries[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Fix the x axis (e.g. the same for all charts of a page); default the data's range. */
  xDomain?: readonly [number, number];
  /** Fix the y axis; otherwise it is the data's range widened to round tick values. */
  yMin?: number;
  yMax?: number;
  /** Tick labels as percentages of 1 (0.5 → "50%"). */
  percent?: boolean;
}

export const LINE_MARGIN = { left: 62, right: 18, top: 34, bottom: 64 } as const;

/** Round tick values covering [lo, hi] with about `count` intervals (steps of 1, 2 or 5 × 10^k). */
export function niceTicks(lo: number, hi: number, count = 4, integer = false): number[] {
  if (!(hi > lo)) throw new Error(`niceTicks: empty range [${lo}, ${hi}]`);
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  let step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  if (integer) step = Math.max(1, Math.round(step));
  const first = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v < hi + step * (1 - 1e-9); v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function domain(values: number[], padIfFlat: number): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || padIfFlat;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

const LEGEND_ROW = 16;

/** Line chart of one or more series against a shared x axis, with markers on short series and a legend. */
export function lineChartSvg(opts: LineChartOptions): string {
  const width = opts.width ?? 480;
  const height = opts.height ?? 280;
  const { left, right, top } = LINE_MARGIN;
  const series = opts.series.filter((s) => s.points.some((p) => Number.isFinite(p[0]) && Number.isFinite(p[1])));
  // Legend entries flow left to right and wrap to another row when the next would pass the right edge;
  // the plot gives up the height of the extra rows.
  const legend: { s: (typeof series)[number]; x: number; row: number }[] = [];
  let lx = left;
  let row = 0;
  for (const s of series) {
    const w = 22 + s.name.length * 7 + 16;
    if (lx > left && lx + w - 16 > width - right) {
      lx = left;
      row++;
    }
    legend.push({ s, x: lx, row });
    lx += w;
  }
  const bottom = LINE_MARGIN.bottom + row * LEGEND_ROW;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const out: string[] = [];
  if (opts.title) out.push(`<text x="${width / 2}" y="20" font-size="14" text-anchor="middle">${escapeXml(opts.title)}</text>`);
  if (series.length === 0) {
    out.push(`<text x="${width / 2}" y="${height / 2}" font-size="13" text-anchor="middle" fill="#888">no data yet</text>`);
    return svgDocument(width, height, out);
  }
  const pts = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1])));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const xInteger = xs.every(Number.isInteger);
  const [x0, x1] = opts.xDomain && opts.xDomain[1] > opts.xDomain[0] ? opts.xDomain : domain(xs, 1);
  const xTicks = niceTicks(x0, x1, 5, xInteger).filter((t) => t >= x0 - 1e-9 && t <= x1 + 1e-9);
  let [y0, y1] = domain(ys, 1);
  if (opts.yMin !== undefined) y0 = opts.yMin;
  if (opts.yMax !== undefined) y1 = opts.yMax;
  let yTicks = niceTicks(y0, y1, 4);
  // A free end of the y axis snaps outward to a tick so the grid frames the data.
  if (opts.yMin === undefined) y0 = yTicks[0]!;
  if (opts.yMax === undefined) y1 = yTicks[yTicks.length - 1]!;
  yTicks = yTicks.filter((t) => t >= y0 - 1e-9 && t <= y1 + 1e-9);
  const px = (x: number): number => r2(left + ((x - x0) / (x1 - x0)) * plotW);
  const py = (y: number): number => r2(top + plotH - ((y - y0) / (y1 - y0)) * plotH);
  const tickLabel = (v: number): string => (opts.percent ? `${Number((v * 100).toPrecision(3))}%` : formatNumber(v));
  for (const t of yTicks) {
    out.push(`<line x1="${left}" y1="${py(t)}" x2="${left + plotW}" y2="${py(t)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${left - 6}" y="${py(t) + 4}" font-size="10" text-anchor="end">${tickLabel(t)}</text>`);
  }
  for (const t of xTicks) {
    out.push(`<line x1="${px(t)}" y1="${top + plotH}" x2="${px(t)}" y2="${top + plotH + 4}" stroke="#333"/>`);
    out.push(`<text x="${px(t)}" y="${top + plotH + 16}" font-size="10" text-anchor="middle">${formatNumber(t)}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  if (opts.xLabel) out.push(`<text x="${left + plotW / 2}" y="${top + plotH + 32}" font-size="11" text-anchor="middle">${escapeXml(opts.xLabel)}</text>`);
  if (opts.yLabel) {
    out.push(`<text transform="translate(14,${top + plotH / 2}) rotate(-90)" font-size="11" text-anchor="middle">${escapeXml(opts.yLabel)}</text>`);
  }
  for (const s of series) {
    const color = escapeXml(s.color);
    const segments: string[][] = [[]];
    for (const [x, y] of s.points) {
      if (Number.isFinite(x) && Number.isFinite(y)) segments[segments.length - 1]!.push(`${px(x)},${py(y)}`);
      else if (segments[segments.length - 1]!.length > 0) segments.push([]);
    }
    for (const seg of segments) {
      if (seg.length > 1) out.push(`<polyline points="${seg.join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    // Markers on short series, so a single evaluation is visible and points are countable.
    const n = segments.reduce((a, seg) => a + seg.length, 0);
    if (n <= 60) {
      for (const seg of segments) for (const p of seg) {
        const [cx, cy] = p.split(',');
        out.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${color}"/>`);
      }
    }
  }
  for (const { s, x, row: r } of legend) {
    const ly = height - 12 - (row - r) * LEGEND_ROW;
    out.push(`<line x1="${x}" y1="${ly - 4}" x2="${x + 18}" y2="${ly - 4}" stroke="${escapeXml(s.color)}" stroke-width="3"/>`);
    out.push(`<text x="${x + 22}" y="${ly}" font-size="11">${escapeXml(s.name)}</text>`);
  }
  return svgDocument(width, height, out);
}

// ---------------------------------------------------------------------------------------------------------
// Heat map

export interface HeatmapOptions {
  /** rows × cols values, row-major (a confusion matrix: rows are the truth). */
  values: readonly number[];
  rowLabels: readonly string[];
  /** Default: the row labels. */
  colLabels?: readonly string[];
  title?: string;
  rowTitle?: string;
  colTitle?: string;
  /** 'row' (default): each row divided by its sum, so cells are shares of the row; 'none': divided by the largest value. */
  normalize?: 'row' | 'none';
  /** Cell size in pixels. */
  cell?: number;
}

/** Each row divided by its sum; a row that sums to 0 (a class absent from the truth) becomes NaN. */
export function rowNormalize(values: readonly number[], rows: number, cols: number): number[] {
  if (values.length !== rows * cols) throw new Error(`rowNormalize: ${values.length} values for a ${rows}x${cols} matrix`);
  const out = new Array<number>(values.length);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += values[r * cols + c]!;
    for (let c = 0; c < cols; c++) out[r * cols + c] = sum > 0 ? values[r * cols + c]! / sum : NaN;
  }
  return out;
}

const HEAT_LOW: Color = [255, 255, 255];
const HEAT_HIGH: Color = [8, 48, 107];
export const HEAT_NAN = '#e6e6e6';

/** The heat-map colour of t ∈ [0, 1] (clamped): white to dark blue, linear in RGB. */
export function heatColor(t: number): [number, number, number] {
  const u = Math.min(Math.max(t, 0), 1);
  return [0, 1, 2].map((i) => Math.round(HEAT_LOW[i]! + (HEAT_HIGH[i]! - HEAT_LOW[i]!) * u)) as [number, number, number];
}

/** A matrix as coloured cells with row labels on the left and column labels below, values in the cells. */
export function heatmapSvg(opts: HeatmapOptions): string {
  const rowLabels = opts.rowLabels;
  const colLabels = opts.colLabels ?? rowLabels;
  const rows = rowLabels.length;
  const cols = colLabels.length;
  if (opts.values.length !== rows * cols) {
    throw new Error(`heat map: ${opts.values.length} values for ${rows} row labels x ${cols} column labels (expected ${rows * cols})`);
  }
  const cell = opts.cell ?? 30;
  const norm = opts.normalize ?? 'row';
  let shown: number[];
  if (norm === 'row') shown = rowNormalize(opts.values, rows, cols);
  else {
    const max = Math.max(...opts.values.filter(Number.isFinite), 0);
    shown = opts.values.map((v) => (Number.isFinite(v) ? (max > 0 ? v / max : 0) : NaN));
  }
  const longest = (ls: readonly string[]): number => ls.reduce((a, l) => Math.max(a, l.length), 0);
  const left = 30 + Math.ceil(longest(rowLabels) * 6.5) + 8;
  const top = opts.title ? 40 : 14;
  const gridW = cols * cell;
  const gridH = rows * cell;
  const below = 20 + Math.ceil(longest(colLabels) * 6.5 * 0.77) + 24; // rotated labels (sin 50°) + axis title
  const width = left + gridW + 40;
  const height = top + gridH + below;
  const out: string[] = [];
  if (opts.title) out.push(`<text x="${width / 2}" y="24" font-size="14" text-anchor="middle">${escapeXml(opts.title)}</text>`);
  const fontSize = Math.max(7, Math.min(11, Math.floor(cell / 2.8)));
  for (let r = 0; r < rows; r++) {
    const y = top + r * cell;
    out.push(`<text x="${left - 6}" y="${r2(y + cell / 2 + 4)}" font-size="11" text-anchor="end">${escapeXml(rowLabels[r]!)}</text>`);
    for (let c = 0; c < cols; c++) {
      const x = left + c * cell;
      const t = shown[r * cols + c]!;
      const raw = opts.values[r * cols + c]!;
      const fill = Number.isFinite(t) ? cssColor(heatColor(t)) : HEAT_NAN;
      const tip = `${rowLabels[r]} → ${colLabels[c]}: ${formatNumber(raw)}${norm === 'row' && Number.isFinite(t) ? ` (${(t * 100).toFixed(1)}%)` : ''}`;
      out.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#fff" stroke-width="0.5"><title>${escapeXml(tip)}</title></rect>`);
      if (Number.isFinite(t) && t >= 0.005 && cell >= 18) {
        const label = norm === 'row' ? String(Math.round(t * 100)) : formatNumber(raw);
        out.push(`<text x="${r2(x + cell / 2)}" y="${r2(y + cell / 2 + fontSize / 3)}" font-size="${fontSize}" text-anchor="middle" fill="${t > 0.55 ? 'white' : '#222'}">${label}</text>`);
      }
    }
  }
  out.push(`<rect x="${left}" y="${top}" width="${gridW}" height="${gridH}" fill="none" stroke="#333"/>`);
  for (let c = 0; c < cols; c++) {
    const cx = r2(left + c * cell + cell / 2);
    out.push(`<text transform="translate(${cx - 3},${top + gridH + 10}) rotate(50)" font-size="11">${escapeXml(colLabels[c]!)}</text>`);
  }
  if (opts.colTitle) out.push(`<text x="${left + gridW / 2}" y="${height - 6}" font-size="12" text-anchor="middle">${escapeXml(opts.colTitle)}</text>`);
  if (opts.rowTitle) {
    out.push(`<text transform="translate(14,${top + gridH / 2}) rotate(-90)" font-size="12" text-anchor="middle">${escapeXml(opts.rowTitle)}</text>`);
  }
  return svgDocument(width, height, out);
}
