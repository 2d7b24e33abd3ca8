// `streetseg compare`: for each model, eval's metrics on a split (the same code as `streetseg eval`), its
// size and parameters, and per runtime the latency, FPS and peak RSS measured in a child process; then
// the table, and with an output folder compare.json, compare.md, a chart PNG and index.html, linked from
// each input run's report.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DatasetFormat } from '../data/dataset.js';
import { openCheckpoint, type Checkpoint } from '../models/checkpoint.js';
import { scaledSize } from '../models/contract.js';
import { loadPretrained } from '../models/hf.js';
import { svgToPng } from '../report/charts.js';
import { addReportLink } from '../report/links.js';
import { getNumThreads, weightsBytes } from '../torch/index.js';
import { isHubCheckpoint, resolveCheckpoint } from '../hub/index.js';
import { evaluateCheckpoint } from '../train/eval-checkpoint.js';
import { runPaths } from '../train/run-dir.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { compareChartSvg } from './chart.js';
import { compareHtml } from './html.js';
import { CompareInputError } from './errors.js';
import { resolveInput, type CompareInput } from './inputs.js';
import { measureInChild } from './measure.js';
import { compareRuntimes } from './runtimes.js';
import { compareTable, markdownTable, settingsText } from './table.js';
import { toMB, type CompareResult, type CompareRow, type RuntimeResult } from './types.js';

export interface CompareOptions {
  /** Run directories, HF checkpoint directories or Hub repo ids (ORG/NAME). */
  inputs: string[];
  /** The revision of every Hub repo id among the inputs (default main). */
  revision?: string;
  /** No download progress (quiet runs). */
  quiet?: boolean;
  data: string;
  format?: DatasetFormat;
  split?: string;
  /** Runtime names (torch, onnx, onnx-int8). */
  runtimes: string[];
  /** Latency input size. */
  height: number;
  width: number;
  iters: number;
  warmup: number;
  evalBatchSize: number;
  workers: number;
  /** evaluate each run at the size it was trained at (frames and labels resized), not the data's own */
  evalAtTrainSize?: boolean;
  /** the split is video: add each model's flicker and consistency (eval --sequence) */
  sequence?: boolean;
  seed?: number;
  log?: (line: string) => void;
}

export const COMPARE_FILES = { json: 'compare.json', markdown: 'compare.md', chart: 'compare.png', html: 'index.html' } as const;

