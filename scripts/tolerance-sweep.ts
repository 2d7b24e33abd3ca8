// Runs the tolerance-bound test files under each CPU-kernel configuration (scripts/cpu-configs.ts) and
// reports, per configuration and file, whether it passed and its largest measured / tolerance ratio (from
// the checks that record themselves, test/helpers/tolerance.ts). One JSON object out.
//
//   node dist/scripts/tolerance-sweep.js [--configs a,b] [--files x.test.js,…] [--out FILE]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeJsonAtomic } from '../src/util/fs.js';
import { repoRoot } from '../src/util/paths.js';
import { CONFIGS } from './cpu-configs.js';

/** The files whose checks compare floating-point results against a tolerance. */
export const TOLERANCE_FILES = [
  'mobilevit-parity', 'segformer-parity', 'mobilenet-v2-parity', 'pytorch-refs', 'export-onnx', 'export-onnx-mobile',
  'torch-ops', 'torch-nn', 'gen-ops', 'seg-loss', 'eval-views', 'metrics', 'train-eval', 'data-formats', 'data-stats',
].map((f) => `${f}.test.js`);

interface FileResult { pass: boolean; seconds: number; checks: number; maxRatio: number; worst: string; failures: string[] }

function runFile(file: string, env: Record<string, string>): FileResult {
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ss-tol-')), 'log.jsonl');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', path.join(repoRoot, 'dist', 'test', file)], {
    env: { ...process.env, ...env, STREETSEG_TOLERANCE_LOG: log },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [];
  fs.rmSync(path.dirname(log), { recursive: true, force: true });
  let maxRatio = 0;
  let worst = '';
  for (const l of lines) {
    const c = JSON.parse(l) as { label: string; measured: number; tolerance: number };
    const ratio = c.tolerance > 0 ? c.measured / c.tolerance : c.measured > 0 ? Infinity : 0;
    if (!(ratio <= maxRatio)) [maxRatio, worst] = [ratio, `${c.label}: ${c.measured.toPrecision(3)} of ${c.tolerance.toPrecision(3)}`];
  }
  const failures = [...r.stdout.matchAll(/^\s*not ok \d+ - (.*)$/gm)].map((m) => m[1]!);
  return { pass: r.status === 0, seconds: Math.round((Date.now() - t0) / 100) / 10, checks: lines.length, maxRatio: Number(maxRatio.toPrecision(3)), worst, failures };
}

const argv = process.argv.slice(2);
const opt = (name: string) => (argv.indexOf(name) >= 0 ? argv[argv.indexOf(name) + 1] : undefined);
const configs = opt('--configs')?.split(',') ?? Object.keys(CONFIGS);
const files = opt('--files')?.split(',') ?? TOLERANCE_FILES;
const out = opt('--out');
const result: Record<string, Record<string, FileResult>> = {};
for (const c of configs) {
  if (!CONFIGS[c]) throw new Error(`unknown configuration ${c} (expected one of ${Object.keys(CONFIGS).join(', ')})`);
  result[c] = {};
  for (const f of files) {
    result[c][f] = runFile(f, CONFIGS[c]);
    process.stderr.write(`${c} ${f}: ${result[c][f].pass ? 'pass' : 'FAIL'} ${result[c][f].seconds} s, max ratio ${result[c][f].maxRatio}\n`);
    if (out) writeJsonAtomic(out, { configs: CONFIGS, result });
  }
}
console.log(JSON.stringify({ configs: CONFIGS, result }));
