// `streetseg eval`: mean IoU / accuracy (HF evaluate semantics) of a checkpoint on a dataset split, in
// libtorch or in onnxruntime-node on its ONNX export (fp32 or int8), scored by the same evaluate().
import * as path from 'node:path';
import type { DatasetFormat } from '../../data/dataset.js';
import { ConfusionMatrix } from '../../metrics/confusion.js';
import { formatMetric as fmt, metricsJson, writeConfusionCsv } from '../../metrics/miou.js';
import { isScaleList } from '../../models/contract.js';
import type { PairStat } from '../../temporal/index.js';
import { RUNTIME_NAMES, type RuntimeName } from '../../compare/runtimes.js';
import { openCheckpoint, type Checkpoint } from '../../models/checkpoint.js';
import { loadPretrained } from '../../models/hf.js';
import { OnnxSegmenter } from '../../predict/onnx-runtime.js';
import type { EvalNet } from '../../train/evaluate.js';
import { evaluateCheckpoint, EvalInputError } from '../../train/eval-checkpoint.js';
import { hubOutputDir, resolveCheckpoint } from '../../hub/index.js';
import { writeFileAtomic } from '../../util/fs.js';
import { checkpointHelp, revisionOption } from '../checkpoint-option.js';
import { UsageError, type Command } from '../command.js';
import { smoothOption, smoothSpecOf } from '../smooth-option.js';
import { int8Options, int8Settings } from '../int8-options.js';

