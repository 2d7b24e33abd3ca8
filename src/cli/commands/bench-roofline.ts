// `streetseg bench roofline`: the roofline of a training step for SegFormer-B0 (batch 8, 360×480, bench
// model's train step) and the zoo's camvid-best (its recipe's batch 8 at 180×240): GEMM FLOPs counted
// from the executed graph, the sgemm rate, the step time, the floor (GEMM FLOPs / sgemm rate) and the
// profiled step's share of time in memory-bound ops (JSON, one line).
import { benchRoofline, rooflineTargets } from '../../../bench/roofline.js';
import { UsageError, type Command } from '../command.js';

export const benchRooflineCommand: Command = {
  name: 'bench roofline',
  usage: '[--models segformer-b0,camvid-best] [--iters 5] [--warmup 2] [--shapes 8]',
  options: [
    { name: 'models', type: 'list', help: 'which models (segformer-b0, camvid-best; default both)' },
    { name: 'iters', type: 'int', min: 1, help: 'timed training steps per model (the median is reported)', default: 5 },
    { name: 'warmup', type: 'int', min: 0, help: 'untimed steps first', default: 2 },
    { name: 'shapes', type: 'int', min: 0, help: "the model's largest GEMM call shapes replayed alone for their own rate", default: 8 },
  ],
  async run({ opts }) {
    const models = opts.models as string[] | undefined;
    const known = rooflineTargets().map((t) => t.name);
    for (const m of models ?? []) if (!known.includes(m)) throw new UsageError(`streetseg bench roofline: --models ${m}: expected one of ${known.join(', ')}`);
    const r = await benchRoofline({ models, iters: opts.iters as number, warmup: opts.warmup as number, shapes: opts.shapes as number });
    console.log(JSON.stringify(r));
  },
};
