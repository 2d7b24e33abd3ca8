// `streetseg compare`: the model table (mIoU, accuracy, size, parameters, latency/FPS/peak RSS per
// runtime) of trained runs or checkpoints; with --out also compare.json/.md, a chart PNG and index.html.
import { compareModels, writeComparison } from '../../compare/compare.js';
import { CompareInputError } from '../../compare/errors.js';
import { RUNTIME_NAMES } from '../../compare/runtimes.js';
import { compareTable, markdownTable, settingsText, textTable } from '../../compare/table.js';
import type { DatasetFormat } from '../../data/dataset.js';
import { EvalInputError } from '../../train/eval-checkpoint.js';
import { revisionOption } from '../checkpoint-option.js';
import { UsageError, type Command } from '../command.js';

export const compareCommand: Command = {
  name: 'compare',
  usage: 'RUN_OR_CHECKPOINT_OR_ORG/NAME… --data DIR [--revision REV] [--split val] [--json|--markdown] [--out DIR] [--runtimes torch,onnx,onnx-int8] [--height 360 --width 480] [--iters N] [--sequence]',
  options: [
    { name: 'data', type: 'string', help: 'dataset folder to evaluate on', required: true },
    { ...revisionOption, help: 'branch, tag or commit of every Hub repo id (ORG/NAME) among the inputs [default: main]' },
    { name: 'format', type: 'string', help: 'dataset layout (auto-detected if omitted)', choices: ['camseq01', 'camvid', 'folder'] },
    { name: 'split', type: 'string', help: 'camvid: split name (default val); folder: images/SPLIT; or a list file' },
    { name: 'runtimes', type: 'list', help: `runtimes to time, comma-separated (${RUNTIME_NAMES.join(', ')})`, default: 'torch' },
    { name: 'height', type: 'int', min: 8, help: 'latency input height', default: 360 },
    { name: 'width', type: 'int', min: 8, help: 'latency input width', default: 480 },
    { name: 'iters', type: 'int', min: 1, help: 'timed runs per model and runtime (the median is reported)', default: 10 },
    { name: 'warmup', type: 'int', min: 0, help: 'untimed runs before them', default: 3 },
    { name: 'batch-size', type: 'int', min: 1, help: 'evaluation batch size', default: 8 },
    { name: 'eval-at-train-size', type: 'boolean', help: "evaluate a run at its training size (frames and labels resized to it) instead of the data's own size" },
    { name: 'workers', type: 'int', min: 0, help: 'loader worker threads', default: 1 },
    { name: 'sequence', type: 'boolean', help: 'the split is video (frames in name order): add flicker and consistency columns, as eval --sequence' },
    { name: 'out', type: 'string', help: 'write compare.json, compare.md, compare.png and index.html here (and link it from each run\'s report)' },
    { name: 'json', type: 'boolean', help: 'print only the JSON result' },
    { name: 'markdown', type: 'boolean', help: 'print the table as markdown (then the JSON line)' },
  ],
  async run({ opts, positional }) {
    if (positional.length === 0) throw new UsageError('streetseg compare: expected one or more run or checkpoint directories');
    if (opts.json && opts.markdown) throw new UsageError('streetseg compare: --json and --markdown exclude each other');
    const quiet = opts.json === true;
    let r;
    try {
      r = await compareModels({
        inputs: positional,
        ...(opts.revision !== undefined ? { revision: opts.revision as string } : {}),
        quiet,
        data: opts.data as string,
        ...(opts.format ? { format: opts.format as DatasetFormat } : {}),
        ...(opts.split ? { split: opts.split as string } : {}),
        runtimes: opts.runtimes as string[],
        height: opts.height as number,
        width: opts.width as number,
        iters: opts.iters as number,
        warmup: opts.warmup as number,
        evalBatchSize: opts['batch-size'] as number,
        evalAtTrainSize: !!opts['eval-at-train-size'],
        sequence: opts.sequence === true,
        workers: opts.workers as number,
        log: quiet ? () => undefined : (l) => console.error(l),
      });
    } catch (e) {
      // Refusals (inputs that are no model, unknown or unavailable runtimes, labels that do not fit the data) are usage errors.
      if (e instanceof CompareInputError || e instanceof EvalInputError) throw new UsageError(`streetseg compare: ${e.message}`);
      throw e;
    }
    const index = opts.out ? await writeComparison(opts.out as string, r) : null;
    if (!quiet) {
      const t = compareTable(r);
      console.log(opts.markdown ? markdownTable(t) : textTable(t));
      console.log(settingsText(r));
      if (index) console.log(`comparison: ${index}`);
    }
    console.log(JSON.stringify(r));
  },
};
