// `streetseg bench app`: ms per frame of the web app in headless Chromium (onnxruntime-web, WASM threads)
// beside onnxruntime-node on the same model, frame and thread count (JSON; docs/benchmarks.md records runs).
import { APP_BENCH_MODELS, benchApp, type AppBenchModel } from '../../../bench/app.js';
import { UsageError, type Command } from '../command.js';

export const benchAppCommand: Command = {
  name: 'bench app',
  usage: '[--models segformer-b0,camvid-best] [--threads 2] [--iters 30] [--rounds 3] [--profile] [--int8 [--calibrate DIR]]',
  options: [
    { name: 'models', type: 'list', help: `models to time (random weights): ${Object.keys(APP_BENCH_MODELS).join(', ')}`, default: Object.keys(APP_BENCH_MODELS).join(',') },
    { name: 'threads', type: 'int', min: 1, help: 'WASM threads in the page and intra-op threads in onnxruntime-node', default: 2 },
    { name: 'iters', type: 'int', min: 1, help: 'timed frames per round and side', default: 30 },
    { name: 'warmup', type: 'int', min: 0, help: 'untimed frames before the first round', default: 5 },
    { name: 'rounds', type: 'int', min: 1, help: 'rounds, alternating browser and onnxruntime-node', default: 3 },
    { name: 'profile', type: 'boolean', help: "then profile the page's session: kernel time per operator type and provider, the slowest nodes" },
    { name: 'int8', type: 'boolean', help: 'time the int8 sites (streetseg app --int8)' },
    { name: 'calibrate', type: 'string', help: 'with --int8: as app --calibrate (integer convolutions), e.g. a CamVid folder' },
    { name: 'seed', type: 'int', min: 0, help: 'seed of the random weights', default: 0 },
  ],
  async run({ opts }) {
    const models = opts.models as string[];
    for (const m of models) if (!(m in APP_BENCH_MODELS)) throw new UsageError(`streetseg bench app: --models ${m}: expected some of ${Object.keys(APP_BENCH_MODELS).join(', ')}`);
    const r = await benchApp({
      models: models as AppBenchModel[],
      threads: opts.threads as number,
      iters: opts.iters as number,
      warmup: opts.warmup as number,
      rounds: opts.rounds as number,
      profile: opts.profile === true,
      seed: opts.seed as number,
      int8: opts.int8 === true,
      ...(opts.calibrate !== undefined ? { calibrate: opts.calibrate as string } : {}),
    });
    console.log(JSON.stringify(r));
  },
};
