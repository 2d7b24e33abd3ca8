// `streetseg stats`: per-class pixel statistics and class weights of a dataset's labels.
import { writeFileAtomic } from '../../util/fs.js';
import { openDataset, type OpenOptions } from '../../data/dataset.js';
import { computeStats, statsReport, WEIGHT_METHODS, type WeightMethod } from '../../data/stats.js';
import { renderStatsChart } from '../../report/stats-chart.js';
import type { Command } from '../command.js';

export const statsCommand: Command = {
  name: 'stats',
  usage: '--data DIR [--format camseq01|camvid|folder] [--split train|val] [--void class|ignore] [--json] [--png FILE]',
  options: [
    { name: 'data', type: 'string', help: 'dataset folder', required: true },
    { name: 'format', type: 'string', help: 'dataset layout (auto-detected if omitted)', choices: ['camseq01', 'camvid', 'folder'] },
    // No default here: camvid defaults to its train split, while a folder dataset without a split reads
    // images/ + masks/ directly (a 'train' default would send it to images/train/).
    { name: 'split', type: 'string', help: 'camvid: split list/folder pair (default train); folder: use images/SPLIT + masks/SPLIT' },
    { name: 'void', type: 'string', help: "void as a class, or mapped to the ignore index", choices: ['class', 'ignore'], default: 'ignore' },
    { name: 'unknown-colors', type: 'string', help: 'label colours/ids outside the classes', choices: ['error', 'ignore'], default: 'error' },
    { name: 'grouping', type: 'string', help: "colour datasets: camvid11, none, or a grouping file" },
    { name: 'weights', type: 'string', help: 'weighting drawn in the PNG chart', choices: [...WEIGHT_METHODS], default: 'median-freq' },
    { name: 'json', type: 'boolean', help: 'print the statistics as JSON' },
    { name: 'png', type: 'string', help: 'write a bar chart PNG to this file' },
  ],
  async run({ opts }) {
    const openOpts: OpenOptions = {
      void: opts.void as 'class' | 'ignore',
      unknownColors: opts['unknown-colors'] as 'error' | 'ignore',
    };
    if (opts.split !== undefined) openOpts.split = opts.split as string;
    if (opts.format) openOpts.format = opts.format as OpenOptions['format'];
    if (opts.grouping) openOpts.grouping = opts.grouping as string;
    const spec = openDataset(opts.data as string, openOpts);
    const stats = await computeStats(spec, {
      onProgress: (d, n) => {
        if (process.stderr.isTTY && (d % 20 === 0 || d === n)) process.stderr.write(`\rdecoding labels ${d}/${n}${d === n ? '\n' : ''}`);
      },
    });
    const report = statsReport(stats);
    if (opts.png) {
      writeFileAtomic(opts.png as string, await renderStatsChart(stats, { weights: opts.weights as WeightMethod, title: `${spec.format} ${spec.root}${spec.format === 'camvid' || openOpts.split ? ` (${openOpts.split ?? 'train'})` : ''}: ${stats.images} images` }));
    }
    if (opts.json) {
      process.stdout.write(JSON.stringify({ format: spec.format, root: spec.root, ignoreIndex: stats.ignoreIndex, ...report }, null, 2) + '\n');
      return 0;
    }
    const lines: string[] = [];
    lines.push(`${spec.format} ${spec.root}: ${report.images} images, ${report.totalPixels} pixels, ${report.ignoredPixels} ignored (${((100 * report.ignoredPixels) / report.totalPixels).toFixed(2)}%)`);
    if (report.unknownPixels > 0) lines.push(`${report.unknownPixels} pixels with unknown colours/ids in ${report.unknownFiles.length} files were mapped to ${stats.ignoreIndex}`);
    lines.push('');
    lines.push(['id', 'class'.padEnd(20), 'pixels'.padStart(12), 'freq %'.padStart(8), 'images'.padStart(7), 'total/count'.padStart(12), 'invfreq'.padStart(9), 'median-freq'.padStart(12)].join('  '));
    for (const c of report.classes) {
      lines.push(
        [
          String(c.id).padStart(2),
          c.name.padEnd(20),
          String(c.pixels).padStart(12),
          (c.frequency * 100).toFixed(3).padStart(8),
          String(c.images).padStart(7),
          c.weights['total-over-count'].toFixed(3).padStart(12),
          c.weights.invfreq.toFixed(4).padStart(9),
          c.weights['median-freq'].toFixed(4).padStart(12),
        ].join('  '),
      );
    }
    if (opts.png) lines.push('', `chart written to ${opts.png as string}`);
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};

export default statsCommand;
