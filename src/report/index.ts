// writeReport: the training report folder (index.html + SVG charts + PNG sample strips), self-contained and
// offline. Called by the training loop at every evaluation and at the end.
//
// Consistency for a reader (a browser open on the page while training rewrites it): every file is written
// atomically, and chart/sample files are named after a hash of their content, so a page always points at
// complete files that match it. The new files go first, then index.html; files of the previous version
// are removed only after the new page is in place. Content names also keep browsers from showing a cached
// picture of an older version.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { barChartSvg, heatmapSvg, lineChartSvg } from './charts.js';
import { historyCharts } from './curves.js';
import { renderReportHtml, type ReportFiles } from './html.js';
import { checkSample, sampleStrip } from './images.js';
import { readReportLinks } from './links.js';
import type { ReportData, ReportEval } from './types.js';

export type { ReportData, ReportEval, ReportSample, ReportTemporal, RGB } from './types.js';
export { addReportLink, readReportLinks, type ReportLink } from './links.js';

/** Files this module writes (and may remove when a newer report no longer uses them). */
const OWN_FILE = /^(curve|classes|confusion|temporal|sample|worst)-[A-Za-z0-9_-]+\.(svg|png)$/;

function contentName(stem: string, ext: string, data: string | Uint8Array): string {
  return `${stem}-${createHash('sha256').update(data).digest('hex').slice(0, 12)}.${ext}`;
}

function checkEval(ev: ReportEval): void {
  const k = ev.classes.length;
  if (k === 0) throw new Error('writeReport: eval.classes is empty');
  const lengths: Array<[string, number, number]> = [
    ['eval.perClassIou', ev.perClassIou.length, k],
    ['eval.perClassAccuracy', ev.perClassAccuracy.length, k],
    ['eval.confusion', ev.confusion.length, k * k],
  ];
  for (const [name, got, want] of lengths) {
    if (got !== want) throw new Error(`writeReport: ${name} has ${got} values, expected ${want} for ${k} classes`);
  }
  const t = ev.temporal;
  if (t && t.perPair.length !== t.pairs) throw new Error(`writeReport: eval.temporal.perPair has ${t.perPair.length} pairs, expected pairs = ${t.pairs}`);
}

function checkData(data: ReportData): void {
  if (!Number.isInteger(data.ignoreIndex)) throw new Error(`writeReport: ignoreIndex must be an integer, got ${data.ignoreIndex}`);
  data.palette.forEach((c, i) => {
    if (c.length !== 3 || c.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) {
      throw new Error(`writeReport: palette[${i}] is ${JSON.stringify(c)}, expected [r, g, b] with integers 0..255`);
    }
  });
  if (data.eval) checkEval(data.eval);
  // Sizes are checked before anything is written, so bad input leaves the previous report untouched.
  for (const s of data.samples) checkSample(s, 'sample');
  for (const s of data.worst) checkSample(s, 'worst image');
}

/**
 * Writes (or rewrites) the report into dir and returns the path of its index.html. Charts for what data
 * lacks (no history, no evaluation, no samples) are left out and the page says so.
 */
export async function writeReport(dir: string, data: ReportData): Promise<string> {
  checkData(data);
  fs.mkdirSync(dir, { recursive: true });
  const written = new Set<string>();
  const put = (stem: string, ext: string, content: string | Uint8Array): string => {
    const name = contentName(stem, ext, content);
    // Same name, same bytes: a file already there from an earlier call is complete (written atomically).
    if (!written.has(name) && !fs.existsSync(path.join(dir, name))) writeFileAtomic(path.join(dir, name), content);
    written.add(name);
    return name;
  };

  const files: ReportFiles = { curves: [], samples: [], worst: [], links: readReportLinks(dir) };
  for (const c of historyCharts(data.history)) files.curves.push({ title: c.title, file: put(`curve-${c.key}`, 'svg', c.svg) });

  const ev = data.eval;
  if (ev) {
    const percent = (xs: number[]): number[] => xs.map((x) => x * 100);
    files.classes = put('classes', 'svg', barChartSvg({
      labels: ev.classes,
      colors: data.palette,
      panels: [
        { title: 'IoU (%)', values: percent(ev.perClassIou), max: 100 },
        { title: 'Accuracy (%)', values: percent(ev.perClassAccuracy), max: 100 },
      ],
    }));
    files.confusion = put('confusion', 'svg', heatmapSvg({
      values: ev.confusion,
      rowLabels: ev.classes,
      rowTitle: 'true class',
      colTitle: 'predicted class',
      cell: ev.classes.length > 20 ? 24 : 32,
    }));
    if (ev.temporal && ev.temporal.pairs > 0) {
      files.temporal = put('temporal', 'svg', lineChartSvg({
        title: `Flicker per frame pair${ev.temporal.smooth ? ` (smoothed: ${ev.temporal.smooth})` : ''}`,
        xLabel: 'frame pair',
        yLabel: 'pixels whose class changes',
        percent: true,
        yMin: 0,
        width: 720,
        series: [{ name: 'flicker', color: '#d62728', points: ev.temporal.perPair.map((p, i) => [i + 1, p.flicker] as const) }],
      }));
    }
  }

  // Strips one at a time: each holds four decoded tiles, and the training process is memory-bound already.
  for (const [i, s] of data.samples.entries()) {
    files.samples.push({ file: put(`sample-${i}`, 'png', await sampleStrip(s, data.palette, data.ignoreIndex, 'sample')), sample: s });
  }
  for (const [i, s] of data.worst.entries()) {
    files.worst.push({ file: put(`worst-${i}`, 'png', await sampleStrip(s, data.palette, data.ignoreIndex, 'worst image')), sample: s });
  }

  const index = path.join(dir, 'index.html');
  writeFileAtomic(index, renderReportHtml(data, files));
  for (const name of fs.readdirSync(dir)) {
    if (OWN_FILE.test(name) && !written.has(name)) fs.rmSync(path.join(dir, name), { force: true });
  }
  return index;
}
