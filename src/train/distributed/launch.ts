// `streetseg train --nproc N`: N local workers, as torchrun --standalone would start them. Each is
// this CLI again, with RANK / WORLD_SIZE / LOCAL_RANK / LOCAL_WORLD_SIZE and MASTER_ADDR=127.0.0.1,
// MASTER_PORT=<a free port> in its environment (src/train/distributed/env.ts reads them). The launcher
// forwards SIGINT/SIGTERM to every worker, prefixes their stderr with the rank, and when one fails
// exits non-zero with that rank's message; the survivors stop on their own within the collective
// timeout (their next collective names the lost rank), or are killed after it.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolveThreads } from '../../torch/threads.js';
import { freePort } from '../../util/net.js';

export interface LaunchOptions {
  nproc: number;
  /** the CLI arguments every worker runs (e.g. ['train', '--data', …, '--out', dir]) */
  argv: string[];
  /** the CLI entry script (default: this process's) */
  script?: string;
  /** the group's collective timeout (s): survivors of a failure get this long, plus a margin, to exit */
  timeoutSeconds: number;
  /** libtorch threads per worker (0 or absent: resolveThreads's default for nproc processes on this host) */
  threadsPerWorker?: number;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

interface Worker {
  rank: number;
  child: ChildProcess;
  tail: string[];
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | null;
}

/** The exit code for the launcher: 0 when every worker succeeded; else the failing rank's. */
export async function launchLocal(o: LaunchOptions): Promise<number> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  if (!Number.isInteger(o.nproc) || o.nproc < 1) throw new RangeError(`--nproc ${o.nproc}: expected an integer >= 1`);
  const port = await freePort();
  const threads = resolveThreads(o.threadsPerWorker, o.nproc, o.env ?? process.env);
  const script = o.script ?? process.argv[1]!;
  const workers: Worker[] = [];
  let killTimer: NodeJS.Timeout | null = null;
  const done = new Promise<void>((resolveAll) => {
    for (let rank = 0; rank < o.nproc; rank++) {
      const env = {
        ...(o.env ?? process.env),
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(port),
        RANK: String(rank),
        WORLD_SIZE: String(o.nproc),
        LOCAL_RANK: String(rank),
        LOCAL_WORLD_SIZE: String(o.nproc),
        STREETSEG_THREADS: String(threads),
      };
      const child = spawn(process.execPath, [...process.execArgv, script, ...o.argv], { env, stdio: ['ignore', 'inherit', 'pipe'] });
      const w: Worker = { rank, child, tail: [], exit: null };
      workers.push(w);
      let buf = '';
      child.stderr!.on('data', (d: Buffer) => {
        buf += d.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          w.tail.push(line);
          if (w.tail.length > 20) w.tail.shift();
          log(`[rank ${rank}] ${line}`);
        }
      });
      child.on('exit', (code, signal) => {
        w.exit = { code, signal, at: Date.now() };
        if ((code !== 0 || signal) && !killTimer) {
          // A worker failed: the others notice at their next collective (within the timeout). Past
          // that and a margin, they are stuck outside any collective and are killed.
          killTimer = setTimeout(() => {
            for (const x of workers) if (!x.exit) x.child.kill('SIGKILL');
          }, (o.timeoutSeconds + 30) * 1000);
          killTimer.unref();
        }
        if (workers.length === o.nproc && workers.every((x) => x.exit)) resolveAll();
      });
    }
  });
  const forward = (sig: NodeJS.Signals): void => {
    for (const w of workers) if (!w.exit) w.child.kill(sig);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    await done;
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    if (killTimer) clearTimeout(killTimer);
  }
  const failed = workers.filter((w) => w.exit!.code !== 0 || w.exit!.signal).sort((a, b) => a.exit!.at - b.exit!.at);
  if (failed.length === 0) return 0;
  // Interrupted runs (every worker saved and exited 130/143) keep their signal's code.
  const codes = new Set(workers.map((w) => w.exit!.code));
  if (codes.size === 1 && (codes.has(130) || codes.has(143))) return [...codes][0]!;
  const first = failed[0]!;
  const how = first.exit!.signal ? `was killed by ${first.exit!.signal}` : `exited with code ${first.exit!.code}`;
  const lastError = (w: Worker): string => w.tail.filter((l) => l.trim()).at(-1) ?? '(no output)';
  log(`streetseg train --nproc ${o.nproc}: rank ${first.rank} ${how}: ${lastError(first)}`);
  for (const w of failed.slice(1)) log(`  then rank ${w.rank}: ${lastError(w)}`);
  return 1;
}
