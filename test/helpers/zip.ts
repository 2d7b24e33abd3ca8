// Test zips written by fflate, an independent writer, so the reader is not only checked against itself.
import { zipSync, type Zippable } from 'fflate';

export interface TestZipEntry {
  name: string;
  data: Uint8Array;
  /** deflate the entry (default: stored) */
  compress?: boolean;
}

/** A zip of `entries`, in order, with a fixed timestamp so equal input gives equal bytes. */
export function makeZip(entries: TestZipEntry[]): Uint8Array {
  const files: Zippable = {};
  for (const e of entries) {
    // Integer-like keys would be reordered by the object fflate takes; duplicates would collapse.
    if (/^\d+$/.test(e.name) || e.name in files) throw new Error(`makeZip: entry name "${e.name}" is a duplicate or integer-like`);
    files[e.name] = [e.data, { level: e.compress ? 6 : 0 }];
  }
  return zipSync(files, { mtime: new Date(2000, 0, 1) });
}
