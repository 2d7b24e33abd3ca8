// `streetseg bench engine`: matmul GFLOP/s, op overhead and a stem conv, optionally beside PyTorch.
import * as path from 'node:path';
import { benchEngine } from '../../../bench/engine.js';
import { native, repoRoot } from '../../torch/native.js';
import { runPythonJson } from '../../util/python.js';
import type { Command } from '../command.js';

export const benchEngineCommand: Command = {
  name: 'bench engine',
  options: [
    { name: 'json', type: 'boolean', help: 'print JSON (default: also JSON, one line)' },
    { name: 'quick', type: 'boolean', help: 'fewer iterations' },
    { name: 'compare-pytorch', type: 'boolean', help: 'also run the same measurements in PyTorch (/usr/bin/python3)' },
  ],
  async run({ opts }) {
    const ours = benchEngine({ quick: opts.quick === true });
    // blasCore: the OpenBLAS kernels that ran (the PyTorch side reports its own, which should match).
    const out: Record<string, unknown> = { ...ours, blasCore: native.blasProbe().corename };
    if (opts['compare-pytorch']) {
      out.pytorch = runPythonJson(path.join(repoRoot, 'bench', 'engine_torch.py'), opts.quick ? ['--quick'] : []);
    }
    console.log(JSON.stringify(out));
  },
};
