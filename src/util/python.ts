// Runs the PyTorch reference side by side (Debian's /usr/bin/python3 with python3-torch), for benchmarks,
// with the same OPENBLAS_CORETYPE as this process so that the two run the same GEMM kernels.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { blasChildEnv } from '../torch/blas-core.js';

export const PYTHON = process.env.STREETSEG_PYTHON ?? '/usr/bin/python3';

/** Runs a Python script with the BLAS environment of this process; {error} says why it could not or failed. */
export function runPython(script: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): { stdout: string } | { error: string } {
  if (!fs.existsSync(PYTHON)) return { error: `${PYTHON} not found (apt-get install python3-torch)` };
  const r = spawnSync(PYTHON, [script, ...args], { cwd: opts.cwd, env: blasChildEnv(), encoding: 'utf8', timeout: opts.timeoutMs ?? 600_000 });
  if (r.status !== 0) return { error: `${script} exited with ${r.status ?? r.signal}: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}` };
  return { stdout: r.stdout };
}

/** Runs a Python script that prints one JSON line last; returns it, or {error} saying why not. */
export function runPythonJson(script: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Record<string, unknown> {
  const r = runPython(script, args, opts);
  if ('error' in r) return r;
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) return { error: `${script} printed no JSON` };
  return JSON.parse(line) as Record<string, unknown>;
}
