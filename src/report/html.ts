// The report page: one static HTML file with inline CSS, pointing at the chart and sample files next to it.
// No scripts, no external resources, so it opens offline from file:// as it is.
import { cssColor, escapeXml as esc, formatNumber, formatPercent } from './format.js';
import { stripSize } from './images.js';
import { linksSectionHtml, type ReportLink } from './links.js';
import type { ReportData, ReportSample } from './types.js';

/** Names of the files (relative to index.html) that writeReport produced for this page. */
export interface ReportFiles {
  curves: Array<{ title: string; file: string }>;
  classes?: string;
  confusion?: string;
  /** flicker per frame pair (a sequence evaluation) */
  temporal?: string;
  samples: Array<{ file: string; sample: ReportSample }>;
  worst: Array<{ file: string; sample: ReportSample }>;
  /** Links to pages about this run made elsewhere (links.json, e.g. a model comparison). */
  links?: ReportLink[];
}

/** Seconds as "12.3 s", "4 min 05 s" or "2 h 07 min". */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return 'n/a';
  if (s < 60) return `${Number(s.toFixed(1))} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** JSON of an arbitrary config value: bigints and non-finite numbers as strings, cycles marked, never throws. */
export function configJson(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    const text = JSON.stringify(
      value,
      (_k, v: unknown) => {
        if (typeof v === 'bigint') return v.toString();
        if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
        if (typeof v === 'object' && v !== null) {
          if (seen.has(v)) return '[circular]';
          seen.add(v);
        }
        return v;
      },
      2,
    );
    return text ?? String(value);
  } catch (e) {
    return `(config not serialisable: ${(e as Error).message})`;
  }
}

const CSS = `
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:0 auto;max-width:1400px;padding:16px 24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:4px 0}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ccc;padding-bottom:4px}
.status{color:#555;margin-bottom:12px}.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}
.card .v{font-size:20px;font-weight:bold}.card .k{font-size:12px;color:#666}
.charts{display:flex;flex-wrap:wrap;gap:12px}img{max-width:100%;height:auto;background:#fff}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px;text-align:right}
th{background:#f0f0f0}td.name{text-align:left}.sw{display:inline-block;width:12px;height:12px;border:1px solid #333;vertical-align:middle;margin-right:6px}
.na{color:#999}.strip{margin:6px 0 14px}.strip .cap{font-size:13px;margin-bottom:2px}
.heads{display:grid;font-size:12px;color:#555}
pre{background:#fff;border:1px solid #ddd;padding:10px;overflow:auto;font-size:12px;max-height:600px}.empty{color:#888;font-style:italic}
`;

function value(x: number, f: (v: number) => string): string {
  return Number.isFinite(x) ? esc(f(x)) : '<span class="na">n/a</span>';
}

function card(label: string, v: string): string {
  return `<div class="card"><div class="v">${v}</div><div class="k">${esc(label)}</div></div>`;
}

function empty(text: string): string {
  return `<p class="empty">${esc(text)}</p>`;
}

function strips(items: ReportFiles['samples'], alt: string): string {
  // Column heads sized like the first strip's tiles, so they sit above them.
  const tile = stripSize(items[0]!.sample);
  const heads = `<div class="heads" style="grid-template-columns:repeat(4,${tile.tileWidth}px);column-gap:${tile.gap}px"><div>image</div><div>ground truth</div><div>prediction</div><div>errors (red; grey = ignored)</div></div>`;
  const rows = items.map(({ file, sample }) => {
    const miou = sample.miou === undefined ? '' : ` — mIoU ${value(sample.miou, formatPercent)}`;
    return `<div class="strip"><div class="cap">${esc(sample.id)}${miou}</div><img src="${esc(file)}" alt="${esc(`${alt} ${sample.id}`)}" width="${stripSize(sample).width}"></div>`;
  });
  return heads + rows.join('\n');
}

export function renderReportHtml(data: ReportData, files: ReportFiles, generatedAt = new Date()): string {
  const ev = data.eval;
  const parts: string[] = [];
  parts.push(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${esc(data.title)} — training report</title><style>${CSS}</style></head><body>`);
  parts.push(`<h1>${esc(data.title)}</h1>`);
  parts.push(`<div class="status">${data.status ? `${esc(data.status)} · ` : ''}updated ${esc(generatedAt.toISOString().replace('T', ' ').slice(0, 19))} UTC</div>`);
  parts.push(linksSectionHtml(files.links ?? []));

  parts.push('<section id="summary"><h2>Latest evaluation</h2>');
  if (ev) {
    parts.push(
      '<div class="cards">' +
        card('mIoU', value(ev.meanIou, formatPercent)) +
        card('mean accuracy', value(ev.meanAccuracy, formatPercent)) +
        card('pixel accuracy', value(ev.overallAccuracy, formatPercent)) +
        card('validation loss', value(ev.loss, (x) => x.toFixed(4))) +
        card('images', value(ev.numImages, String)) +
        card('epoch / step', `${value(ev.epoch, String)} / ${value(ev.step, String)}`) +
        (ev.temporal ? card('flicker', value(ev.temporal.flicker, formatPercent)) + card('temporal consistency', value(ev.temporal.consistency, formatPercent)) : '') +
        '</div>',
    );
  } else parts.push(empty('No evaluation yet.'));
  parts.push('</section>');

  parts.push('<section id="curves"><h2>Training curves</h2>');
  parts.push(files.curves.length ? `<div class="charts">${files.curves.map((c) => `<img src="${esc(c.file)}" alt="${esc(c.title)}">`).join('')}</div>` : empty('No history yet.'));
  parts.push('</section>');

  parts.push('<section id="classes"><h2>Per-class IoU and accuracy</h2>');
  if (ev) {
    const pixels = ev.classes.map((_, i) => ev.confusion.slice(i * ev.classes.length, (i + 1) * ev.classes.length).reduce((a, b) => a + b, 0));
    if (files.classes) parts.push(`<img src="${esc(files.classes)}" alt="per-class IoU and accuracy">`);
    parts.push('<table><tr><th>id</th><th>class</th><th>IoU</th><th>accuracy</th><th>truth pixels</th></tr>');
    ev.classes.forEach((name, i) => {
      const sw = `<span class="sw" style="background:${cssColor(data.palette[i] ?? [128, 128, 128])}"></span>`;
      parts.push(`<tr><td>${i}</td><td class="name">${sw}${esc(name)}</td><td>${value(ev.perClassIou[i]!, formatPercent)}</td><td>${value(ev.perClassAccuracy[i]!, formatPercent)}</td><td>${pixels[i]}</td></tr>`);
    });
    parts.push('</table>');
  } else parts.push(empty('No evaluation yet.'));
  parts.push('</section>');

  parts.push('<section id="confusion"><h2>Confusion matrix (rows: truth, normalised per row, %)</h2>');
  parts.push(files.confusion ? `<img src="${esc(files.confusion)}" alt="confusion matrix">` : empty('No evaluation yet.'));
  parts.push('</section>');

  parts.push('<section id="temporal"><h2>Temporal stability</h2>');
  const tm = ev?.temporal;
  if (tm) {
    parts.push(
      `<p>Over ${tm.pairs} consecutive frame pairs${tm.smooth ? `, smoothed (${esc(tm.smooth)})` : ''}: flicker ${value(tm.flicker, formatPercent)} ` +
        `(pixels whose predicted class changes; the labels' own: ${value(tm.labelFlicker, formatPercent)}, what the scene's motion changes), consistency ${value(tm.consistency, formatPercent)} (where the truth stays, the prediction stays too).</p>`,
    );
    if (files.temporal) parts.push(`<img src="${esc(files.temporal)}" alt="flicker per frame pair">`);
  } else parts.push(empty('Not measured: the validation frames were evaluated one by one (train with --eval-sequence to treat them as video).'));
  parts.push('</section>');

  parts.push('<section id="samples"><h2>Sample predictions</h2>');
  parts.push(files.samples.length ? strips(files.samples, 'sample') : empty('No samples yet.'));
  parts.push('</section>');

  parts.push('<section id="worst"><h2>Worst images (lowest per-image mIoU)</h2>');
  parts.push(files.worst.length ? strips(files.worst, 'worst image') : empty('No images yet.'));
  parts.push('</section>');

  parts.push('<section id="timing"><h2>Timing</h2>');
  const t = data.timing;
  const rows: Array<[string, number | undefined, (x: number) => string]> = [
    ['training images/s', t.trainImagesPerSecond, formatNumber],
    ['evaluation images/s', t.evalImagesPerSecond, formatNumber],
    ['time per epoch', t.secondsPerEpoch, formatDuration],
    ['total time', t.totalSeconds, formatDuration],
  ];
  const present = rows.filter((r) => r[1] !== undefined);
  parts.push(present.length ? `<table>${present.map(([k, v, f]) => `<tr><th>${esc(k)}</th><td>${value(v!, f)}</td></tr>`).join('')}</table>` : empty('No timing yet.'));
  parts.push('</section>');

  parts.push(`<section id="config"><h2>Configuration</h2><details><summary>resolved config (JSON)</summary><pre>${esc(configJson(data.config))}</pre></details></section>`);
  parts.push('</body></html>\n');
  return parts.join('\n');
}
