// `streetseg download camseq01|camvid`: fetch (or take a local zip), verify, extract and check a dataset.
import { downloadDataset, SOURCES, type DatasetName, type DownloadOptions } from '../../data/download.js';
import { UsageError, type Command } from '../command.js';

export const downloadCommand: Command = {
  name: 'download',
  usage: 'camseq01|camvid --dir DIR [--from FILE.zip] [--url URL] [--sha256 HEX]',
  options: [
    { name: 'dir', type: 'string', help: 'folder to extract the dataset into', required: true },
    { name: 'from', type: 'string', help: 'use this local zip instead of downloading' },
    { name: 'url', type: 'string', help: 'download from this URL instead of the default source (or $STREETSEG_DOWNLOAD_MIRROR/<name>.zip when that is set)' },
    { name: 'sha256', type: 'string', help: 'expected SHA-256 of the archive (verified; a mismatch is an error)' },
    { name: 'keep-zip', type: 'boolean', help: 'keep the downloaded archive in DIR' },
    { name: 'retries', type: 'int', min: 0, help: 'resumed attempts after an interrupted transfer', default: 3 },
  ],
  async run({ opts, positional }) {
    const name = positional[0];
    if (positional.length !== 1 || !name || !(name in SOURCES)) {
      throw new UsageError(`streetseg download: expected one dataset name (${Object.keys(SOURCES).join(' or ')}), got ${positional.join(' ') || 'none'}`);
    }
    if (opts.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(opts.sha256 as string)) {
      throw new UsageError(`streetseg download: --sha256 ${opts.sha256 as string}: expected 64 hex digits`);
    }
    let lastPct = -1;
    const o: DownloadOptions = {
      dir: opts.dir as string,
      retries: opts.retries as number,
      keepZip: opts['keep-zip'] === true,
      log: (m) => process.stderr.write(m + '\n'),
      onProgress: (b, total) => {
        if (!process.stderr.isTTY) return;
        const pct = total ? Math.floor((100 * b) / total) : -1;
        if (pct !== lastPct) process.stderr.write(`\r${(b / 1e6).toFixed(1)} MB${total ? ` of ${(total / 1e6).toFixed(1)} MB (${pct}%)` : ''}   `);
        lastPct = pct;
      },
    };
    if (opts.from) o.from = opts.from as string;
    if (opts.url) o.url = opts.url as string;
    if (opts.sha256) o.sha256 = opts.sha256 as string;
    const r = await downloadDataset(name as DatasetName, o);
    if (process.stderr.isTTY) process.stderr.write('\n');
    const counts = Object.entries(r.samples).map(([s, n]) => `${s}: ${n}`).join(', ');
    process.stdout.write(
      `${name}: extracted ${r.files} files to ${r.dir} (${counts})\n` +
        `sha256 ${r.sha256} ${r.verified ? '(verified)' : '(not verified: no known checksum; recorded in download.json)'}\n`,
    );
    return 0;
  },
};

export default downloadCommand;
