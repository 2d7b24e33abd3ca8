// `streetseg bench model`: inference or training step speed in libtorch (--runtime torch) or inference in
// onnxruntime-node on our ONNX export (--runtime onnx, --int8), optionally beside PyTorch: its eager
// reference (HF module layout) for torch, its own ONNX export timed back to back in onnxruntime for onnx.
// Prints {"model","mode","batch","height","width","msPerStep","imagesPerSecond","peakRssMiB",...}
// (+ "pytorch": {msPerStep, cpuMsPerStep, ...}, "speedup" = PyTorch ms / ours, "cpuRatio" = the same in CPU ms;
// or "pytorchExport" for onnx).
import { benchModel, benchPytorch, type ModelBenchOptions } from '../../../bench/model.js';
import { benchOnnx } from '../../../bench/onnx.js';
import { modelNames } from '../../models/index.js';
import { readConfig } from '../../models/hf.js';
import { native } from '../../torch/native.js';
import { getMatmulPrecision, setMatmulPrecision } from '../../torch/modes.js';
import { chooseMatmulPrecision, type MatmulPrecisionSetting } from '../../torch/matmul-precision.js';
import { UsageError, type Command } from '../command.js';

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
    { name: 'runtime', type: 'string', help: 'torch (libtorch) or onnx (onnxruntime-node on our export)', default: 'torch', choices: ['torch', 'onnx'] },
    { name: 'int8', type: 'boolean', help: 'onnx: the export --int8 model' },
    { name: 'opset', type: 'int', min: 13, max: 17, help: 'onnx: opset of our export', default: 17 },
    { name: 'threads', type: 'int', min: 1, help: 'onnx: intra-op threads (default: the torch thread count)' },
    { name: 'opt-level', type: 'string', help: 'onnx: onnxruntime graph optimisation level', default: 'all', choices: ['disabled', 'basic', 'extended', 'all'] },
    { name: 'gelu', type: 'string', help: 'onnx: GELU as standard ops (erf, fused by onnxruntime) or com.microsoft Gelu', default: 'erf', choices: ['erf', 'com.microsoft'] },
    { name: 'attention', type: 'string', help: 'onnx: attention as standard ops (MatMul, Softmax) or com.microsoft MultiHeadAttention (MobileViT)', default: 'matmul', choices: ['matmul', 'com.microsoft'] },
    { name: 'spin', type: 'boolean', help: 'onnx: intra-op threads spin while idle (onnxruntime\'s default; --no-spin on a shared, oversubscribed CPU)', default: true },
    { name: 'rounds', type: 'int', min: 1, help: 'onnx: timing rounds (alternating with the reference under --compare-pytorch; default 3 then, else 1)' },
    {
      name: 'compare-pytorch',
      type: 'boolean',
      help: "torch: then run the model's PyTorch reference with the same settings (shared/reference/pytorch/bench.py, bench/pytorch/bench_mobile.py); onnx: also time PyTorch's ONNX export (export_onnx.py) back to back",
    },
    { name: 'profile', type: 'boolean', help: 'torch: then profile one more step: "profile" lists its top operators and autograd nodes by self time (for PyTorch\'s side run shared/reference/pytorch/bench.py --profile)' },
    { name: 'checkpoint', type: 'string', help: "torch: a checkpoint directory whose config.json gives the architecture and labels (random weights; --model then names its family's model type)" },
    { name: 'matmul-precision', type: 'string', help: 'torch: matrix products in float32 (highest), with bfloat16 inputs through oneDNN (bf16), or bf16 where the CPU has AVX512-BF16 or AMX (auto)', default: 'highest', choices: ['highest', 'bf16', 'auto'] },
    { name: 'json', type: 'boolean', help: 'print JSON (the output is JSON either way)' },
  ],
  async run({ opts }) {
    if (opts.runtime === 'onnx' && opts['matmul-precision'] !== 'highest') throw new UsageError('streetseg bench model: --matmul-precision is libtorch\'s (--runtime torch)');
    setMatmulPrecision(chooseMatmulPrecision(opts['matmul-precision'] as MatmulPrecisionSetting).precision);
    if (opts.runtime === 'onnx') {
      if (opts.train) throw new UsageError('streetseg bench model: --runtime onnx times inference only (drop --train)');
      if (opts.profile) throw new UsageError('streetseg bench model: --profile profiles libtorch (--runtime torch)');
      const r = await benchOnnx({
        model: opts.model as string,
        batch: opts.batch as number,
        height: opts.height as number,
        width: opts.width as number,
        iters: opts.iters as number | undefined,
        warmup: opts.warmup as number | undefined,
        int8: !!opts.int8,
        opset: opts.opset as number,
        threads: opts.threads as number | undefined,
        optLevel: opts['opt-level'] as 'disabled' | 'basic' | 'extended' | 'all',
        emit: { gelu: opts.gelu as 'erf' | 'com.microsoft', attention: opts.attention as 'matmul' | 'com.microsoft' },
        spinning: opts.spin !== false,
        comparePytorch: !!opts['compare-pytorch'],
        rounds: opts.rounds as number | undefined,
      });
      console.log(JSON.stringify(r));
      return;
    }
    if (opts.int8) throw new UsageError('streetseg bench model: --int8 needs --runtime onnx');
    if (opts.checkpoint && opts['compare-pytorch']) throw new UsageError("streetseg bench model: --checkpoint times our side only (PyTorch's peers build the named model's default config)");
    const o: ModelBenchOptions = {
      model: opts.model as string,
      mode: opts.train ? 'train' : 'infer',
      batch: opts.batch as number,
      height: opts.height as number,
      width: opts.width as number,
      iters: opts.iters as number | undefined,
      warmup: opts.warmup as number | undefined,
      profile: !!opts.profile,
      ...(opts.checkpoint ? { config: readConfig(opts.checkpoint as string) } : {}),
    };
    const ours = await benchModel(o);
    const r: Record<string, unknown> = { ...ours, ...(opts.checkpoint ? { checkpoint: opts.checkpoint } : {}), runtime: 'torch', matmulPrecision: getMatmulPrecision(), blasCore: native.blasProbe().corename };
    if (opts['compare-pytorch']) {
      const py = benchPytorch({ ...o, threads: ours.threads });
      r.pytorch = py;
      if (!('error' in py)) {
        r.speedup = +(py.msPerStep / ours.msPerStep).toFixed(2);
        // CPU time per step: the work each side does, less sensitive to other load than wall time
        if (py.cpuMsPerStep && ours.cpuMsPerStep) r.cpuRatio = +(py.cpuMsPerStep / ours.cpuMsPerStep).toFixed(2);
      }
    }
    console.log(JSON.stringify(r));
  },
};
