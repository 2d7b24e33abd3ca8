// The comparison as a table: the same cells for the terminal (aligned text), markdown and HTML.
import type { TrainingSummary } from './inputs.js';
import type { CompareResult } from './types.js';

export interface Table {
  headers: string[];
  rows: string[][];
}

/** "camvid-scratch recipe, 20/20 epochs (900 steps), 360×480, batch 8, 42.7 min" for a run; "checkpoint" otherwise. */
export function trainedText(t: TrainingSummary | null): string {
  if (!t) return 'checkpoint (no run)';
  const parts = [
    t.recipe ? `${t.recipe} recipe` : 'custom recipe',
    `${t.epochsDone}/${t.epochsPlanned} epochs (${t.stepsDone} steps)`,
    `${t.height}×${t.width}`,
    `batch ${t.batchSize}`,
  ];
  if (t.seconds !== null) parts.push(t.seconds >= 600 ? `${(t.seconds / 60).toFixed(1)} min` : `${t.seconds.toFixed(0)} s`);
  const e = t.eval;
  if (e && (e.scales.length !== 1 || e.scales[0] !== 1 || e.flip)) parts.push(`evaluated at scale ${e.scales.join('+')}${e.flip ? ' with flip' : ''}`);
  return parts.join(', ');
}

/** Milliseconds with 3 significant digits below 100 (a tiny model's 0.412 ms), whole tenths above. */
export const formatMs = (ms: number): string => (ms >= 100 ? ms.toFixed(1) : ms.toPrecision(3));

const pct = (x: number): string => (Number.isFinite(x) ? (100 * x).toFixed(2) : 'n/a');

/** One row per model: name, training, metrics (%; flicker and consistency after a sequence evaluation), size, then latency / FPS / peak RSS (and file MB for exports) per runtime. */
export function compareTable(r: CompareResult): Table {
  const runtimes = r.models[0]?.runtimes.map((x) => x.runtime) ?? [];
  const temporal = r.models.some((m) => m.temporal);
  const headers = ['model', 'trained', 'mIoU %', 'mAcc %', 'aAcc %', ...(temporal ? ['flicker %', 'consistency %'] : []), 'params (M)', 'MB'];
  for (const rt of runtimes) {
    headers.push(`${rt} ms`, `${rt} FPS`, `${rt} peak MiB`);
    if (rt !== 'torch') headers.push(`${rt} MB`);
  }
  const rows = r.models.map((m) => {
    const t = temporal ? [pct(m.temporal?.flicker ?? NaN), pct(m.temporal?.consistency ?? NaN)] : [];
    const cells = [m.name, trainedText(m.training), pct(m.meanIou), pct(m.meanAccuracy), pct(m.overallAccuracy), ...t, (m.params / 1e6).toFixed(3), m.sizeMB.toFixed(2)];
    for (const x of m.runtimes) {
      cells.push(formatMs(x.latencyMs), x.fps.toFixed(2), String(x.peakRssMiB));
      if (x.runtime !== 'torch') cells.push(x.fileMB.toFixed(2));
    }
    return cells;
  });
  return { headers, rows };
}

const escapeCell = (s: string): string => s.replace(/\|/g, '\\|');

export function markdownTable(t: Table): string {
  const line = (cells: string[]): string => `| ${cells.map(escapeCell).join(' | ')} |`;
  const align = t.headers.map((_, i) => (i < 2 ? '---' : '---:'));
  return [line(t.headers), `|${align.join('|')}|`, ...t.rows.map(line)].join('\n') + '\n';
}

/** Columns padded to their widest cell; text columns left-aligned, numbers right-aligned. */
export function textTable(t: Table): string {
  const widths = t.headers.map((h, i) => Math.max(h.length, ...t.rows.map((r) => r[i]!.length)));
  const pad = (s: string, i: number): string => (i < 2 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!));
  return [t.headers.map(pad).join('  '), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map((r) => r.map(pad).join('  '))].join('\n') + '\n';
}

/** The comparison's context in one line: data, split, input size, threads, timed runs. */
export function settingsText(r: CompareResult): string {
  const own = r.models.filter((m) => m.latencyHeight !== undefined && (m.latencyHeight !== r.height || m.latencyWidth !== r.width));
  const ownText = own.length ? ` (${own.map((m) => `${m.name} at ${m.latencyHeight}×${m.latencyWidth}, its inference size`).join('; ')})` : '';
  return `${r.data} (${r.split}, ${r.models[0]?.numImages ?? 0} images); latency: median of ${r.iters} runs after ${r.warmup} warm-up, batch 1 at ${r.height}×${r.width}${ownText}, ${r.threads} threads`;
}
