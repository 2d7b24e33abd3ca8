// Temporal smoothers side by side on video splits: each frame goes through the model once (evaluation's own
// path: labelSizeScores at the checkpoint's scales), and its probabilities through every candidate smoother,
// each with its own state, confusion matrix and temporal meter. So every row equals `streetseg eval
// --sequence --smooth ROW` on the same split, at one model pass per frame for the whole table.
//
// Parameters are chosen on the tuning frames (another split, or a range of the reported split's frames,
// whose other frames are then also reported on their own as held out), by the issue's targets as the rule:
// among candidates that halve the tuning flicker with mIoU at most `maxMiouDrop` below the unsmoothed
// model's and consistency not lower, the highest tuning mIoU; when none does, the lowest tuning flicker
// among those that keep that mIoU and consistency.
import { DataLoader } from '../src/data/loader.js';
import type { DatasetSpec } from '../src/data/types.js';
import { ConfusionMatrix } from '../src/metrics/confusion.js';
import { computeMetrics } from '../src/metrics/miou.js';
import { openCheckpoint } from '../src/models/checkpoint.js';
import { loadPretrained } from '../src/models/hf.js';
import { areaResizeRgb, formatSmoothSpec, meanFrameDifference, parseSmoothSpec, sequenceKey, TemporalStream, type StreamFrame } from '../src/temporal/index.js';
import { batchToTensors } from '../src/data/tensors.js';
import { inferenceMode, tidy } from '../src/torch/index.js';
import { frameImage, smoothingScores } from '../src/train/evaluate.js';
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
  ...[0.3, 0.2, 0.1, 0.05].flatMap((a) => [15, 25, 40].flatMap((t) => [0, 0.1, 0.2].map((m) => `flow:alpha=${a},tau=${t},margin=${m}`))),
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
  /** tuning frames: only ids from the first to the last, inclusive, in name order */
  tuneRange?: [string, string];
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
  /** the labels' own flicker over the same frame pairs (the same for every candidate) */
  labelFlicker: number;
  cuts: number;
}

export interface SmoothRow {
  smooth: string;
  tune: SetResult | null;
  eval: SetResult;
  /** the reported split's frames that are not tuning frames (when the tuning frames are a part of it) */
  heldOut: SetResult | null;
  /** smoother + meter per frame (ms); the meter alone is the "none" row's */
  msPerFrame: number;
}

export interface SetInfo {
  data: string;
  split: string;
  sequences: string[];
  frames: number;
  /**
   * (Measured over a whole split; null for a part of one.) Mean absolute RGB difference (0–255) of consecutive frames at the probabilities' size (what the cut test
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
  heldOut: SetInfo | null;
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

/**
 * The frames `indices` through the model once each, and their probabilities through every candidate: once
 * over all of them, and once more over each part (frame ids) given, each with its own streams, so that a
 * part's numbers are those of running it alone.
 */
async function runSet(
  model: ReturnType<typeof loadPretrained>['model'],
  spec: DatasetSpec,
  indices: number[],
  specs: string[],
  scales: number[],
  o: SmoothBenchOptions,
  timing: { modelMs: number; probsMs: number; frames: number },
  parts: Set<string>[] = [],
): Promise<{ results: Acc[]; parts: Acc[][]; diffs: number[]; jumps: number[] }> {
  const k = model.labels.length;
  const ignore = spec.classes.ignoreIndex;
  const accsOf = (): Acc[] => specs.map((s) => ({ stream: new TemporalStream({ numClasses: k, smooth: parseSmoothSpec(s), ignoreIndex: ignore }), cm: new ConfusionMatrix(k, ignore), ms: 0, frames: 0 }));
  const accs = accsOf();
  const partAccs = parts.map(accsOf);
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
          const { up, probs } = smoothingScores(model, batch, pixelValues, scales, false);
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
        const image = frameImage(batch, i);
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
        const feed = (a: Acc): void => {
          const t = performance.now();
          const p = a.stream.frame(frame);
          a.ms += performance.now() - t;
          a.frames++;
          a.cm.update(p, label);
        };
        accs.forEach(feed);
        parts.forEach((ids, j) => ids.has(id) && partAccs[j]!.forEach(feed));
      }
      await new Promise<void>((r) => setImmediate(r));
    }
  } finally {
    await loader.close();
  }
  return { results: accs, parts: partAccs, diffs, jumps };
}

