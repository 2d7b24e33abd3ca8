// `streetseg export`: checkpoint → ONNX (fp32, or int8 weights in QDQ form), a Transformers.js folder
// beside it, and a self-check in onnxruntime-node. The last line printed is the JSON summary.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPretrained, readConfig } from '../../models/index.js';
import { buildOnnx, checkOnnx, writeTransformersJsDir } from '../../export/export.js';
import { onnxEmitter } from '../../export/families.js';
import { MAX_OPSET, MIN_OPSET } from '../../export/graph.js';
import { resolveCheckpoint } from '../../hub/index.js';
import { readJsonObject, writeFileAtomic } from '../../util/fs.js';
import { checkpointHelp, revisionOption } from '../checkpoint-option.js';
import type { Command } from '../command.js';

/** Fails early, naming the path, when `file` cannot be written (its folder is not a writable directory). */
export function checkWritable(file: string): void {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new Error(`${file}: is a directory, expected a file path to write`);
  let dir = path.dirname(path.resolve(file));
  while (!fs.existsSync(dir)) dir = path.dirname(dir);
  try {
    if (!fs.statSync(dir).isDirectory()) throw new Error('not a directory');
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    throw new Error(`${file}: cannot write here (${dir}: ${(e as Error).message})`);
  }
}

/** The checkpoint's preprocessor_config.json, if it has one (a JSON object), for the Transformers.js folder. */
function readPreprocessor(dir: string): Record<string, unknown> | undefined {
  const file = path.join(dir, 'preprocessor_config.json');
  return fs.existsSync(file) ? readJsonObject(file) : undefined;
}

/** The Transformers.js folder's default place: OUT without .onnx, plus '-transformersjs'. */
export const defaultHfDir = (out: string): string => `${out.replace(/\.onnx$/i, '')}-transformersjs`;

export const exportCommand: Command = {
  name: 'export',
  usage: '--checkpoint DIR|ORG/NAME --onnx OUT [--revision REV] [--opset 17] [--int8] [--hf-dir DIR] [--quiet]',
  options: [
    { name: 'checkpoint', type: 'string', help: checkpointHelp('HF checkpoint directory (config.json + weights)'), required: true },
    revisionOption,
    { name: 'onnx', type: 'string', help: 'the .onnx file to write', required: true },
    { name: 'opset', type: 'int', min: MIN_OPSET, max: MAX_OPSET, help: 'ONNX opset (below 17, LayerNorm is decomposed)', default: 17 },
    { name: 'int8', type: 'boolean', help: 'per-channel symmetric int8 weights (QDQ) for Conv/MatMul weights of ≥ 4096 elements' },
    { name: 'hf-dir', type: 'string', help: 'Transformers.js folder (onnx/, config.json, preprocessor_config.json); default OUT minus .onnx + "-transformersjs"' },
    { name: 'transformersjs', type: 'boolean', help: 'write the Transformers.js folder (--no-transformersjs: only OUT)', default: true },
    { name: 'seed', type: 'int', min: 0, help: 'seed of the self-check input', default: 0 },
    { name: 'quiet', type: 'boolean', help: 'no download progress or log lines; only the final JSON line' },
  ],
  async run({ opts }) {
    const quiet = opts.quiet === true;
    const ckpt = (await resolveCheckpoint(opts.checkpoint as string, { revision: opts.revision as string | undefined, quiet })).dir;
    const out = opts.onnx as string;
    const int8 = !!opts.int8;
    // Cheap checks first: config (and its model_type), exporter, and the output path, before loading weights.
    const cfg = readConfig(ckpt);
    onnxEmitter(cfg.model_type);
    checkWritable(out);
    const hfDir = opts.transformersjs === false ? null : ((opts['hf-dir'] as string | undefined) ?? defaultHfDir(out));
    if (hfDir) checkWritable(path.join(hfDir, 'config.json'));
    const { model } = loadPretrained(ckpt, quiet ? { log: () => undefined } : {});
    try {
      const t0 = performance.now();
      const built = buildOnnx(model, { opset: opts.opset as number, int8 });
      writeFileAtomic(out, built.bytes);
      const exportMs = performance.now() - t0;
      if (hfDir) writeTransformersJsDir(hfDir, model, built.bytes, int8, readPreprocessor(ckpt));
      const check = await checkOnnx(model, out, built, { seed: opts.seed as number });
      const tol = 1e-4;
      const summary = {
        onnx: out,
        bytes: built.bytes.byteLength,
        opset: opts.opset,
        int8,
        maxAbsDiff: check.maxAbsDiff,
        ...(check.maxAbsDiffVsFp32 !== undefined ? { maxAbsDiffVsFp32: check.maxAbsDiffVsFp32 } : {}),
        checkDims: check.dims,
        nodes: built.nodes,
        exportMs: +exportMs.toFixed(1),
        ...(hfDir ? { hfDir } : {}),
      };
      console.log(JSON.stringify(summary));
      if (!(check.maxAbsDiff <= tol)) {
        console.error(`${out}: self-check failed: max |ORT − libtorch| = ${check.maxAbsDiff} > ${tol}`);
        return 1;
      }
    } finally {
      model.dispose();
    }
  },
};
