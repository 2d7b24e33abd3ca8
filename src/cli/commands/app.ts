// `streetseg app`: a checkpoint → a static site that runs the model in the browser (onnxruntime-web).
// The last line printed is the JSON summary.
import { buildApp } from '../../app/build.js';
import { MAX_OPSET, MIN_OPSET } from '../../export/graph.js';
import { resolveCheckpoint } from '../../hub/index.js';
import { openCheckpoint } from '../../models/checkpoint.js';
import { checkpointHelp, revisionOption } from '../checkpoint-option.js';
import { UsageError, type Command } from '../command.js';
import { int8Options, int8Settings } from '../int8-options.js';

export const appCommand: Command = {
  name: 'app',
  usage: '--checkpoint DIR|ORG/NAME [--revision REV] --out SITE [--int8 [--calibrate DATA|DIR|IMAGE]] [--height H --width W] [--sample IMAGE] [--palette auto]',
  options: [
    { name: 'checkpoint', type: 'string', help: checkpointHelp('HF checkpoint directory (config.json + weights)'), required: true },
    revisionOption,
    { name: 'out', type: 'string', help: 'the site folder to write (new, or a site written before, which is replaced whole)', required: true },
    { name: 'int8', type: 'boolean', help: "as export --int8: a 3.3–3.8× smaller model.onnx, the linear layers as integer GEMMs; with --calibrate, the convolutions as integer QLinearConv too (onnxruntime-web's WASM runs them 2.6× faster)" },
    ...int8Options('the browser'),
    { name: 'height', type: 'int', min: 8, help: "fixed model input height (default: each image's size × the checkpoint's scale, as predict)" },
    { name: 'width', type: 'int', min: 8, help: 'fixed model input width' },
    { name: 'opset', type: 'int', min: MIN_OPSET, max: MAX_OPSET, help: 'ONNX opset of model.onnx', default: 17 },
    { name: 'palette', type: 'string', help: 'class colours: auto (by class name, CamVid/CamSeq01), camvid, camvid32, or a file of "R G B Name" lines', default: 'auto' },
    { name: 'sample', type: 'string', help: 'the image the page shows first (default: a synthetic driving scene, 480×360)' },
    { name: 'webgpu', type: 'boolean', help: "carry onnxruntime-web's WebGPU build (--no-webgpu: WASM only, 26 MB less)", default: true },
  ],
  async run({ opts }) {
    const h = opts.height as number | undefined;
    const w = opts.width as number | undefined;
    if ((h === undefined) !== (w === undefined)) throw new UsageError('streetseg app: give both --height and --width, or neither');
    const { dir } = await resolveCheckpoint(opts.checkpoint as string, { revision: opts.revision as string | undefined });
    const summary = await buildApp({
      checkpoint: openCheckpoint(dir),
      out: opts.out as string,
      int8: opts.int8 === true,
      ...(h !== undefined && w !== undefined ? { height: h, width: w } : {}),
      opset: opts.opset as number,
      palette: opts.palette as string,
      ...(opts.sample !== undefined ? { sample: opts.sample as string } : {}),
      webgpu: opts.webgpu !== false,
      ...int8Settings(opts, opts.int8 === true ? {} : { needs: '--int8' }),
    });
    console.error(`app: wrote ${summary.out} (${summary.files} files, ${(summary.bytes / 1e6).toFixed(1)} MB); open it with: streetseg serve ${summary.out}`);
    console.log(JSON.stringify(summary));
  },
};
