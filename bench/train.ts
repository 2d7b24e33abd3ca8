// Side-by-side training benchmark: the camvid-scratch recipe through `streetseg train` and through the
// PyTorch peer (shared/reference/pytorch/train.py), on the same first N train / M val images, back to
// back. Both run as child processes under one Python parent whose RUSAGE_CHILDREN gives each one's
// peak RSS; epoch time, train images/s and eval images/s come from each run's own metrics.csv.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blasChildEnv } from '../src/torch/blas-core.js';
import { ompWaitPolicyInjected } from '../src/torch/native.js';
import { PYTHON } from '../src/util/python.js';
import { datasetPath, repoRoot, sharedRoot } from '../src/util/paths.js';

export interface TrainBenchOptions {
  epochs: number;
  /** first N train images (0 = all 367) */
  limitTrain: number;
  /** first M val images (0 = all 101) */
  limitVal: number;
  comparePytorch: boolean;
  threads?: number;
}

export interface TrainBenchSide {
  epochTrainS: number;
  trainImagesPerSecond: number;
  evalImagesPerSecond: number | null;
  peakRssMiB: number;
  wallS: number;
  valMiou: number | null;
}

// Runs argv as a child of a small Python parent that prints the child's peak RSS (KiB) last.
const RUSAGE = 'import resource,subprocess,sys\nr=subprocess.run(sys.argv[1:])\nprint("MAXRSS", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)';

function runMeasured(argv: string[], cwd: string, env: NodeJS.ProcessEnv = blasChildEnv()): { maxRssKiB: number; wallS: number } {
  const t0 = performance.now();
  const r = spawnSync(PYTHON, ['-c', RUSAGE, ...argv], { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const m = /MAXRSS (\d+) (-?\d+)/.exec(r.stdout ?? '');
  if (!m || m[2] !== '0') throw new Error(`${argv.slice(0, 3).join(' ')} failed (${m ? `exit ${m[2]}` : r.status}): ${(r.stderr || '').trim().split('\n').slice(-4).join(' | ')}`);
  return { maxRssKiB: Number(m[1]), wallS: (performance.now() - t0) / 1000 };
}

function readCsv(file: string): Record<string, string>[] {
  const [head, ...rows] = fs.readFileSync(file, 'utf8').trim().split(/\r?\n/); // Python's csv writes CRLF
  const cols = head!.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i]!, v])));
}

function side(csv: string, rss: { maxRssKiB: number; wallS: number }, valImages: number): TrainBenchSide {
  const rows = readCsv(csv);
  const num = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));
  const trainS = rows.map((r) => Number(r.epoch_train_s));
  const last = rows[rows.length - 1]!;
  return {
    epochTrainS: trainS.reduce((a, b) => a + b, 0) / trainS.length,
    trainImagesPerSecond: rows.map((r) => Number(r.train_img_s)).reduce((a, b) => a + b, 0) / rows.length,
    // train.py's metrics.csv has eval_s but no eval_img_s
    evalImagesPerSecond: num(last.eval_img_s) ?? (num(last.eval_s) ? valImages / num(last.eval_s)! : null),
    peakRssMiB: rss.maxRssKiB / 1024,
    wallS: rss.wallS,
    valMiou: num(last.val_miou),
  };
}

function firstLines(src: string, n: number, dst: string): number {
  const lines = fs.readFileSync(src, 'utf8').split('\n').filter((l) => l.trim());
  const kept = n > 0 ? lines.slice(0, n) : lines;
  fs.writeFileSync(dst, kept.join('\n') + '\n');
  return kept.length;
}

export function benchTrain(o: TrainBenchOptions): { ours: TrainBenchSide; pytorch?: TrainBenchSide; ratio?: number; options: TrainBenchOptions; cpu: string } {
  const camvid = datasetPath('camvid');
  if (!fs.existsSync(path.join(camvid, 'train.txt'))) throw new Error(`${camvid}: CamVid (SegNet layout) not found; run make data or set STREETSEG_DATA`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-bench-train-'));
  try {
    // The same subsets for both: the first N lines of the list files.
    const trainList = path.join(tmp, 'train.txt');
    const valList = path.join(tmp, 'val.txt');
    firstLines(path.join(camvid, 'train.txt'), o.limitTrain, trainList);
    const nVal = firstLines(path.join(camvid, 'val.txt'), o.limitVal, valList);
    const threads = o.threads ?? os.availableParallelism();
    const oursDir = path.join(tmp, 'ours');
    const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
    const ours = runMeasured(
      [process.execPath, cli, 'train', '--preset', 'camvid-scratch', '--train-split', trainList, '--val-split', valList, '--epochs', String(o.epochs), '--eval-every', String(o.epochs), '--threads', String(threads), '--out', oursDir, '--progress', 'none', '--tensorboard', 'false', '--report-samples', '0', '--report-worst', '0'],
      repoRoot,
    );
    const result: ReturnType<typeof benchTrain> = { ours: side(path.join(oursDir, 'metrics.csv'), ours, nVal), options: o, cpu: os.cpus()[0]?.model ?? 'unknown' };
    if (o.comparePytorch) {
      const ref = path.join(sharedRoot(), 'reference', 'pytorch');
      const ptDir = path.join(tmp, 'pytorch');
      // The peer runs as shipped: same BLAS core, but not the OMP_WAIT_POLICY streetseg sets for itself.
      const env = blasChildEnv();
      if (ompWaitPolicyInjected) delete env.OMP_WAIT_POLICY;
      const pt = runMeasured(
        [PYTHON, path.join(ref, 'train.py'), '--data', camvid, '--limit-train', String(o.limitTrain), '--limit-val', String(o.limitVal), '--epochs', String(o.epochs), '--eval-every', String(o.epochs), '--threads', String(threads), '--out', ptDir],
        ref,
        env,
      );
      result.pytorch = side(path.join(ptDir, 'metrics.csv'), pt, nVal);
      result.ratio = result.ours.epochTrainS / result.pytorch.epochTrainS;
    }
    return result;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
