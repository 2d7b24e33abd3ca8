// The PyTorch side of the reference tests: Debian's python3 with python3-torch must be there.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PYTHON } from '../../src/util/python.js';

export function requirePythonTorch(): void {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${PYTHON} cannot import torch (run make setup): ${r.stderr ?? r.error}`);
}
