// Per-class pixel statistics of a dataset's labels and class weights derived from them (chart: src/report/stats-chart.ts).
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { DataError, decodeLabel } from './decode.js';
import { readPngHeader } from './png.js';
import type { DatasetSpec, RGB } from './types.js';

export interface ClassStats {
  names: string[];
  palette: RGB[];
  ignoreIndex: number;
  images: number;
  /** All label pixels, ignored ones included. */
  totalPixels: number;
  /** Pixels equal to ignoreIndex (void when ignored, and unknown colours/ids when those are ignored). */
  ignoredPixels: number;
  /** Pixels whose colour/id was unknown (mapped to ignoreIndex under unknownColors 'ignore'). */
  unknownPixels: number;
  /** Files that had unknown pixels, with their counts. */
  unknownFiles: { file: string; pixels: number }[];
  /** Pixels per class id. */
  counts: number[];
  /** Number of images in which the class occurs. */
  imagesWithClass: number[];
  /** Sum of the total pixel counts (ignored included) of the images in which the class occurs (SegNet's denominator). */
  pixelsOfImagesWithClass: number[];
}

export function emptyStats(names: string[], palette: RGB[], ignoreIndex: number): ClassStats {
  const n = names.length;
  return {
    names: names.slice(),
    palette: palette.map((c) => [c[0], c[1], c[2]]),
    ignoreIndex,
    images: 0,
    totalPixels: 0,
    ignoredPixels: 0,
    unknownPixels: 0,
    unknownFiles: [],
    counts: new Array<number>(n).fill(0),
    imagesWithClass: new Array<number>(n).fill(0),
    pixelsOfImagesWithClass: new Array<number>(n).fill(0),
  };
}

/** Adds one decoded label (class ids / ignoreIndex) to the stats. Other values are an error. */
export function accumulateLabel(stats: ClassStats, label: Uint8Array, file = '<label>', unknownPixels = 0): void {
  const hist = new Float64Array(256);
  for (let i = 0; i < label.length; i++) hist[label[i]!]++;
  const n = stats.names.length;
  for (let v = 0; v < 256; v++) {
    if (hist[v] === 0 || v < n || v === stats.ignoreIndex) continue;
    throw new DataError(file, `label value ${v} is neither a class id (0..${n - 1}) nor the ignore index ${stats.ignoreIndex}`);
  }
  stats.images++;
  stats.totalPixels += label.length;
  if (stats.ignoreIndex >= 0 && stats.ignoreIndex < 256) stats.ignoredPixels += hist[stats.ignoreIndex]!;
  for (let c = 0; c < n; c++) {
    const k = hist[c]!;
    if (k === 0) continue;
    stats.counts[c]! += k;
    stats.imagesWithClass[c]!++;
    stats.pixelsOfImagesWithClass[c]! += label.length;
  }
  if (unknownPixels > 0) {
    stats.unknownPixels += unknownPixels;
    stats.unknownFiles.push({ file, pixels: unknownPixels });
  }
}

async function imageSize(file: string): Promise<{ width: number; height: number }> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new DataError(file, err.code === 'ENOENT' ? 'image file not found' : `cannot read image: ${err.message}`);
  }
  if (buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50) {
    try {
      return readPngHeader(buf);
    } catch (e) {
      throw new DataError(file, `cannot decode image: ${(e as Error).message}`);
    }
  }
  try {
    const m = await sharp(buf).metadata();
    return { width: m.width!, height: m.height! };
  } catch (e) {
    throw new DataError(file, `cannot decode image (corrupt or truncated?): ${(e as Error).message}`);
  }
}

export interface StatsOptions {
  /** Labels decoded at once (default 4). */
  concurrency?: number;
  /** Also check that every image exists and has its label's size (reads image headers only). Default true. */
  checkImages?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** Decodes every label of spec and accumulates per-class statistics. Samples are added in spec order. */
export async function computeStats(spec: DatasetSpec, opts: StatsOptions = {}): Promise<ClassStats> {
  if (spec.samples.length === 0) throw new Error(`${spec.root}: empty dataset: no samples to compute statistics on`);
  const stats = emptyStats(spec.classes.names, spec.classes.palette, spec.classes.ignoreIndex);
  const conc = Math.max(1, opts.concurrency ?? 4);
  const checkImages = opts.checkImages ?? true;
  const results = new Array<{ label: Uint8Array; unknown: number } | undefined>(spec.samples.length);
  let next = 0;
  let added = 0;
  const flush = (): void => {
    // Accumulate in order so unknownFiles is deterministic.
    while (added < results.length && results[added]) {
      const r = results[added]!;
      accumulateLabel(stats, r.label, spec.samples[added]!.label, r.unknown);
      results[added] = undefined;
      added++;
      opts.onProgress?.(added, results.length);
    }
  };
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < spec.samples.length) {
      const i = next++;
      const s = spec.samples[i]!;
      const [lab, size] = await Promise.all([
        decodeLabel(s.label, spec.label, spec.classes),
        checkImages ? imageSize(s.image) : Promise.resolve(null),
      ]);
      if (size && (size.width !== lab.width || size.height !== lab.height)) {
        throw new DataError(s.label, `label is ${lab.width}x${lab.height} but its image ${s.image} is ${size.width}x${size.height} (sample ${s.id})`);
      }
      results[i] = { label: lab.label, unknown: lab.unknownPixels };
      flush();
    }
  };
  const guarded = (): Promise<void> =>
    worker().catch((e: unknown) => {
      failed = true; // the other workers stop at their next sample
      throw e;
    });
  await Promise.all(Array.from({ length: Math.min(conc, spec.samples.length) }, guarded));
  return stats;
}

