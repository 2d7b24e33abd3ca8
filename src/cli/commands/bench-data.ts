// `streetseg bench data`: images/s of the data pipeline (decode + resize + augment + normalise) on its own.
import { benchData, type BenchDataOptions } from '../../../bench/data.js';
import { PRESET_NAMES } from '../../data/augment/index.js';
import type { Command } from '../command.js';

export const benchDataCommand: Command = {
  name: 'bench data',
  usage: '[--workers N] [--batch N] [--preset NAME] [--cache] [--batches N] [--json]',
  options: [
    { name: 'workers', type: 'int', min: 0, help: 'loader worker threads (0 = main thread); default min(2, cores)' },
    { name: 'batch', type: 'int', min: 1, help: 'batch size', default: 8 },
    { name: 'preset', type: 'string', help: 'augmentation preset', default: 'tutorial', choices: [...PRESET_NAMES] },
    { name: 'cache', type: 'boolean', help: 'cache decoded frames (one untimed pass fills it)', default: false },
    { name: 'batches', type: 'int', min: 1, help: 'batches to time', default: 24 },
    { name: 'height', type: 'int', min: 1, help: 'training height', default: 360 },
    { name: 'width', type: 'int', min: 1, help: 'training width', default: 480 },
    { name: 'data', type: 'string', help: 'folder with camvid/ or camseq01/ (default $STREETSEG_DATA or ../shared/data)' },
    { name: 'synthetic', type: 'boolean', help: 'use a synthetic dataset even if real data is present', default: false },
    { name: 'json', type: 'boolean', help: 'print the result as JSON', default: false },
  ],
  async run({ opts }) {
    const o: BenchDataOptions = {
      batchSize: opts.batch as number,
      preset: opts.preset as string,
      cache: opts.cache === true,
      batches: opts.batches as number,
      height: opts.height as number,
      width: opts.width as number,
      synthetic: opts.synthetic === true,
    };
    if (opts.workers !== undefined) o.workers = opts.workers as number;
    if (opts.data !== undefined) o.dataRoot = opts.data as string;
    const json = opts.json === true;
    if (!json && process.stderr.isTTY) o.onProgress = (d, n) => process.stderr.write(`\rbatches ${d}/${n}${d === n ? '\n' : ''}`);
    const r = await benchData(o);
    if (json) {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    } else {
      process.stdout.write(
        [
          `data: ${r.dataset.source} (${r.dataset.samples} samples) ${r.dataset.root}`,
          `pipeline: preset ${r.preset}, ${r.width}x${r.height}, batch ${r.batchSize}, workers ${r.workers}, cache ${r.cache ? 'on' : 'off'}`,
          `throughput: ${r.imagesPerSecond.toFixed(1)} images/s (${r.msPerBatch.toFixed(1)} ms/batch over ${r.batches} batches, ${r.images} images, ${r.seconds.toFixed(2)} s)`,
          `first batch after ${r.firstBatchSeconds.toFixed(2)} s; decoded ${r.decoded}, cache hits ${r.cacheHits}; node ${r.node}, ${r.cpus} cpus`,
        ].join('\n') + '\n',
      );
    }
    return 0;
  },
};

export default benchDataCommand;
