// Temporal smoothers side by side on video splits: each frame goes through the model once (evaluation's own
// path: labelSizeScores at the checkpoint's scales), and its probabilities through every candidate smoother,
// each with its own state, confusion matrix and temporal meter. So every row equals `streetseg eval
// --sequence --smooth ROW` on the same split, at one model pass per frame for the whole table.
//
// Parameters are chosen on the tuning split (frames of other drives), never on the reported split: the
// best is the candidate with the lowest tuning flicker whose tuning mIoU is within `maxMiouDrop` of the
// unsmoothed model's and whose consistency is not lower.
import { DataLoader } from '../src/data/loader.js';
import type { DatasetSpec } from '../src/data/types.js';
import { ConfusionMatrix } from '../src/metrics/confusion.js';
import { computeMetrics } from '../src/metrics/miou.js';
import { openCheckpoint } from '../src/models/checkpoint.js';
import { loadPretrained } from '../src/models/hf.js';
import { areaResizeRgb, formatSmoothSpec, meanFrameDifference, parseSmoothSpec, sequenceKey, TemporalStream, type StreamFrame } from '../src/temporal/index.js';
import { batchToTensors } from '../src/data/tensors.js';
import { inferenceMode, tidy } from '../src/torch/index.js';
import { denormalize, smoothingScores } from '../src/train/evaluate.js';
import { defaultEvalScales, framesInNameOrder, openCheckpointSplit } from '../src/train/eval-checkpoint.js';
import { median } from '../src/util/median.js';

/** The default grid: each method at a few strengths, cheapest first. */
export const DEFAULT_CANDIDATES = [
  'none',
  ...[0.7, 0.5, 0.3, 0.2].map((a) => `ema:alpha=${a}`),
  ...[0.1, 0.2, 0.3, 0.4].map((m) => `hysteresis:margin=${m}`),
  ...[0.1, 0.2].map((m) => `ema:alpha=0.5,margin=${m}`),
  ...[0.5, 0.3, 0.2].flatMap((a) => [32, 64, 128].map((t) => `motion:alpha=${a},tau=${t}`)),
  ...[0.1, 0.2].map((m) => `motion:alpha=0.3,tau=64,margin=${m}`),
  'motion:alpha=0.2,tau=64,margin=0.2',
];

export interface SmoothBenchOptions {
  checkpoint: string;
  data: string;
  /** the reported split (default val) */
  split?: string;
  /** the split parameters are chosen on; null: choose on `split` itself (said so in the output) */
  tuneSplit?: string | null;
  /** tuning frames: only those whose id starts with one of these (default all) */
  tuneSequences?: string[];
  candidates?: string[];
  /** largest tolerated mIoU loss (fraction) on the tuning split; default 0.005 (half a point) */
  maxMiouDrop?: number;
  batchSize?: number;
  workers?: number;
  log?: (line: string) => void;
}

export interface SetResult {
  meanIou: number;
  flicker: number;
  consistency: number;
  cuts: number;
}

export interface SmoothRow {
  smooth: string;
  tune: SetResult | null;
  eval: SetResult;
  /** smoother + meter per frame (ms); the meter alone is the "none" row's */
  msPerFrame: number;
}

export interface SetInfo {
  data: string;
  split: string;
  sequences: string[];
  frames: number;
  /**
   * Mean absolute RGB difference (0–255) of consecutive frames at the probabilities' size (what the cut test
   * sees): within sequences (what a cut threshold must stay above), and from the last frame of one sequence
   * to the first of the next (real scene changes, which it must catch).
   */
  frameDifference: { median: number; max: number; betweenSequences: number[] };
}

export interface SmoothBench {
  checkpoint: string;
  scales: number[];
  /** model forward + upsampling + argmax per frame (ms, batched) */
  modelMsPerFrame: number;
  /** the probabilities' copy out of libtorch per frame (ms; the softmax at the model's output size is in modelMsPerFrame) */
  probsMsPerFrame: number;
  tune: SetInfo | null;
  eval: SetInfo;
  rows: SmoothRow[];
  /** the chosen candidate and the rule it was chosen by */
  best: string;
  rule: string;
}

interface Acc {
  stream: TemporalStream;
  cm: ConfusionMatrix;
  ms: number;
  frames: number;
}