/** Share of each class among the labelled (non-ignored) pixels. */
export function classFrequencies(stats: ClassStats): number[] {
  const sum = stats.counts.reduce((a, b) => a + b, 0);
  return stats.counts.map((c) => (sum > 0 ? c / sum : 0));
}

export type WeightMethod = 'total-over-count' | 'invfreq' | 'median-freq' | 'sqrt-invfreq' | 'log-invfreq';

export const WEIGHT_METHODS: readonly WeightMethod[] = ['total-over-count', 'invfreq', 'median-freq', 'sqrt-invfreq', 'log-invfreq'];

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) >> 1]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** Scales weights so that their mean over all classes is 1. */
function meanOne(w: number[]): number[] {
  const mean = w.reduce((a, b) => a + b, 0) / w.length;
  return w.map((x) => x / mean);
}

/**
 * Class weights for the loss. A class with no pixels gets weight 0 under every method.
 *  - 'total-over-count' (the tutorial): w_c = (labelled pixels) / count_c.
 *  - 'invfreq' (the reference recipe): w_c = 1/freq_c, then scaled so the mean over all classes is 1.
 *  - 'median-freq' (SegNet, Eigen & Fergus): freq_c = count_c / (total pixels of the images where c occurs),
 *    w_c = median over the present classes of freq / freq_c. The median runs over the classes of the stats,
 *    so with void as a class (void 'class') it is included, which is what reproduces SegNet's published
 *    CamVid weights most closely.
 *  - 'sqrt-invfreq': w_c = sqrt(1/freq_c), scaled to mean 1. Pure inverse frequency gives CamVid's Bicyclist
 *    about 110× Road's weight and makes the model over-predict rare classes; the square root keeps ~10×.
 *  - 'log-invfreq' (ENet, Paszke et al. 2016): w_c = 1 / ln(1.02 + freq_c), scaled to mean 1; bounded by
 *    1/ln(1.02) ≈ 50 for the rarest class.
 */
export function classWeights(stats: ClassStats, method: WeightMethod): number[] {
  const total = stats.counts.reduce((a, b) => a + b, 0);
  if (total === 0) throw new Error('classWeights: the statistics contain no labelled pixels');
  switch (method) {
    case 'total-over-count':
      return stats.counts.map((c) => (c > 0 ? total / c : 0));
    case 'invfreq':
      return meanOne(stats.counts.map((c) => (c > 0 ? total / c : 0)));
    case 'sqrt-invfreq':
      return meanOne(stats.counts.map((c) => (c > 0 ? Math.sqrt(total / c) : 0)));
    case 'log-invfreq':
      return meanOne(stats.counts.map((c) => (c > 0 ? 1 / Math.log(1.02 + c / total) : 0)));
    case 'median-freq': {
      const freq = stats.counts.map((c, i) => (c > 0 ? c / stats.pixelsOfImagesWithClass[i]! : 0));
      const m = median(freq.filter((f) => f > 0));
      return freq.map((f) => (f > 0 ? m / f : 0));
    }
    default:
      throw new Error(`unknown class-weight method "${method as string}" (expected ${WEIGHT_METHODS.join(', ')})`);
  }
}

/** A JSON-friendly summary: per class count, frequency, presence, and every weighting. */
export function statsReport(stats: ClassStats): {
  images: number;
  totalPixels: number;
  ignoredPixels: number;
  unknownPixels: number;
  unknownFiles: { file: string; pixels: number }[];
  classes: { id: number; name: string; pixels: number; frequency: number; images: number; weights: Record<WeightMethod, number> }[];
} {
  const freq = classFrequencies(stats);
  const w = Object.fromEntries(WEIGHT_METHODS.map((m) => [m, classWeights(stats, m)])) as Record<WeightMethod, number[]>;
  return {
    images: stats.images,
    totalPixels: stats.totalPixels,
    ignoredPixels: stats.ignoredPixels,
    unknownPixels: stats.unknownPixels,
    unknownFiles: stats.unknownFiles,
    classes: stats.names.map((name, id) => ({
      id,
      name,
      pixels: stats.counts[id]!,
      frequency: freq[id]!,
      images: stats.imagesWithClass[id]!,
      weights: Object.fromEntries(WEIGHT_METHODS.map((m) => [m, w[m][id]!])) as Record<WeightMethod, number>,
    })),
  };
}
