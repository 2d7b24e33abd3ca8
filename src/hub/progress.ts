// Download progress: a cli-progress bar per large file on a TTY, one line per file otherwise, or nothing (--quiet).
import cliProgress from 'cli-progress';

export type ProgressMode = 'bar' | 'log' | 'none';

export interface FileProgress {
  update(bytes: number): void;
  stop(): void;
}

/** Files smaller than this get no bar (config.json and the like would only flicker). */
const BAR_MIN_BYTES = 1_000_000;

const mb = (n: number): string => (n / 1e6).toFixed(1);
const size = (n: number): string => (n < 1e5 ? `${(n / 1e3).toFixed(1)} kB` : `${mb(n)} MB`);

export function startProgress(mode: ProgressMode, label: string, total: number | null, log: (l: string) => void, stream: NodeJS.WriteStream = process.stderr): FileProgress {
  if (mode === 'none') return { update: () => undefined, stop: () => undefined };
  if (mode === 'log' || total === null || total < BAR_MIN_BYTES) {
    log(`downloading ${label}${total !== null ? ` (${size(total)})` : ''}`);
    return { update: () => undefined, stop: () => undefined };
  }
  const t0 = performance.now();
  const bar = new cliProgress.SingleBar(
    { stream, format: '{label} [{bar}] {percentage}% | {done}/{all} MB | {speed} MB/s | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { label, done: mb(0), all: mb(total), speed: '0.0' });
  let first: number | null = null;
  return {
    update(bytes) {
      first ??= bytes; // a resumed download starts above 0; its speed counts what this run fetched
      const s = Math.max((performance.now() - t0) / 1000, 1e-3);
      bar.update(bytes, { done: mb(bytes), speed: mb((bytes - first) / s) });
    },
    stop: () => bar.stop(),
  };
}