async function runSet(
  model: ReturnType<typeof loadPretrained>['model'],
  spec: DatasetSpec,
  indices: number[],
  specs: string[],
  scales: number[],
  o: SmoothBenchOptions,
  timing: { modelMs: number; probsMs: number; frames: number },
): Promise<{ results: Acc[]; diffs: number[]; jumps: number[] }> {
  const k = model.labels.length;
  const ignore = spec.classes.ignoreIndex;
  const accs: Acc[] = specs.map((s) => ({ stream: new TemporalStream({ numClasses: k, smooth: parseSmoothSpec(s), ignoreIndex: ignore }), cm: new ConfusionMatrix(k, ignore), ms: 0, frames: 0 }));
  const loader = new DataLoader({ dataset: spec, indices, batchSize: o.batchSize ?? 8, workers: o.workers ?? 1, augment: 'none' });
  const diffs: number[] = [];
  const jumps: number[] = [];
  let prev: { key: string; small: Uint8Array } | null = null;
  try {
    for await (const batch of loader.epoch(0)) {
      const t0 = performance.now();
      const out = inferenceMode(() =>
        tidy(() => {
          const { pixelValues } = batchToTensors(batch);
          const { up, probs } = smoothingScores(model, pixelValues, batch.height, batch.width, scales, false);
          const ids = up.argmax(1).to('uint8').toArray() as Uint8Array;
          const t1 = performance.now();
          const data = probs.toArray() as Float32Array;
          return { ids, probs: { data, height: probs.size(2), width: probs.size(3) }, t1, t2: performance.now() };
        }),
      );
      timing.modelMs += out.t1 - t0;
      timing.probsMs += out.t2 - out.t1;
      timing.frames += batch.n;
      const hw = batch.height * batch.width;
      for (let i = 0; i < batch.n; i++) {
        const id = batch.ids[i]!;
        const image = denormalize(batch, i);
        const key = sequenceKey(id);
        // at the probabilities' size, where the smoother's cut test looks
        const small = areaResizeRgb(image, batch.width, batch.height, out.probs.width, out.probs.height);
        if (prev && prev.small.length === small.length) (prev.key === key ? diffs : jumps).push(meanFrameDifference(prev.small, small));
        prev = { key, small };
        const label = batch.labels.subarray(i * hw, (i + 1) * hw);
        const ph = k * out.probs.height * out.probs.width;
        const frame: StreamFrame = {
          id,
          sequence: key,
          width: batch.width,
          height: batch.height,
          ids: out.ids.subarray(i * hw, (i + 1) * hw),
          probs: { ...out.probs, data: out.probs.data.subarray(i * ph, (i + 1) * ph) },
          image: { data: image, width: batch.width, height: batch.height },
          label,
        };
        for (const a of accs) {
          const t = performance.now();
          const p = a.stream.frame(frame);
          a.ms += performance.now() - t;
          a.frames++;
          a.cm.update(p, label);
        }
      }
      await new Promise<void>((r) => setImmediate(r));
    }
  } finally {
    await loader.close();
  }
  return { results: accs, diffs, jumps };
}

const setResult = (a: Acc, k: number): SetResult => {
  const t = a.stream.result();
  return { meanIou: computeMetrics(a.cm.matrix, k).meanIou, flicker: t.flicker, consistency: t.consistency, cuts: t.cuts };
};

function setInfo(spec: DatasetSpec, split: string, indices: number[], d: { diffs: number[]; jumps: number[] }): SetInfo {
  const seqs = [...new Set(indices.map((i) => sequenceKey(spec.samples[i]!.id)))];
  const { diffs, jumps } = d;
  return { data: spec.root, split, sequences: seqs, frames: indices.length, frameDifference: { median: diffs.length ? median(diffs) : NaN, max: diffs.length ? Math.max(...diffs) : NaN, betweenSequences: jumps } };
}

