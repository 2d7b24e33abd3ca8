// `streetseg bench smooth`: temporal smoothers side by side on video splits — mIoU, flicker, consistency and
// cost per frame of each candidate, chosen on tuning frames and reported on others (markdown table on
// stderr, JSON on stdout); --record keeps the choice in the checkpoint, for a bare --smooth.
import { benchSmooth, DEFAULT_CANDIDATES, smoothTable } from '../../../bench/smooth.js';
import { EvalInputError } from '../../train/eval-checkpoint.js';
import { UsageError, type Command } from '../command.js';
import { recordSmooth } from '../smooth-option.js';
import { parseSmoothSpec, SMOOTH_KEY, SmoothSpecError } from '../../temporal/index.js';

export const benchSmoothCommand: Command = {
  name: 'bench smooth',
  usage: '--checkpoint DIR --data DIR [--split val] [--tune-split val --tune-range 0016E5_07959..0016E5_08057 | --tune-split train --tune-sequences 0006R0_,0001TP_] [--candidates "SPEC;SPEC…"] [--record]',
  options: [
    { name: 'checkpoint', type: 'string', help: 'HF checkpoint directory', required: true },
    { name: 'data', type: 'string', help: 'dataset folder (camvid, camseq01 or folder layout)', required: true },
    { name: 'split', type: 'string', help: 'the reported split, frames in name order', default: 'val' },
    { name: 'tune-split', type: 'string', help: 'the split parameters are chosen on (default: none, then the reported split itself, as the output says)' },
    { name: 'tune-sequences', type: 'list', help: 'tuning frames: only ids starting with one of these prefixes, comma-separated (e.g. 0006R0_,0001TP_)' },
    { name: 'tune-range', type: 'string', help: 'tuning frames: only ids from FIRST to LAST (FIRST..LAST, inclusive, name order); with --tune-split equal to --split, the other frames are reported as held out' },
    { name: 'record', type: 'boolean', help: `write the chosen smoother into the checkpoint's config.json (${SMOOTH_KEY}): a bare --smooth then uses it` },
    { name: 'candidates', type: 'string', help: `smoothers to measure, separated by ";" (default: ${DEFAULT_CANDIDATES.length} settings of ema, hysteresis and motion)` },
    { name: 'max-miou-drop', type: 'number', min: 0, max: 100, help: 'largest tolerated mIoU loss on the tuning split, in points', default: 0.5 },
    { name: 'batch-size', type: 'int', min: 1, help: 'frames per forward pass (eval\'s default, so that the none row is eval --sequence exactly)', default: 8 },
    { name: 'workers', type: 'int', min: 0, help: 'loader worker threads', default: 1 },
  ],
  async run({ opts }) {
    const range = opts['tune-range'] as string | undefined;
    const ends = range?.split('..').map((s) => s.trim());
    if (range !== undefined && (ends!.length !== 2 || !ends![0] || !ends![1] || ends![0] > ends![1])) throw new UsageError(`streetseg bench smooth: --tune-range ${range}: expected FIRST..LAST, two frame ids in name order (e.g. 0016E5_07959..0016E5_08057)`);
    if (range !== undefined && opts['tune-split'] === undefined) throw new UsageError('streetseg bench smooth: --tune-range picks frames of the tuning split; give --tune-split too');
    try {
      const r = await benchSmooth({
        checkpoint: opts.checkpoint as string,
        data: opts.data as string,
        split: opts.split as string,
        tuneSplit: (opts['tune-split'] as string | undefined) ?? null,
        ...(opts['tune-sequences'] ? { tuneSequences: opts['tune-sequences'] as string[] } : {}),
        ...(ends ? { tuneRange: [ends[0]!, ends[1]!] as [string, string] } : {}),
        ...(opts.candidates ? { candidates: (opts.candidates as string).split(';').map((s) => s.trim()).filter(Boolean) } : {}),
        maxMiouDrop: (opts['max-miou-drop'] as number) / 100,
        batchSize: opts['batch-size'] as number,
        workers: opts.workers as number,
      });
      console.error(smoothTable(r));
      console.error(`best: ${r.best} (${r.rule})`);
      if (opts.record) console.error(`recorded in ${opts.checkpoint as string}/config.json: ${SMOOTH_KEY} = ${recordSmooth(opts.checkpoint as string, parseSmoothSpec(r.best))}`);
      console.log(JSON.stringify(r));
    } catch (e) {
      if (e instanceof SmoothSpecError || e instanceof EvalInputError) throw new UsageError(`streetseg bench smooth: ${e.message}`);
      throw e;
    }
  },
};
