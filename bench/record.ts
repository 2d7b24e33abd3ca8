// Runs one benchmark command and keeps its JSON as a record under docs/bench/: the machine (CPU model and
// family, the vector extensions that decide which kernels run, cores, memory), the date, the command line,
// the load average before and after (a figure from a shared machine says so itself) and the command's own
// JSON, unchanged. docs/benchmarks.md cites these files, so every figure there has its raw record.
//
//   node dist/bench/record.js NAME [--dir docs/bench] -- bench model --model b0 --compare-pytorch
//   node dist/bench/record.js NAME -- dist/bench/kill-soak.js --kills 20
//
// Arguments after `--` are a streetseg command line, or a compiled script (a path ending in .js) with its
// arguments. The command's last stdout line that parses as a JSON object is its result.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '../src/util/fs.js';

const EXTENSIONS = ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'amx_bf16', 'amx_int8'];

export interface MachineFacts {
  cpu: string;
  /** x86 family / model from /proc/cpuinfo (AMD family 25 = Zen 3/4, 26 = Zen 5) */
  family: number | null;
  model: number | null;
  extensions: string[];
  cores: number;
  memGiB: number;
  node: string;
  kernel: string;
}

/** The facts of /proc/cpuinfo's first processor that decide which kernels run. */
export function parseCpuinfo(text: string): Pick<MachineFacts, 'cpu' | 'family' | 'model' | 'extensions'> {
  const first = text.split(/\n\s*\n/)[0] ?? '';
  const field = (name: string): string | undefined => first.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim();
  const flags = new Set((field('flags') ?? '').split(/\s+/));
  const num = (s: string | undefined): number | null => (s !== undefined && /^\d+$/.test(s) ? Number(s) : null);
  return {
    cpu: field('model name') ?? os.cpus()[0]?.model ?? 'unknown',
    family: num(field('cpu family')),
    model: num(field('model')),
    extensions: EXTENSIONS.filter((e) => flags.has(e)),
  };
}

export function machineFacts(): MachineFacts {
  let cpuinfo = '';
  try {
    cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // not Linux: the model name from os.cpus() is all there is
  }
  return {
    ...parseCpuinfo(cpuinfo),
    cores: os.cpus().length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
  };
}

/**
 * Environment variables that choose kernels or threads (ATen's CPU capability, OpenBLAS's core, oneDNN's ISA
 * cap, OpenMP threads): a record made with any of them set says so, since its figures depend on them.
 */
export const KERNEL_ENV = ['ATEN_CPU_CAPABILITY', 'OPENBLAS_CORETYPE', 'ONEDNN_MAX_CPU_ISA', 'DNNL_MAX_CPU_ISA', 'OMP_NUM_THREADS', 'STREETSEG_BLAS_CORE'] as const;

/** The KERNEL_ENV variables set in `env`, by name. */
export function kernelEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(KERNEL_ENV.filter((k) => env[k] !== undefined).map((k) => [k, env[k]!]));
}

/** The last stdout line that is a JSON object (benchmarks print progress before their result), else the last
 *  pretty-printed object that runs to the end of the output. */
export function lastJsonLine(stdout: string): Record<string, unknown> | null {
  const lines = stdout.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith('{')) continue;
    try {
      const v: unknown = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // a progress line that merely starts with a brace
    }
  }
  // a pretty-printed object: the last block that starts with `{` at a line's start and parses to the end
  for (let at = stdout.lastIndexOf('\n{'); at >= -1; at = at < 1 ? -2 : stdout.lastIndexOf('\n{', at - 1)) {
    try {
      const v: unknown = JSON.parse(stdout.slice(at + 1));
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // not this block
    }
  }
  return null;
}

/** Every string's absolute paths under `root` (or beside it, as ../shared) made relative to `root`. */
export function relativePaths(v: unknown, root: string): unknown {
  const up = path.dirname(root);
  if (typeof v === 'string') return v.split(`${root}/`).join('').split(`${up}/`).join('../');
  if (Array.isArray(v)) return v.map((x) => relativePaths(x, root));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, relativePaths(x, root)]));
  return v;
}

function main(argv: string[]): void {
  const sep = argv.indexOf('--');
  const head = sep < 0 ? argv : argv.slice(0, sep);
  const cmd = sep < 0 ? [] : argv.slice(sep + 1);
  const name = head[0];
  if (!name || !/^[\w.-]+$/.test(name) || cmd.length === 0) {
    throw new Error('usage: record.js NAME [--dir DIR] -- <streetseg args | script.js args> (NAME: letters, digits, . _ -)');
  }
  const dirAt = head.indexOf('--dir');
  const dir = dirAt >= 0 ? head[dirAt + 1] : 'docs/bench';
  if (!dir) throw new Error('record.js: --dir needs a folder');
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const script = cmd[0]!.endsWith('.js') ? path.resolve(cmd[0]!) : path.join(root, 'dist', 'src', 'cli', 'main.js');
  const args = cmd[0]!.endsWith('.js') ? cmd.slice(1) : cmd;
  const shown = cmd[0]!.endsWith('.js') ? `node ${path.relative(root, script)} ${args.join(' ')}` : `streetseg ${args.join(' ')}`;
  const loadavgBefore = os.loadavg().map((x) => +x.toFixed(2));
  const t0 = Date.now();
  const run = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 * 2 ** 20 });
  const wallS = +((Date.now() - t0) / 1000).toFixed(1);
  if (run.status !== 0) throw new Error(`${shown}: exited with ${run.status ?? run.signal}; no record written`);
  const result = lastJsonLine(run.stdout);
  if (!result) throw new Error(`${shown}: printed no JSON object on stdout; no record written`);
  const file = path.join(dir, `${name}.json`);
  // Paths in the output name this machine's checkout; the record keeps them relative to the repository.
  const relative = (v: unknown): unknown => relativePaths(v, root);
  const env = kernelEnv(process.env);
  const record = { name, date: new Date(t0).toISOString(), command: shown.trim(), ...(Object.keys(env).length ? { env } : {}), machine: machineFacts(), loadavgBefore, loadavgAfter: os.loadavg().map((x) => +x.toFixed(2)), wallS, result: relative(result) };
  writeJsonAtomic(file, record);
  console.log(JSON.stringify({ record: file, wallS }));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
