// `streetseg bench model`: a model's inference or training step speed, optionally beside its PyTorch
// reference (HF module layout), run back to back with the same settings.
// Prints {"model","mode","batch","height","width","msPerStep","imagesPerSecond","peakRssMiB",...}
// (+ "pytorch": {msPerStep, cpuMsPerStep, ...}, "speedup" = PyTorch ms / ours, "cpuRatio" = the same in CPU ms).
import { benchModel, benchPytorch, type ModelBenchOptions } from '../../../bench/model.js';
import { modelNames } from '../../models/index.js';
import { native } from '../../torch/native.js';
import { type Command } from '../command.js';

export const benchModelCommand: Command = {
  name: 'bench model',
  options: [
    { name: 'model', type: 'string', help: 'model name (segformer-b0 or b0, mobilevit-xxs/xs/s, mobilenet-v2)', default: 'b0', choices: modelNames() },
    { name: 'height', type: 'int', min: 1, help: 'input height', default: 360 },
    { name: 'width', type: 'int', min: 1, help: 'input width', default: 480 },
    { name: 'batch', type: 'int', min: 1, help: 'batch size', default: 1 },
    { name: 'train', type: 'boolean', help: 'time a training step (forward, weighted CE, backward, AdamW)' },
    { name: 'iters', type: 'int', min: 1, help: 'timed iterations (default 10 infer / 5 train)' },
    { name: 'warmup', type: 'int', min: 0, help: 'untimed iterations (default 3 infer / 2 train)' },
    { name: 'compare-pytorch', type: 'boolean', help: "then run the model's PyTorch reference with the same settings (shared/reference/pytorch/bench.py, bench/pytorch/bench_mobile.py)" },
    { name: 'json', type: 'boolean', help: 'print JSON (the output is JSON either way)' },
  ],
  async run({ opts }) {
    const o: ModelBenchOptions = {
      model: opts.model as string,
      mode: opts.train ? 'train' : 'infer',
      batch: opts.batch as number,
      height: opts.height as number,
      width: opts.width as number,
      iters: opts.iters as number | undefined,
      warmup: opts.warmup as number | undefined,
    };
    const ours = await benchModel(o);
    const r: Record<string, unknown> = { ...ours, blasCore: native.blasProbe().corename };
    if (opts['compare-pytorch']) {
      const py = benchPytorch({ ...o, threads: ours.threads });
      r.pytorch = py;
      if (!('error' in py)) {
        r.speedup = +(py.msPerStep / ours.msPerStep).toFixed(2);
        // CPU time per step: the work each side does, less sensitive to other load than wall time
        if (py.cpuMsPerStep) r.cpuRatio = +(py.cpuMsPerStep / ours.cpuMsPerStep).toFixed(2);
      }
    }
    console.log(JSON.stringify(r));
  },
};
