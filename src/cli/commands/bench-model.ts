// `streetseg bench model`: SegFormer inference or training step speed, optionally beside PyTorch.
// Prints {"model","mode","batch","height","width","msPerStep","imagesPerSecond","peakRssMiB"} (+ "pytorch").
import * as path from 'node:path';
import { benchModel } from '../../../bench/model.js';
import { modelNames, resolveModelName } from '../../models/index.js';
import { native } from '../../torch/native.js';
import { sharedRoot } from '../../util/paths.js';
import { runPythonJson } from '../../util/python.js';
import { UsageError, type Command } from '../command.js';

export const benchModelCommand: Command = {
  name: 'bench model',
  options: [
    { name: 'model', type: 'string', help: 'model name (segformer-b0, or the variant alone: b0)', default: 'b0', choices: modelNames() },
    { name: 'height', type: 'int', min: 1, help: 'input height', default: 360 },
    { name: 'width', type: 'int', min: 1, help: 'input width', default: 480 },
    { name: 'batch', type: 'int', min: 1, help: 'batch size', default: 1 },
    { name: 'train', type: 'boolean', help: 'time a training step (forward, weighted CE, backward, AdamW)' },
    { name: 'iters', type: 'int', min: 1, help: 'timed iterations (default 10 infer / 5 train)' },
    { name: 'warmup', type: 'int', min: 0, help: 'untimed iterations (default 3 infer / 2 train)' },
    { name: 'compare-pytorch', type: 'boolean', help: 'also run shared/reference/pytorch/bench.py with the same settings' },
    { name: 'json', type: 'boolean', help: 'print JSON (the output is JSON either way)' },
  ],
  async run({ opts }) {
    const mode = opts.train ? 'train' : 'infer';
    const r: Record<string, unknown> = {
      ...(await benchModel({
        model: opts.model as string,
        mode,
        batch: opts.batch as number,
        height: opts.height as number,
        width: opts.width as number,
        iters: opts.iters as number | undefined,
        warmup: opts.warmup as number | undefined,
      })),
      blasCore: native.blasProbe().corename,
    };
    if (opts['compare-pytorch']) {
      const { family, variant } = resolveModelName(opts.model as string);
      if (family.modelType !== 'segformer') throw new UsageError(`streetseg bench model: --compare-pytorch has a reference for SegFormer only, not ${family.modelType}`);
      const args = ['--mode', mode, '--variant', variant, '--h', String(opts.height), '--w', String(opts.width), '--batch', String(opts.batch)];
      if (opts.iters) args.push('--iters', String(opts.iters));
      if (opts.warmup !== undefined) args.push('--warmup', String(opts.warmup));
      const dir = path.join(sharedRoot(), 'reference', 'pytorch');
      const py = runPythonJson(path.join(dir, 'bench.py'), args, { cwd: dir });
      r.pytorch = py.error ? py : { msPerStep: +(1000 * (py.median_s as number)).toFixed(1), imagesPerSecond: py.images_per_s, timesMs: (py.times_s as number[]).map((t) => +(1000 * t).toFixed(1)), torch: py.torch };
    }
    console.log(JSON.stringify(r));
  },
};
