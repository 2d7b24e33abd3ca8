// What the tests read besides the repository's own files: the HF parity fixtures (the small ones are
// committed under test/fixtures/hf, the large ones live in the shared folder), the CamVid / CamSeq01
// datasets, and the PyTorch reference (its SegFormer and its trained B0 checkpoint).
//
//   node dist/test/helpers/test-inputs.js check   first step of `make test`: exit 2 with ONE message
//                                                 naming whatever is missing and how to get it
//   node dist/test/helpers/test-inputs.js fetch   `make data`: CamVid by streetseg download (honours
//                                                 STREETSEG_DOWNLOAD_MIRROR) into $STREETSEG_DATA or the
//                                                 cache, and the CamSeq01 test copy derived from its val split
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { camvidSplits } from '../../src/data/camvid.js';
import { openDataset } from '../../src/data/dataset.js';
import { decodeLabel } from '../../src/data/decode.js';
import { downloadDataset } from '../../src/data/download.js';
import { CAMVID11, colorizeLabel } from '../../src/data/palette.js';
import { labelColors11Text, labelColorsText } from '../../src/data/synthetic.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { cacheRoot, dataRoots, fixturesRoot, repoRoot, sharedRoot } from '../../src/util/paths.js';

/** HF fixtures small enough to live in the repository (test/fixtures/hf/README.md says where they come from). */
export const REPO_FIXTURES_DIR = path.join(repoRoot, 'test', 'fixtures', 'hf');
/** The large HF fixtures, read from the shared folder. */
export const SHARED_FIXTURES = ['segformer/b0', 'mobilevit/xx-small', 'mobilenet_v2/small-input'] as const;
export const DATASETS = ['camvid', 'camseq01'] as const;
export type DatasetName = (typeof DATASETS)[number];
/** Files of the shared PyTorch reference that tests use. */
export const REFERENCE_FILES = ['pytorch/segformer.py', 'checkpoints/segformer-b0-camvid-scratch/val-metrics.json'] as const;

const isDir = (d: string): boolean => fs.existsSync(d) && fs.statSync(d).isDirectory();

/** A dataset folder is usable when it has the layout the tests read (not just a name). */
function usableDataset(name: DatasetName, dir: string): boolean {
  if (!isDir(dir)) return false;
  if (name === 'camvid') return ['train', 'val'].every((s) => camvidSplits(dir).includes(s));
  return fs.existsSync(path.join(dir, 'label_colors.txt')) && fs.readdirSync(dir).some((f) => f.endsWith('_L.png'));
}

function findDataset(name: DatasetName): string | null {
  return dataRoots().map((r) => path.join(r.dir, name)).find((d) => usableDataset(name, d)) ?? null;
}

function findFixture(key: string): string | null {
  return [path.join(REPO_FIXTURES_DIR, key), path.join(fixturesRoot(), key)].find((d) => fs.existsSync(path.join(d, 'meta.json'))) ?? null;
}

export interface Missing {
  what: string;
  looked: string[];
  how: string;
}

const SHARED_HOW = 'set STREETSEG_SHARED=DIR to the shared folder (holding fixtures/ and reference/), or put it beside the repository as ../shared';

/** Everything the suite needs that cannot be found, grouped by how to get it. */
export function missingInputs(): Missing[] {
  const out: Missing[] = [];
  const data = DATASETS.filter((d) => !findDataset(d));
  if (data.length) {
    const target = process.env.STREETSEG_DATA ? '$STREETSEG_DATA' : path.join(cacheRoot(), 'data');
    out.push({
      what: `datasets ${data.join(', ')}`,
      looked: dataRoots().map((r) => `${r.dir} (${r.what})`),
      how: `make data (CamVid from its public source, or from STREETSEG_DOWNLOAD_MIRROR=URL serving camvid.zip, into ${target}; CamSeq01's test copy is derived from it), or set STREETSEG_DATA=DIR holding camvid/ and camseq01/`,
    });
  }
  const fixtures = SHARED_FIXTURES.filter((f) => !findFixture(f));
  if (fixtures.length) out.push({ what: `HF parity fixtures ${fixtures.join(', ')}`, looked: [fixturesRoot()], how: SHARED_HOW });
  const ref = REFERENCE_FILES.filter((f) => !fs.existsSync(path.join(sharedRoot(), 'reference', f)));
  if (ref.length) out.push({ what: `the PyTorch reference (${ref.map((f) => `reference/${f}`).join(', ')})`, looked: [path.join(sharedRoot(), 'reference')], how: SHARED_HOW });
  return out;
}

