// `streetseg eval`: mean IoU / accuracy (HF evaluate semantics) of a checkpoint on a dataset split.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataLoader } from '../../data/loader.js';
import { openDataset, type OpenOptions } from '../../data/dataset.js';
import { ConfusionMatrix } from '../../metrics/confusion.js';
import { metricsJson, writeConfusionCsv } from '../../metrics/miou.js';
import { loadPretrained } from '../../models/hf.js';
import { tensor } from '../../torch/index.js';
import { evaluate } from '../../train/evaluate.js';
import { writeFileAtomic } from '../../util/fs.js';
import { UsageError, type Command } from '../command.js';

/** Class weights for the eval loss: explicit numbers, none, or (auto) those of the run the checkpoint came from. */
function evalWeights(spec: string, checkpoint: string, numClasses: number): number[] | null {
  if (spec === 'none') return null;
  if (spec === 'auto') {
    const runConfig = path.join(checkpoint, '..', '..', 'config.json');
    if (!fs.existsSync(runConfig)) return null;
    const w = (JSON.parse(fs.readFileSync(runConfig, 'utf8')) as { resolved?: { classWeightValues?: number[] | null } }).resolved?.classWeightValues;
    return Array.isArray(w) && w.length === numClasses ? w : null;
  }
  const w = spec.split(',').map(Number);
  if (w.length !== numClasses || !w.every((x) => Number.isFinite(x) && x >= 0)) {
    throw new UsageError(`streetseg eval: --class-weights ${spec}: expected auto, none or ${numClasses} non-negative numbers`);
  }
  return w;
}

export const evalCommand: Command = {
  name: 'eval',
  usage: '--checkpoint DIR --data DIR [--split val] [--json] [--per-image] [--out DIR]',
  options: [
    { name: 'checkpoint', type: 'string', help: 'HF checkpoint directory (config.json + model.safetensors)', required: true },
    { name: 'data', type: 'string', help: 'dataset folder', required: true },
    { name: 'format', type: 'string', help: 'dataset layout (auto-detected if omitted)', choices: ['camseq01', 'camvid', 'folder'] },
    { name: 'split', type: 'string', help: 'camvid: split name (default val); folder: images/SPLIT; or a list file' },
    { name: 'void', type: 'string', help: 'Void as a class or ignored (must match the checkpoint\'s labels)', choices: ['class', 'ignore'] },
    { name: 'height', type: 'int', min: 8, help: 'evaluation height (default: the images\' own)' },
    { name: 'width', type: 'int', min: 8, help: 'evaluation width (default: the images\' own)' },
    { name: 'batch-size', type: 'int', min: 1, help: 'batch size', default: 8 },
    { name: 'workers', type: 'int', min: 0, help: 'loader worker threads', default: 1 },
    { name: 'class-weights', type: 'string', help: 'weights of the loss: auto (the training run\'s), none, or comma-separated numbers', default: 'auto' },
    { name: 'per-image', type: 'boolean', help: 'rank images by their own mIoU (worst first)' },
    { name: 'out', type: 'string', help: 'write metrics.json, confusion.csv (and per-image.csv) here (default: the checkpoint directory\'s eval-<split>/)' },
    { name: 'json', type: 'boolean', help: 'print only the JSON result' },
  ],
  async run({ opts }) {
    const ckpt = opts.checkpoint as string;
    const { model } = loadPretrained(ckpt, { log: () => undefined });
    try {
      const labels = model.labels;
      const split = (opts.split as string | undefined) ?? 'val';
      const voidMode = (opts.void as 'class' | 'ignore' | undefined) ?? (labels.some((l) => /^void$/i.test(l)) ? 'class' : 'ignore');
      const openOpts: OpenOptions = { void: voidMode, ...(opts.format ? { format: opts.format as OpenOptions['format'] } : {}) };
      let spec = openDataset(opts.data as string, openOpts);
      if (spec.format !== 'camseq01') spec = openDataset(opts.data as string, { ...openOpts, split });
      if (spec.classes.names.length !== labels.length) {
        throw new UsageError(`streetseg eval: ${ckpt} predicts ${labels.length} classes (${labels.join(', ')}) but ${spec.root} has ${spec.classes.names.length} (${spec.classes.names.join(', ')}); try --void ${voidMode === 'class' ? 'ignore' : 'class'}`);
      }
      const h = opts.height as number | undefined;
      const w = opts.width as number | undefined;
      const loader = new DataLoader({ dataset: spec, batchSize: opts['batch-size'] as number, workers: opts.workers as number, augment: 'none', ...(h && w ? { height: h, width: w } : {}) });
      const weights = evalWeights(opts['class-weights'] as string, ckpt, labels.length);
      const weightT = weights ? tensor(weights, [weights.length]) : null;
      let ev;
      try {
        ev = await evaluate(model, loader, {
          numClasses: labels.length,
          ignoreIndex: spec.classes.ignoreIndex,
          weight: weightT,
          onBatch: (d, n) => {
            if (!opts.json && process.stderr.isTTY) process.stderr.write(`\revaluating ${d}/${n}${d === n ? '\n' : ''}`);
          },
        });
      } finally {
        weightT?.dispose();
        await loader.close();
      }
      const outDir = (opts.out as string | undefined) ?? path.join(ckpt, `eval-${spec.format === 'camseq01' ? 'all' : path.basename(split)}`);
      const result = {
        ...metricsJson(ev.metrics, labels),
        numImages: ev.numImages,
        loss: ev.loss,
        classWeights: weights,
        imagesPerSecond: ev.imagesPerSecond,
        checkpoint: path.resolve(ckpt),
        data: spec.root,
        confusionCsv: path.resolve(outDir, 'confusion.csv'),
      };
      writeConfusionCsv(path.join(outDir, 'confusion.csv'), ConfusionMatrix.fromJSON({ numClasses: labels.length, ignoreIndex: spec.classes.ignoreIndex, matrix: Array.from(ev.confusion) }), labels);
      writeFileAtomic(path.join(outDir, 'metrics.json'), JSON.stringify(result, null, 2) + '\n');
      const ranked = ev.perImage.slice().sort((a, b) => (Number.isNaN(a.miou) ? 1 : Number.isNaN(b.miou) ? -1 : a.miou - b.miou));
      if (opts['per-image']) {
        writeFileAtomic(path.join(outDir, 'per-image.csv'), ['id,miou', ...ranked.map((r) => `${r.id},${Number.isNaN(r.miou) ? '' : r.miou.toFixed(6)}`)].join('\n') + '\n');
      }
      if (!opts.json) {
        const m = ev.metrics;
        console.error(`${ev.numImages} images: mIoU ${m.meanIou.toFixed(4)}  mAcc ${m.meanAccuracy.toFixed(4)}  aAcc ${m.overallAccuracy.toFixed(4)}  loss ${ev.loss.toFixed(4)}  (${ev.imagesPerSecond.toFixed(1)} img/s)`);
        labels.forEach((l, i) => console.error(`  ${l.padEnd(20)} IoU ${fmt(m.perClassIou[i]!)}  Acc ${fmt(m.perClassAccuracy[i]!)}`));
        if (opts['per-image']) console.error(`worst images: ${ranked.slice(0, 5).map((r) => `${r.id} (${fmt(r.miou)})`).join(', ')}`);
      }
      console.log(JSON.stringify(opts['per-image'] ? { ...result, perImage: ranked } : result));
    } finally {
      model.dispose();
    }
  },
};

const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(4) : ' n/a ');
