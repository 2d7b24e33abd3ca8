// The comparison page: the table, the chart and what each input was; static, offline, no scripts.
import { escapeXml as esc } from '../report/format.js';
import { compareTable, settingsText } from './table.js';
import type { CompareResult } from './types.js';

const CSS = `body{font-family:"DejaVu Sans",Arial,sans-serif;margin:0 auto;max-width:1400px;padding:16px 24px;color:#222;background:#fafafa}
h1{font-size:22px}h2{font-size:17px;border-bottom:1px solid #ccc;padding-bottom:4px}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px;text-align:right}
th{background:#f0f0f0}td.t{text-align:left}img{max-width:100%;background:#fff}.s{color:#555}`;

export function compareHtml(r: CompareResult, chartFile: string, generatedAt = new Date()): string {
  const t = compareTable(r);
  const head = `<tr>${t.headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const rows = t.rows.map((cells) => `<tr>${cells.map((c, i) => `<td${i < 2 ? ' class="t"' : ''}>${esc(c)}</td>`).join('')}</tr>`);
  const inputs = r.models.map((m) => `<li><b>${esc(m.name)}</b>: ${esc(m.input)} → ${esc(m.checkpoint)}${m.note ? ` (${esc(m.note)})` : ''}</li>`);
  return [
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Model comparison</title><style>${CSS}</style></head><body>`,
    '<h1>Model comparison</h1>',
    `<p class="s">${esc(settingsText(r))} · ${esc(generatedAt.toISOString().replace('T', ' ').slice(0, 19))} UTC</p>`,
    `<table>${head}${rows.join('')}</table>`,
    `<h2>mIoU against latency</h2><img src="${esc(chartFile)}" alt="mIoU against latency">`,
    `<h2>Inputs</h2><ul>${inputs.join('')}</ul>`,
    '</body></html>',
    '',
  ].join('\n');
}