export function missingMessage(missing: Missing[]): string {
  const lines = ['streetseg tests: inputs outside the repository are missing, so no test was run:'];
  for (const m of missing) lines.push(`  - ${m.what}: looked in ${m.looked.join(', ')}`, `    get them: ${m.how}`);
  return lines.join('\n');
}

function need<T>(v: T | null): T {
  if (v === null) throw new Error(missingMessage(missingInputs()));
  return v;
}

/** An HF parity fixture folder ("mobilevit/tiny-odd"): the repository's copy, else the shared one. */
export const hfFixture = (key: string): string => need(findFixture(key));
/** A dataset folder from the first data folder that holds a usable copy. */
export const dataset = (name: DatasetName): string => need(findDataset(name));
/** A file or folder of the shared PyTorch reference ("checkpoints/segformer-b0-camvid-scratch"). */
export const reference = (rel: string): string => {
  const p = path.join(sharedRoot(), 'reference', rel);
  return need(fs.existsSync(p) ? p : null);
};

/**
 * CamSeq01's layout for CamVid's val split, as the shared data holds it: each frame copied as <id>.png,
 * its label painted in the 32-class palette colours as <id>_L.png, plus label_colors.txt (the 32 classes)
 * and label_colors11.txt (their 12 groups). Returns the number of frames.
 */
export async function camseq01FromCamvid(camvid: string, out: string): Promise<number> {
  const spec = openDataset(camvid, { format: 'camvid', split: 'val', void: 'class' });
  fs.mkdirSync(out, { recursive: true });
  writeFileAtomic(path.join(out, 'label_colors.txt'), labelColorsText());
  writeFileAtomic(path.join(out, 'label_colors11.txt'), labelColors11Text());
  for (const s of spec.samples) {
    const { label, width, height } = await decodeLabel(s.label, spec.label, spec.classes);
    const rgb = colorizeLabel(label, CAMVID11.map((e) => e.color), 255, [0, 0, 0], s.label);
    const png = await sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width, height, channels: 3 } }).png().toBuffer();
    writeFileAtomic(path.join(out, `${s.id}_L.png`), png);
    writeFileAtomic(path.join(out, `${s.id}.png`), fs.readFileSync(s.image));
  }
  return spec.samples.length;
}

/** `make data`: fills $STREETSEG_DATA (or the cache) with what missingInputs() wants of the datasets. */
export async function fetchData(log: (m: string) => void = (m) => process.stderr.write(m + '\n')): Promise<string> {
  const root = process.env.STREETSEG_DATA ? path.resolve(process.env.STREETSEG_DATA) : path.join(cacheRoot(), 'data');
  const camvid = path.join(root, 'camvid');
  if (usableDataset('camvid', camvid)) log(`${camvid}: already there`);
  else {
    const r = await downloadDataset('camvid', { dir: camvid, log });
    log(`${camvid}: ${r.files} files (${Object.entries(r.samples).map(([s, n]) => `${s} ${n}`).join(', ')})`);
  }
  const camseq = path.join(root, 'camseq01');
  if (usableDataset('camseq01', camseq)) log(`${camseq}: already there`);
  else log(`${camseq}: ${await camseq01FromCamvid(camvid, camseq)} frames from ${camvid} (val)`);
  return root;
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const cmd = process.argv[2];
  if (cmd === 'check') {
    const missing = missingInputs();
    if (missing.length) {
      process.stderr.write(missingMessage(missing) + '\n');
      process.exit(2);
    }
  } else if (cmd === 'fetch') {
    try {
      await fetchData();
    } catch (e) {
      process.stderr.write(`make data: ${(e as Error).message}\n`);
      process.exit(1);
    }
  } else {
    process.stderr.write('usage: node dist/test/helpers/test-inputs.js check|fetch\n');
    process.exit(64);
  }
}
