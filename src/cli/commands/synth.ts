// `streetseg synth`: write seeded synthetic driving scenes in the CamSeq01 layout.
import { writeSyntheticDataset } from '../../data/synthetic.js';
import { UsageError, type Command } from '../command.js';

export const synthCommand: Command = {
  name: 'synth',
  summary: 'generate synthetic driving scenes (CamSeq01 layout, CamVid palette)',
  usage: '--dir DIR --count N [--seed S] [--width W] [--height H]',
  options: [
    { name: 'dir', type: 'string', help: 'output folder', required: true },
    { name: 'count', type: 'number', help: 'number of frames', required: true },
    { name: 'seed', type: 'number', help: 'random seed (frame i depends only on seed and i)', default: 0 },
    { name: 'width', type: 'number', help: 'frame width', default: 480 },
    { name: 'height', type: 'number', help: 'frame height', default: 360 },
    { name: 'prefix', type: 'string', help: 'frame name prefix', default: 'synth' },
  ],
  async run({ opts }) {
    const count = opts.count as number, width = opts.width as number, height = opts.height as number;
    if (!Number.isInteger(count) || count < 1) throw new UsageError(`synth: --count must be a positive integer, got ${count}`);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16) {
      throw new UsageError(`synth: --width/--height must be integers >= 16, got ${width}x${height}`);
    }
    const ids = await writeSyntheticDataset(opts.dir as string, {
      count,
      seed: opts.seed as number,
      width,
      height,
      prefix: opts.prefix as string,
      onProgress: (d, n) => {
        if (process.stderr.isTTY) process.stderr.write(`\rwriting frames ${d}/${n}${d === n ? '\n' : ''}`);
      },
    });
    process.stdout.write(`wrote ${ids.length} frames (${width}x${height}, seed ${opts.seed as number}) to ${opts.dir as string}\n`);
    return 0;
  },
};

export default synthCommand;
