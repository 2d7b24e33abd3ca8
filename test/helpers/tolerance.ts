// A tolerance assertion that can also record how close it came: with STREETSEG_TOLERANCE_LOG=FILE each
// check appends one JSON line {file, label, measured, tolerance}, so that a run under other CPU kernels
// (scripts/tolerance-sweep.ts) reports each test file's largest measured/tolerance ratio.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const log = process.env.STREETSEG_TOLERANCE_LOG;
// node --test runs each file in its own process, with the file as the script
const file = path.basename(process.argv[1] ?? 'unknown');

export function recordTolerance(label: string, measured: number, tolerance: number): void {
  if (log) fs.appendFileSync(log, JSON.stringify({ file, label, measured, tolerance }) + '\n');
}

/** measured ≤ tolerance (NaN fails), recorded under `label`. */
export function within(label: string, measured: number, tolerance: number): void {
  recordTolerance(label, measured, tolerance);
  assert.ok(measured <= tolerance, `${label}: ${measured} > ${tolerance}`);
}
