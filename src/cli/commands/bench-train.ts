// `streetseg bench train`: seconds per training epoch of the camvid-scratch recipe, images/s, eval
// images/s and peak RSS, optionally beside the PyTorch peer on the same images (JSON).
import { benchTrain } from '../../../bench/train.js';
import type { Command } from '../command.js';

export const benchTrainCommand: Command = {
  name: 'bench train',
  usage: '[--epochs N] [--limit-train N] [--limit-val M] [--compare-pytorch]',
  options: [
    { name: 'epochs', type: 'int', min: 1, help: 'epochs per side', default: 1 },
    { name: 'limit-train', type: 'int', min: 0, help: 'first N CamVid train images (0 = all 367)', default: 0 },
    { name: 'limit-val', type: 'int', min: 0, help: 'first M CamVid val images (0 = all 101)', default: 0 },
    { name: 'threads', type: 'int', min: 1, help: 'threads for both sides (default: all cores)' },
    { name: 'compare-pytorch', type: 'boolean', help: 'also run shared/reference/pytorch/train.py on the same images, after ours' },
  ],
  async run({ opts }) {
    const r = benchTrain({
      epochs: opts.epochs as number,
      limitTrain: opts['limit-train'] as number,
      limitVal: opts['limit-val'] as number,
      comparePytorch: opts['compare-pytorch'] === true,
      ...(opts.threads ? { threads: opts.threads as number } : {}),
    });
    console.log(JSON.stringify(r));
  },
};