export const evalCommand: Command = {
  name: 'eval',
  usage: '--checkpoint DIR|ORG/NAME --data DIR [--revision REV] [--split val] [--runtime torch|onnx|onnx-int8 [--onnx FILE] [--calibrate DIR]] [--json] [--per-image] [--sequence [--smooth [METHOD[:PARAM=V,…]]]] [--out DIR]',
  options: [
    { name: 'checkpoint', type: 'string', help: checkpointHelp('HF checkpoint directory (config.json + model.safetensors)'), required: true },
    revisionOption,
    { name: 'data', type: 'string', help: 'dataset folder', required: true },
    { name: 'format', type: 'string', help: 'dataset layout (auto-detected if omitted)', choices: ['camseq01', 'camvid', 'folder'] },
    { name: 'split', type: 'string', help: 'camvid: split name (default val); folder: images/SPLIT; or a list file' },
    { name: 'runtime', type: 'string', choices: [...RUNTIME_NAMES], help: 'libtorch; or onnxruntime-node on the checkpoint exported now (onnx: fp32, onnx-int8: int8 weights as export --int8)', default: 'torch' },
    { name: 'onnx', type: 'string', help: 'with --runtime onnx or onnx-int8: evaluate this ONNX file instead of exporting the checkpoint' },
    ...int8Options('this CPU', "--data (a dataset's train split)"),
    { name: 'void', type: 'string', help: 'Void as a class or ignored (must match the checkpoint\'s labels)', choices: ['class', 'ignore'] },
    { name: 'height', type: 'int', min: 8, help: 'evaluation height (default: the images\' own)' },
    { name: 'width', type: 'int', min: 8, help: 'evaluation width (default: the images\' own)' },
    { name: 'scales', type: 'list', help: "input scales relative to the evaluation size, comma-separated (0.5 = half-size inference; several = multi-scale test-time augmentation); metrics stay at the label size [default: the checkpoint's streetseg_eval_scales, or its run's evalScales, or 1]" },
    { name: 'flip', type: 'boolean', help: 'test-time augmentation: also run the mirrored input and average the probabilities' },
    { name: 'batch-size', type: 'int', min: 1, help: 'batch size', default: 8 },
    { name: 'workers', type: 'int', min: 0, help: 'loader worker threads', default: 1 },
    { name: 'class-weights', type: 'string', help: 'weights of the loss: auto (the training run\'s), none, or comma-separated numbers', default: 'auto' },
    { name: 'per-image', type: 'boolean', help: 'rank images by their own mIoU (worst first)' },
    { name: 'sequence', type: 'boolean', help: "the split is video: frames in name order (a new sequence where the name's prefix before its frame number changes); adds temporal: flicker and consistency of consecutive frames, and temporal.csv" },
    smoothOption('the predictions (with --sequence); every metric then scores the smoothed predictions'),
    { name: 'out', type: 'string', help: 'write metrics.json, confusion.csv (and per-image.csv) here (default: the checkpoint directory\'s eval-<split>/; for a Hub repo id runs/hub/ORG--NAME/eval-<split>/)' },
    { name: 'json', type: 'boolean', help: 'print only the JSON result' },
  ],
  async run({ opts }) {
    const runtime = opts.runtime as RuntimeName;
    if (opts.onnx !== undefined && runtime === 'torch') throw new UsageError('streetseg eval: --onnx needs --runtime onnx or onnx-int8');
    const ref = await resolveCheckpoint(opts.checkpoint as string, { revision: opts.revision as string | undefined, quiet: !!opts.json });
    const ckpt = openCheckpoint(ref.dir);
    const given = opts.scales === undefined ? undefined : (opts.scales as string[]).map((v) => (v.trim() === '' ? NaN : Number(v)));
    if (given && !isScaleList(given)) throw new UsageError(`streetseg eval: --scales ${(opts.scales as string[]).join(',')}: expected comma-separated positive numbers, e.g. 0.75,1,1.25`);
    const smooth = smoothSpecOf('eval', opts.smooth, ckpt.dir);
    if (smooth && !opts.sequence) throw new UsageError('streetseg eval: --smooth smooths a video over time; give --sequence too');
    const loaded = await loadNet(ckpt, runtime, opts.onnx as string | undefined, int8Settings(opts, { calibrate: opts.data as string, ...(runtime === 'onnx-int8' && opts.onnx === undefined ? {} : { needs: '--runtime onnx-int8 (without --onnx)' }) }));
    try {
      const labels = [...ckpt.labels];
      let r;
      try {
        r = await evaluateCheckpoint(loaded.net, ckpt, {
          data: opts.data as string,
          ...(opts.format ? { format: opts.format as DatasetFormat } : {}),
          ...(opts.split ? { split: opts.split as string } : {}),
          ...(opts.void ? { void: opts.void as 'class' | 'ignore' } : {}),
          ...(opts.height && opts.width ? { height: opts.height as number, width: opts.width as number } : {}),
          batchSize: opts['batch-size'] as number,
          workers: opts.workers as number,
          classWeights: opts['class-weights'] as string,
          ...(given ? { scales: given } : {}),
          flip: !!opts.flip,
          ...(opts.sequence ? { sequence: { smooth: smooth ?? null } } : {}),
          onBatch: (d, n) => {
            if (!opts.json && process.stderr.isTTY) process.stderr.write(`\revaluating ${d}/${n}${d === n ? '\n' : ''}`);
          },
        });
      } catch (e) {
        if (e instanceof EvalInputError) throw new UsageError(`streetseg eval: ${e.message}`);
        throw e;
      }
      const { ev, spec, split, weights } = r;
      const t = ev.temporal;
      // Never into a Hub snapshot: the cache is shared and holds only what the Hub has.
      const outDir = (opts.out as string | undefined) ?? path.join(ref.hub ? hubOutputDir(ref.hub) : ckpt.dir, `eval-${spec.format === 'camseq01' ? 'all' : path.basename(split)}`);
      const result = {
        ...metricsJson(ev.metrics, labels),
        numImages: ev.numImages,
        loss: ev.loss,
        classWeights: weights,
        imagesPerSecond: ev.imagesPerSecond,
        // the cost of test-time augmentation shows here, per image (batched, so an upper bound on latency)
        msPerImage: 1000 / ev.imagesPerSecond,
        scales: r.scales,
        flip: !!opts.flip,
        runtime,
        ...(loaded.onnx ? { onnx: loaded.onnx } : {}),
        checkpoint: path.resolve(ckpt.dir),
        ...(ref.hub ? { hub: { repo: ref.hub.repo, revision: ref.hub.revision, commit: ref.hub.commit } } : {}),
        data: spec.root,
        confusionCsv: path.resolve(outDir, 'confusion.csv'),
        ...(t ? { temporal: { flicker: t.flicker, consistency: t.consistency, labelFlicker: t.labelFlicker, pairs: t.pairs, sequences: t.sequences, smooth: t.smooth, cuts: t.cuts, csv: path.resolve(outDir, 'temporal.csv') } } : {}),
      };
      writeConfusionCsv(path.join(outDir, 'confusion.csv'), ConfusionMatrix.fromJSON({ numClasses: labels.length, ignoreIndex: spec.classes.ignoreIndex, matrix: Array.from(ev.confusion) }), labels);
      writeFileAtomic(path.join(outDir, 'metrics.json'), JSON.stringify(result, null, 2) + '\n');
      if (t) writeFileAtomic(path.join(outDir, 'temporal.csv'), temporalCsv(t.perPair));
      const ranked = ev.perImage.slice().sort((a, b) => (Number.isNaN(a.miou) ? 1 : Number.isNaN(b.miou) ? -1 : a.miou - b.miou));
      if (opts['per-image']) {
        writeFileAtomic(path.join(outDir, 'per-image.csv'), ['id,miou', ...ranked.map((r) => `${r.id},${Number.isNaN(r.miou) ? '' : r.miou.toFixed(6)}`)].join('\n') + '\n');
      }
      if (!opts.json) {
        const m = ev.metrics;
        console.error(`${ev.numImages} images (${runtime}): mIoU ${fmt(m.meanIou)}  mAcc ${fmt(m.meanAccuracy)}  aAcc ${fmt(m.overallAccuracy)}  loss ${ev.loss.toFixed(4)}  (${ev.imagesPerSecond.toFixed(1)} img/s)`);
        labels.forEach((l, i) => console.error(`  ${l.padEnd(20)} IoU ${fmt(m.perClassIou[i]!)}  Acc ${fmt(m.perClassAccuracy[i]!)}`));
        if (t) console.error(`temporal: flicker ${pct(t.flicker)} (the labels' own ${pct(t.labelFlicker)})  consistency ${pct(t.consistency)}  over ${t.pairs} frame pairs in ${t.sequences} sequence(s)${t.smooth ? `, smoothed (${t.smooth}; ${t.cuts} scene cuts)` : ''}`);
        if (opts['per-image']) console.error(`worst images: ${ranked.slice(0, 5).map((r) => `${r.id} (${fmt(r.miou)})`).join(', ')}`);
      }
      console.log(JSON.stringify(opts['per-image'] ? { ...result, perImage: ranked } : result));
    } finally {
      loaded.dispose();
    }
  },
};