export async function benchSmooth(o: SmoothBenchOptions): Promise<SmoothBench> {
  const log = o.log ?? ((l: string) => console.error(l));
  // canonical texts, so that rows name every parameter; a bad spec fails before the model loads
  const specs = [...new Set((o.candidates ?? DEFAULT_CANDIDATES).map((c) => formatSmoothSpec(parseSmoothSpec(c))))];
  if (!specs.includes('none')) specs.unshift('none');
  const maxDrop = o.maxMiouDrop ?? 0.005;
  const ckpt = openCheckpoint(o.checkpoint);
  const { model } = loadPretrained(ckpt, { log: () => undefined });
  try {
    model.eval();
    const k = model.labels.length;
    const scales = defaultEvalScales(ckpt);
    const timing = { modelMs: 0, probsMs: 0, frames: 0 };
    const open = (split: string, prefixes: string[] | undefined) => {
      const { spec } = openCheckpointSplit(ckpt.labels, ckpt.dir, { data: o.data, split });
      const indices = framesInNameOrder(spec).filter((i) => !prefixes?.length || prefixes.some((p) => spec.samples[i]!.id.startsWith(p)));
      if (indices.length < 2) throw new Error(`${spec.root} (${split}${prefixes?.length ? `, sequences ${prefixes.join(',')}` : ''}): ${indices.length} frames; a sequence needs at least 2`);
      return { spec, indices, split };
    };
    const evalSet = open(o.split ?? 'val', undefined);
    const tuneSet = o.tuneSplit ? open(o.tuneSplit, o.tuneSequences) : null;
    let tune: Awaited<ReturnType<typeof runSet>> | null = null;
    if (tuneSet) {
      log(`bench smooth: ${specs.length} candidates on ${tuneSet.indices.length} tuning frames (${tuneSet.split})`);
      tune = await runSet(model, tuneSet.spec, tuneSet.indices, specs, scales, o, timing);
    }
    log(`bench smooth: ${specs.length} candidates on ${evalSet.indices.length} frames (${evalSet.split})`);
    const ev = await runSet(model, evalSet.spec, evalSet.indices, specs, scales, o, timing);
    const rows: SmoothRow[] = specs.map((smooth, i) => {
      const e = ev.results[i]!;
      const t = tune?.results[i];
      return { smooth, tune: t ? setResult(t, k) : null, eval: setResult(e, k), msPerFrame: (e.ms + (t?.ms ?? 0)) / (e.frames + (t?.frames ?? 0)) };
    });
    const pick = (r: SmoothRow): SetResult => r.tune ?? r.eval;
    const base = pick(rows[specs.indexOf('none')]!);
    const ok = rows.filter((r) => pick(r).meanIou >= base.meanIou - maxDrop && !(pick(r).consistency < base.consistency));
    ok.sort((a, b) => pick(a).flicker - pick(b).flicker || pick(b).meanIou - pick(a).meanIou);
    const on = tuneSet ? `the tuning split (${tuneSet.split})` : `the reported split (${evalSet.split}; no tuning split given)`;
    return {
      checkpoint: o.checkpoint,
      scales,
      modelMsPerFrame: timing.modelMs / timing.frames,
      probsMsPerFrame: timing.probsMs / timing.frames,
      tune: tuneSet && tune ? setInfo(tuneSet.spec, tuneSet.split, tuneSet.indices, tune) : null,
      eval: setInfo(evalSet.spec, evalSet.split, evalSet.indices, ev),
      rows,
      best: ok[0]?.smooth ?? 'none',
      rule: `lowest flicker on ${on} among candidates with mIoU at most ${100 * maxDrop} points below the unsmoothed model's and consistency not below it`,
    };
  } finally {
    model.dispose();
  }
}

/** The table as markdown: one row per candidate, tuning and reported split side by side (%, ms). */
export function smoothTable(b: SmoothBench): string {
  const pct = (v: number | undefined): string => (v !== undefined && Number.isFinite(v) ? (100 * v).toFixed(2) : 'n/a');
  const base = b.rows.find((r) => r.smooth === 'none')!;
  const rel = (v: number, ref: number): string => (Number.isFinite(v) && ref > 0 ? `${v >= ref ? '+' : '−'}${Math.abs((100 * (v - ref)) / ref).toFixed(0)}%` : 'n/a');
  const sets = b.tune ? (['tune', 'eval'] as const) : (['eval'] as const);
  const names = { tune: b.tune?.split ?? '', eval: b.eval.split };
  const head = ['smoothing', ...sets.flatMap((s) => [`${names[s]} mIoU %`, `${names[s]} flicker %`, `Δ flicker`, `${names[s]} consistency %`]), 'ms/frame'];
  const lines = [`| ${head.join(' | ')} |`, `|---|${head.slice(1).map(() => '---:').join('|')}|`];
  for (const r of b.rows) {
    const cells = [r.smooth === b.best ? `**${r.smooth}**` : r.smooth];
    for (const s of sets) {
      const x = r[s]!;
      cells.push(pct(x.meanIou), pct(x.flicker), rel(x.flicker, base[s]!.flicker), pct(x.consistency));
    }
    cells.push(r.msPerFrame.toFixed(1));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