export async function compareModels(o: CompareOptions): Promise<CompareResult> {
  const log = o.log ?? ((l: string) => console.error(l));
  if (o.inputs.length === 0) throw new CompareInputError('expected one or more run or checkpoint directories');
  // Everything that can be refused is refused before the first evaluation.
  const runtimes = compareRuntimes(o.runtimes);
  const inputs: (CompareInput & { opened: Checkpoint })[] = [];
  for (const input of o.inputs) {
    const ref = await resolveCheckpoint(input, { revision: isHubCheckpoint(input) ? o.revision : undefined, quiet: !!o.quiet, log });
    const inp = ref.hub ? { ...resolveInput(ref.dir), input, note: `Hub ${ref.hub.repo}, revision ${ref.hub.revision} = commit ${ref.hub.commit}` } : resolveInput(input);
    inputs.push({ ...inp, opened: openCheckpoint(inp.checkpoint) });
  }
  for (const inp of inputs) {
    for (const rt of runtimes) {
      const why = await rt.supports(inp.modelType);
      if (why) throw new CompareInputError(`${inp.input} (${inp.name}): runtime ${rt.name}: ${why}`);
    }
  }
  const threads = getNumThreads();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-compare-'));
  const models: CompareRow[] = [];
  let split = o.split ?? 'val';
  let data = path.resolve(o.data);
  try {
    for (const { opened: ckpt, ...inp } of inputs) {
      log(`${inp.name}: ${inp.checkpoint}${inp.note ? ` — ${inp.note}` : ''}`);
      const { model, weightsFile } = loadPretrained(ckpt, { log: () => undefined });
      // A run is scored as it scored itself (its eval size, scales and flip); a checkpoint at its own
      // streetseg_eval_scales (evaluateCheckpoint's default); with --eval-at-train-size, plainly.
      const ev0 = inp.training && !o.evalAtTrainSize ? inp.training.eval : null;
      const evalAs = o.evalAtTrainSize
        ? { scales: [1], flip: false }
        : ev0
          ? { scales: ev0.scales, flip: ev0.flip, ...(ev0.height && ev0.width ? { height: ev0.height, width: ev0.width } : {}) }
          : {};
      let latencyHeight = o.height;
      let latencyWidth = o.width;
      let row: CompareRow;
      try {
        const params = model.parameters().reduce((a, p) => a + p.numel, 0);
        const { ev, spec, split: s, scales } = await evaluateCheckpoint(model, ckpt, {
          data: o.data,
          ...(o.format ? { format: o.format } : {}),
          ...(o.split ? { split: o.split } : {}),
          batchSize: o.evalBatchSize,
          workers: o.workers,
          ...(o.evalAtTrainSize && inp.training ? { height: inp.training.height, width: inp.training.width } : {}),
          ...evalAs,
          ...(o.sequence ? { sequence: {} } : {}),
          classWeights: 'auto',
        });
        const t = ev.temporal;
        // One inference scale (no TTA) is how the model is deployed: time it at that size.
        const latencyScale = scales.length === 1 && !ev0?.flip ? scales[0]! : 1;
        ({ height: latencyHeight, width: latencyWidth } = scaledSize(o.height, o.width, latencyScale));
        split = spec.format === 'camseq01' ? 'all' : s;
        data = spec.root;
        const sizeBytes = weightsBytes(weightsFile);
        row = { ...inp, numImages: ev.numImages, meanIou: ev.metrics.meanIou, meanAccuracy: ev.metrics.meanAccuracy, overallAccuracy: ev.metrics.overallAccuracy, ...(t ? { temporal: { flicker: t.flicker, consistency: t.consistency, pairs: t.pairs } } : {}), params, weightsFile, sizeBytes, sizeMB: toMB(sizeBytes), runtimes: [], latencyHeight, latencyWidth };
        log(`  ${ev.numImages} images: mIoU ${ev.metrics.meanIou.toFixed(4)}  mAcc ${ev.metrics.meanAccuracy.toFixed(4)}  aAcc ${ev.metrics.overallAccuracy.toFixed(4)}${t ? `  flicker ${t.flicker.toFixed(4)}  consistency ${t.consistency.toFixed(4)}` : ''}`);
      } finally {
        model.dispose();
      }
      for (const rt of runtimes) {
        const dir = fs.mkdtempSync(path.join(tmp, `${models.length}-`));
        const file = await rt.prepare(ckpt, dir, data);
        const c = await measureInChild({ runtime: rt.name, checkpoint: inp.checkpoint, modelFile: file, height: latencyHeight, width: latencyWidth, iters: o.iters, warmup: o.warmup, threads, seed: o.seed ?? 0 });
        const fileBytes = weightsBytes(file);
        const r: RuntimeResult = { runtime: rt.name, latencyMs: c.medianMs, fps: 1000 / c.medianMs, peakRssMiB: c.peakRssMiB, file: rt.name === 'torch' ? file : path.basename(file), fileBytes, fileMB: toMB(fileBytes), timesMs: c.timesMs };
        row.runtimes.push(r);
        log(`  ${rt.name}: ${r.latencyMs.toFixed(1)} ms (${r.fps.toFixed(2)} FPS), peak RSS ${r.peakRssMiB} MiB, ${r.fileMB.toFixed(2)} MB`);
      }
      models.push(row);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { data, split, height: o.height, width: o.width, batch: 1, iters: o.iters, warmup: o.warmup, threads, models };
}

/** Writes compare.json, compare.md, compare.png and index.html into `dir`; links each input run's report to it. Returns index.html's path. */
export async function writeComparison(dir: string, r: CompareResult): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  writeJsonAtomic(path.join(dir, COMPARE_FILES.json), r);
  writeFileAtomic(path.join(dir, COMPARE_FILES.markdown), `${settingsText(r)}\n\n${markdownTable(compareTable(r))}`);
  writeFileAtomic(path.join(dir, COMPARE_FILES.chart), await svgToPng(compareChartSvg(r)));
  const index = path.resolve(dir, COMPARE_FILES.html);
  writeFileAtomic(index, compareHtml(r, COMPARE_FILES.chart));
  for (const m of r.models) {
    if (!m.training) continue;
    const reportDir = runPaths(m.training.runDir).report;
    fs.mkdirSync(reportDir, { recursive: true });
    addReportLink(reportDir, { href: path.relative(reportDir, index), text: `Model comparison (${r.models.map((x) => x.name).join(', ')})` });
  }
  return index;
}