const setResult = (a: Acc, k: number): SetResult => {
  const t = a.stream.result();
  return { meanIou: computeMetrics(a.cm.matrix, k).meanIou, flicker: t.flicker, consistency: t.consistency, labelFlicker: t.labelFlicker, cuts: t.cuts };
};

function setInfo(spec: DatasetSpec, split: string, indices: number[], d: { diffs: number[]; jumps: number[] }): SetInfo {
  const seqs = [...new Set(indices.map((i) => sequenceKey(spec.samples[i]!.id)))];
  const { diffs, jumps } = d;
  return { data: spec.root, split, sequences: seqs, frames: indices.length, frameDifference: { median: diffs.length ? median(diffs) : NaN, max: diffs.length ? Math.max(...diffs) : NaN, betweenSequences: jumps } };
}

/** The rule (module comment): the targets met with the highest mIoU, else the lowest flicker that keeps mIoU and consistency. */
export function chooseSmoother(rows: { smooth: string; on: SetResult }[], maxDrop: number): string {
  const base = rows.find((r) => r.smooth === 'none')?.on;
  if (!base) throw new Error('chooseSmoother: no "none" row to compare with');
  const keeps = rows.filter((r) => r.on.meanIou >= base.meanIou - maxDrop && !(r.on.consistency < base.consistency));
  const halves = keeps.filter((r) => r.smooth !== 'none' && r.on.flicker <= base.flicker / 2);
  if (halves.length) return halves.sort((a, b) => b.on.meanIou - a.on.meanIou || a.on.flicker - b.on.flicker)[0]!.smooth;
  return keeps.sort((a, b) => a.on.flicker - b.on.flicker || b.on.meanIou - a.on.meanIou)[0]?.smooth ?? 'none';
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
    const split = o.split ?? 'val';
    const open = (name: string, tuning: boolean) => {
      const { spec } = openCheckpointSplit(ckpt.labels, ckpt.dir, { data: o.data, split: name });
      const all = framesInNameOrder(spec);
      const [first, last] = tuning && o.tuneRange ? o.tuneRange : ['', ''];
      const keep = (id: string): boolean =>
        !tuning || ((!o.tuneSequences?.length || o.tuneSequences.some((p) => id.startsWith(p))) && (!o.tuneRange || (id >= first && id <= last)));
      const indices = all.filter((i) => keep(spec.samples[i]!.id));
      const what = tuning ? [o.tuneSequences?.length ? `sequences ${o.tuneSequences.join(',')}` : '', o.tuneRange ? `frames ${first}..${last}` : ''].filter(Boolean).join(', ') : '';
      if (indices.length < 2) throw new Error(`${spec.root} (${name}${what ? `, ${what}` : ''}): ${indices.length} frames; a sequence needs at least 2`);
      return { spec, indices, split: name };
    };
    const evalSet = open(split, false);
    const tuneSet = o.tuneSplit ? open(o.tuneSplit, true) : null;
    // tuning frames taken from the reported split: one model pass, the rest reported as held out
    const within = tuneSet !== null && tuneSet.split === split && tuneSet.spec.root === evalSet.spec.root;
    const tuneIds = within ? new Set(tuneSet.indices.map((i) => tuneSet.spec.samples[i]!.id)) : null;
    const heldIdx = tuneIds ? evalSet.indices.filter((i) => !tuneIds.has(evalSet.spec.samples[i]!.id)) : [];
    if (tuneIds && heldIdx.length < 2) throw new Error(`${evalSet.spec.root} (${split}): ${heldIdx.length} frames left beside the tuning frames; held-out frames need at least 2`);
    const heldIds = new Set(heldIdx.map((i) => evalSet.spec.samples[i]!.id));
    let tuneAccs: Acc[] | null = null;
    let tuneInfo: SetInfo | null = null;
    if (tuneSet && !within) {
      log(`bench smooth: ${specs.length} candidates on ${tuneSet.indices.length} tuning frames (${tuneSet.split})`);
      const t = await runSet(model, tuneSet.spec, tuneSet.indices, specs, scales, o, timing);
      tuneAccs = t.results;
      tuneInfo = setInfo(tuneSet.spec, tuneSet.split, tuneSet.indices, t);
    }
    log(`bench smooth: ${specs.length} candidates on ${evalSet.indices.length} frames (${evalSet.split})${within ? `, ${tuneIds!.size} of them tuning frames` : ''}`);
    const ev = await runSet(model, evalSet.spec, evalSet.indices, specs, scales, o, timing, tuneIds ? [tuneIds, heldIds] : []);
    if (tuneIds) {
      tuneAccs = ev.parts[0]!;
      tuneInfo = setInfo(evalSet.spec, split, tuneSet!.indices, { diffs: [], jumps: [] });
    }
    const heldAccs = tuneIds ? ev.parts[1]! : null;
    const rows: SmoothRow[] = specs.map((smooth, i) => {
      const e = ev.results[i]!;
      const t = within ? undefined : tuneAccs?.[i];
      return {
        smooth,
        tune: tuneAccs ? setResult(tuneAccs[i]!, k) : null,
        eval: setResult(e, k),
        heldOut: heldAccs ? setResult(heldAccs[i]!, k) : null,
        msPerFrame: (e.ms + (t?.ms ?? 0)) / (e.frames + (t?.frames ?? 0)),
      };
    });
    const on = tuneSet ? `the tuning frames (${tuneSet.split}${o.tuneSequences?.length ? ` ${o.tuneSequences.join(',')}` : ''}${o.tuneRange ? ` ${o.tuneRange.join('..')}` : ''})` : `the reported split (${evalSet.split}; no tuning split given)`;
    return {
      checkpoint: o.checkpoint,
      scales,
      modelMsPerFrame: timing.modelMs / timing.frames,
      probsMsPerFrame: timing.probsMs / timing.frames,
      tune: tuneInfo,
      eval: setInfo(evalSet.spec, evalSet.split, evalSet.indices, ev),
      heldOut: tuneIds ? setInfo(evalSet.spec, split, heldIdx, { diffs: [], jumps: [] }) : null,
      rows,
      best: chooseSmoother(rows.map((r) => ({ smooth: r.smooth, on: r.tune ?? r.eval })), maxDrop),
      rule: `on ${on}: among candidates with flicker at most half the unsmoothed model's, mIoU at most ${100 * maxDrop} points below its and consistency not below it, the highest mIoU; if none, the lowest flicker with that mIoU and consistency`,
    };
  } finally {
    model.dispose();
  }
}

/** The table as markdown: one row per candidate, tuning, reported and held-out frames side by side (%, ms). */
export function smoothTable(b: SmoothBench): string {
  const pct = (v: number | undefined): string => (v !== undefined && Number.isFinite(v) ? (100 * v).toFixed(2) : 'n/a');
  const base = b.rows.find((r) => r.smooth === 'none')!;
  const rel = (v: number, ref: number): string => (Number.isFinite(v) && ref > 0 ? `${v >= ref ? '+' : '−'}${Math.abs((100 * (v - ref)) / ref).toFixed(0)}%` : 'n/a');
  const sets = (['tune', 'eval', 'heldOut'] as const).filter((s) => b[s] !== null);
  const names = { tune: b.heldOut ? 'tune' : (b.tune?.split ?? ''), eval: b.eval.split, heldOut: 'held-out' };
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
  lines.push('', `The labels' own flicker (what changes because the scene moves): ${sets.map((s) => `${names[s]} ${pct(base[s]!.labelFlicker)}%`).join(', ')}.`);
  return lines.join('\n') + '\n';
}
