// A lock file between processes sharing a cache (O_EXCL create; no flock in Node). The holder touches it
// while it works, so a lock whose holder died is recognised: its pid is gone (same host), or it has not
// been touched for staleMs (a holder on another host sharing the cache, or a frozen one).
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface LockOptions {
  /** Called once if the lock is held by someone else and this process waits for it. */
  onWait?: () => void;
  staleMs?: number;
  pollMs?: number;
}

interface Holder {
  content: string;
  mtimeMs: number;
}

function readHolder(file: string): Holder | null {
  try {
    const st = fs.statSync(file);
    return { content: fs.readFileSync(file, 'utf8'), mtimeMs: st.mtimeMs };
  } catch {
    return null; // released meanwhile
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isStale(h: Holder, staleMs: number): boolean {
  if (Date.now() - h.mtimeMs > staleMs) return true;
  try {
    const { pid, host } = JSON.parse(h.content) as { pid?: unknown; host?: unknown };
    return host === os.hostname() && typeof pid === 'number' && pid !== process.pid && !pidAlive(pid);
  } catch {
    return false; // being written right now
  }
}

/** Moves a stale lock aside; if another process replaced it in the meantime, puts that one back. */
function breakLock(file: string, seen: string): void {
  const aside = `${file}.${randomUUID()}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return;
  }
  try {
    if (fs.readFileSync(aside, 'utf8') !== seen) fs.linkSync(aside, file);
  } catch {
    // a newer lock exists already: it stays
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

/** Runs fn holding the lock `file`; waits (polling) while another live process holds it. */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, o: LockOptions = {}): Promise<T> {
  const staleMs = o.staleMs ?? 30_000;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const me = JSON.stringify({ pid: process.pid, host: os.hostname(), id: randomUUID() });
  let waited = false;
  for (;;) {
    try {
      fs.writeFileSync(file, me, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const h = readHolder(file);
    if (h && isStale(h, staleMs)) {
      breakLock(file, h.content);
      continue;
    }
    if (!waited) o.onWait?.();
    waited = true;
    await new Promise((r) => setTimeout(r, o.pollMs ?? 100));
  }
  const beat = setInterval(() => {
    try {
      const t = new Date();
      fs.utimesSync(file, t, t);
    } catch {
      // gone: broken by another process as stale; the work still ends with an atomic rename
    }
  }, Math.max(200, staleMs / 4));
  beat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(beat);
    if (readHolder(file)?.content === me) fs.rmSync(file, { force: true });
  }
}
