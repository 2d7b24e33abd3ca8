// Where the data, the shared fixtures and the download cache live: the environment's override, ../shared
// beside the repo, or the per-user cache that `make data` (streetseg download) fills.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is at <root>/dist/src/util/paths.js when compiled). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const sharedRoot = (): string => process.env.STREETSEG_SHARED || path.resolve(repoRoot, '..', 'shared');
export const fixturesRoot = (): string => path.join(sharedRoot(), 'fixtures');

/** The per-user cache: $STREETSEG_CACHE, else $XDG_CACHE_HOME/streetseg, else ~/.cache/streetseg. */
export const cacheRoot = (): string =>
  process.env.STREETSEG_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'streetseg');

/** Folders that may hold datasets (camvid/, camseq01/), in the order they are searched. */
export function dataRoots(): { dir: string; what: string }[] {
  // An explicit STREETSEG_DATA is the only place looked at: a typo should not silently pick other data.
  if (process.env.STREETSEG_DATA) return [{ dir: path.resolve(process.env.STREETSEG_DATA), what: 'STREETSEG_DATA' }];
  return [
    { dir: path.join(sharedRoot(), 'data'), what: process.env.STREETSEG_SHARED ? 'STREETSEG_SHARED/data' : 'the shared folder beside the repo' },
    { dir: path.join(cacheRoot(), 'data'), what: 'the download cache, filled by make data' },
  ];
}

/** The first data folder that exists (the first candidate when none does). */
export const dataRoot = (): string => {
  const roots = dataRoots();
  return (roots.find((r) => fs.existsSync(r.dir)) ?? roots[0]!).dir;
};

/** Where dataset `name` (camvid, camseq01) is: the first data folder that holds it, else under dataRoot(). */
export function datasetPath(name: string): string {
  const found = dataRoots().map((r) => path.join(r.dir, name)).find((d) => fs.existsSync(d));
  return found ?? path.join(dataRoot(), name);
}
