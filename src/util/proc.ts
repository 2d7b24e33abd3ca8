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