/**
 * The network eval scores: the checkpoint's model in libtorch, or an ONNX model in onnxruntime-node (the
 * file given, or the checkpoint exported now), with what the result records about that ONNX model.
 */
async function loadNet(ckpt: Checkpoint, runtime: RuntimeName, onnx: string | undefined, int8: ReturnType<typeof int8Settings>): Promise<{ net: EvalNet; onnx?: Record<string, unknown>; dispose(): void }> {
  if (runtime === 'torch') {
    const { model } = loadPretrained(ckpt, { log: () => undefined });
    return { net: model, dispose: () => model.dispose() };
  }
  if (onnx !== undefined) {
    const seg = await OnnxSegmenter.load(ckpt, onnx);
    return { net: seg, onnx: { file: path.resolve(onnx) }, dispose: () => seg.dispose() };
  }
  const quantised = runtime === 'onnx-int8';
  const { segmenter, exported: e } = await OnnxSegmenter.fromExport(ckpt, { int8: quantised, ...(quantised ? int8 : {}), log: () => undefined });
  return {
    net: segmenter,
    onnx: { exported: true, int8: e.int8, opset: e.opset, bytes: e.bytes, maxAbsDiff: e.maxAbsDiff, ...(e.maxAbsDiffVsFp32 !== undefined ? { maxAbsDiffVsFp32: e.maxAbsDiffVsFp32 } : {}), dynamicLinears: e.dynamicLinears, ...(e.relRms !== undefined ? { relRms: e.relRms } : {}), ...(e.convs ? { convs: e.convs } : {}) },
    dispose: () => segmenter.dispose(),
  };
}

const pct = (v: number): string => (Number.isFinite(v) ? `${(100 * v).toFixed(2)}%` : 'n/a');

/** One row per consecutive frame pair: from,to,flicker,consistency,label_flicker (empty where not defined: no labelled pixel stable, no labels). */
function temporalCsv(pairs: readonly PairStat[]): string {
  const num = (v: number): string => (Number.isFinite(v) ? v.toFixed(6) : '');
  return ['from,to,flicker,consistency,label_flicker', ...pairs.map((p) => `${p.from},${p.to},${num(p.flicker)},${num(p.consistency)},${num(p.labelFlicker)}`)].join('\n') + '\n';
}
