// Child processes of `compare`: runNode (this Node, a script, its output collected) and measureInChild,
// which runs measure-child.js for one model in one runtime and reads its result.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildResult } from './measure-child.js';
import type { MeasureSpec } from './runtimes.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'measure-child.js');

export interface NodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node ...args` with this Node binary and collects its output. */
export function runNode(args: readonly string[]): Promise<NodeRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The last lines of a child's stderr, for an error message. */
export function stderrTail(r: NodeRun): string {
  return r.stderr.trim().split('\n').slice(-3).join(' | ') || 'no output';
}

export async function measureInChild(spec: MeasureSpec): Promise<ChildResult> {
  const r = await runNode([CHILD, JSON.stringify(spec)]);
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.code !== 0 || !line) throw new Error(`${spec.checkpoint}: timing in ${spec.runtime} failed (exit ${r.code}): ${stderrTail(r)}`);
  return JSON.parse(line) as ChildResult;
}
