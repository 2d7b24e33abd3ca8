// `streetseg export`: checkpoint → ONNX (fp32, or int8), a Transformers.js folder
// beside it, and a self-check in onnxruntime-node (export/export.ts exportCheckpoint). The last line
// printed is the JSON summary.
import { exportCheckpoint, selfCheckError } from '../../export/export.js';
import { MAX_OPSET, MIN_OPSET } from '../../export/graph.js';
import { int8Options, int8Settings } from '../int8-options.js';
import { resolveCheckpoint } from '../../hub/index.js';
import { openCheckpoint } from '../../models/checkpoint.js';
import { checkpointHelp, revisionOption } from '../checkpoint-option.js';
import type { Command } from '../command.js';

/** The Transformers.js folder's default place: OUT without .onnx, plus '-transformersjs'. */
export const defaultHfDir = (out: string): string => `${out.replace(/\.onnx$/i, '')}-transformersjs`;

export const exportCommand: Command = {
  name: 'export',
  usage: '--checkpoint DIR|ORG/NAME --onnx OUT [--revision REV] [--opset 17] [--int8 [--calibrate DATA|DIR|IMAGE] [--calibration-images 32] [--int8-convs auto|int8|fp32]] [--hf-dir DIR] [--quiet]',
  options: [
    { name: 'checkpoint', type: 'string', help: checkpointHelp('HF checkpoint directory (config.json + weights)'), required: true },
    revisionOption,
    { name: 'onnx', type: 'string', help: 'the .onnx file to write', required: true },
    { name: 'opset', type: 'int', min: MIN_OPSET, max: MAX_OPSET, help: 'ONNX opset (below 17, LayerNorm is decomposed)', default: 17 },
    { name: 'int8', type: 'boolean', help: 'per-channel symmetric int8 weights of ≥ 4096 elements; linear layers as DynamicQuantizeMatMul (integer GEMMs, activations quantised at run time); convolutions as QLinearConv where that pays (calibrated, on a VNNI CPU), else dequantised at load' },
    ...int8Options('this CPU'),
    { name: 'hf-dir', type: 'string', help: 'Transformers.js folder (onnx/, config.json, preprocessor_config.json); default OUT minus .onnx + "-transformersjs"' },
    { name: 'transformersjs', type: 'boolean', help: 'write the Transformers.js folder (--no-transformersjs: only OUT)', default: true },
    { name: 'seed', type: 'int', min: 0, help: 'seed of the self-check input', default: 0 },
    { name: 'quiet', type: 'boolean', help: 'no download progress or log lines; only the final JSON line' },
  ],
  async run({ opts }) {
    const quiet = opts.quiet === true;
    const ckpt = openCheckpoint((await resolveCheckpoint(opts.checkpoint as string, { revision: opts.revision as string | undefined, quiet })).dir);
    const out = opts.onnx as string;
    const summary = await exportCheckpoint(ckpt, {
      out,
      opset: opts.opset as number,
      int8: !!opts.int8,
      ...int8Settings(opts, opts.int8 ? {} : { needs: '--int8' }),
      hfDir: opts.transformersjs === false ? null : ((opts['hf-dir'] as string | undefined) ?? defaultHfDir(out)),
      seed: opts.seed as number,
      ...(quiet ? { log: () => undefined } : {}),
    });
    if (summary.convs && !quiet) console.error(`export: convolutions ${summary.convs.int8 ? `as integer QLinearConv (${summary.convs.qlinearConvs})` : 'in fp32'}: ${summary.convs.reason}`);
    console.log(JSON.stringify(summary));
    const failed = selfCheckError(summary);
    if (failed) {
      console.error(failed);
      return 1;
    }
  },
};
