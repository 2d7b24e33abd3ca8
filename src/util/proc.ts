// What this process has mapped, from /proc/self/maps (Linux; empty elsewhere).
import * as fs from 'node:fs';

/** Paths of the shared objects (and other files) mapped into this process, each once. */
export function loadedLibraries(): string[] {
  try {
    const maps = fs.readFileSync('/proc/self/maps', 'utf8');
    return [...new Set(maps.split('\n').map((l) => l.trim().split(/\s+/)[5]).filter((p): p is string => !!p && p.startsWith('/')))];
  } catch {
    return [];
  }
}

/**
 * Peak resident set of this process's own memory, MiB: /proc/self/status VmHWM. Not getrusage's maxRSS:
 * Linux carries the parent's high-water mark over fork + exec into a child's maxRSS, so a child spawned
 * by a large process would report the parent's peak. Falls back to maxRSS where /proc has no VmHWM.
 */
export function peakRssMiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch {
    // not Linux
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
