// `streetseg synth`: write seeded synthetic driving scenes in the CamSeq01 layout.
import { writeSyntheticDataset } from '../../data/synthetic.js';
import type { Command } from '../command.js';

export const synthCommand: Command = {
  name: 'synth',
  usage: '--dir DIR --count N [--seed S] [--width W] [--height H]',
  options: [
    { name: 'dir', type: 'string', help: 'output folder', required: true },
    { name: 'count', type: 'int', min: 1, help: 'number of frames', required: true },
    { name: 'seed', type: 'int', help: 'random seed (frame i depends only on seed and i)', default: 0 },
    { name: 'width', type: 'int', min: 16, help: 'frame width', default: 480 },
    { name: 'height', type: 'int', min: 16, help: 'frame height', default: 360 },
    { name: 'prefix', type: 'string', help: 'frame name prefix', default: 'synth' },
  ],
  async run({ opts }) {
    const count = opts.count as number, width = opts.width as number, height = opts.height as number;
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
