// `streetseg predict`: class-id PNGs, colour masks and overlays of images, folders and videos.
import { openCheckpoint } from '../../models/checkpoint.js';
import { predict } from '../../predict/index.js';
import { resolveCheckpoint } from '../../hub/index.js';
import { isRunDir, runCheckpoint } from '../../train/run-dir.js';
import { checkpointHelp, revisionOption } from '../checkpoint-option.js';
import { UsageError, type Command } from '../command.js';
import { smoothOption, smoothSpecOf } from '../smooth-option.js';

export const predictCommand: Command = {
  name: 'predict',
  usage: '--checkpoint DIR|ORG/NAME [--revision REV] INPUT… --out DIR [--overlay] [--alpha 0.5] [--runtime torch|onnx] [--batch N] [--height H --width W | --scale S] [--frames] [--sequence] [--smooth [METHOD[:PARAM=V,…]]] [--quiet]',
  options: [
    { name: 'checkpoint', type: 'string', help: checkpointHelp('HF checkpoint directory (config.json + model.safetensors; onnx/model.onnx for --runtime onnx), or a training run directory (its best checkpoint, else its last)'), required: true },
    revisionOption,
    { name: 'out', type: 'string', help: 'output folder: NAME.png (class ids), NAME_color.png, NAME_overlay.png, NAME_overlay.mp4 / NAME_color.mp4', required: true },
    { name: 'overlay', type: 'boolean', help: 'also write the image blended with the colour mask (videos: the overlay video instead of the mask video)' },
    { name: 'alpha', type: 'number', min: 0, max: 1, help: 'weight of the colour mask in the overlay', default: 0.5 },
    { name: 'runtime', type: 'string', choices: ['torch', 'onnx'], help: 'libtorch, or onnxruntime-node on an exported ONNX file', default: 'torch' },
    { name: 'onnx', type: 'string', help: 'ONNX file for --runtime onnx (default: CHECKPOINT/onnx/model.onnx)' },
    { name: 'batch', type: 'int', min: 1, help: 'images (frames) per forward pass', default: 1 },
    { name: 'height', type: 'int', min: 8, help: 'model input height (default: each image\'s own); outputs stay at the image size' },
    { name: 'width', type: 'int', min: 8, help: 'model input width (default: each image\'s own)' },
    { name: 'scale', type: 'number', min: 0.05, max: 8, help: "without --height/--width: model input = each image's size × this (default: the checkpoint's own inference scale, 0.5 for camvid-best, else 1)" },
    { name: 'frames', type: 'boolean', help: 'videos: also write each frame\'s class ids as NAME_frames/NNNNNN.png' },
    { name: 'palette', type: 'string', help: 'class colours: auto (by class name, CamVid/CamSeq01), camvid, camvid32, or a file of "R G B Name" lines', default: 'auto' },
    { name: 'sequence', type: 'boolean', help: "images are video frames: each folder's images, in name order, form sequences (split where the name's prefix before its frame number changes), smoothed with --smooth and measured for flicker like a video" },
    smoothOption('videos (each on its own) and --sequence images'),
    { name: 'quiet', type: 'boolean', help: 'no progress output; only the final JSON line' },
  ],
  async run({ opts, positional }) {
    if (positional.length === 0) throw new UsageError('streetseg predict: give at least one INPUT (image, folder of images, or video)');
    const h = opts.height as number | undefined;
    const w = opts.width as number | undefined;
    if ((h === undefined) !== (w === undefined)) throw new UsageError('streetseg predict: give both --height and --width, or neither');
    if (opts.onnx !== undefined && opts.runtime !== 'onnx') throw new UsageError('streetseg predict: --onnx needs --runtime onnx');
    const quiet = opts.quiet === true;
    const files = opts.runtime === 'onnx' && opts.onnx === undefined ? 'onnx' : 'torch';
    const dir = await checkpointDir(opts.checkpoint as string, { revision: opts.revision as string | undefined, files, quiet });
    const smooth = smoothSpecOf('predict', opts.smooth, dir);
    const summary = await predict({
      checkpoint: openCheckpoint(dir),
      inputs: positional,
      out: opts.out as string,
      runtime: opts.runtime as 'torch' | 'onnx',
      ...(opts.onnx !== undefined ? { onnx: opts.onnx as string } : {}),
      batch: opts.batch as number,
      ...(h !== undefined && w !== undefined ? { height: h, width: w } : {}),
      ...(opts.scale !== undefined ? { scale: opts.scale as number } : {}),
      overlayAlpha: opts.overlay ? (opts.alpha as number) : null,
      frames: opts.frames === true,
      palette: opts.palette as string,
      sequence: opts.sequence === true,
      ...(smooth ? { smooth } : {}),
      progress: quiet ? 'none' : process.stderr.isTTY ? 'bar' : 'log',
      log: quiet ? () => undefined : (l) => console.error(l),
    });
    console.log(JSON.stringify(summary));
  },
};

/** --checkpoint: a training run directory stands for its best checkpoint (else its last); anything else is resolveCheckpoint's. */
async function checkpointDir(arg: string, o: Parameters<typeof resolveCheckpoint>[1] & { quiet: boolean }): Promise<string> {
  if (!isRunDir(arg)) return (await resolveCheckpoint(arg, o)).dir;
  if (o.revision !== undefined) throw new UsageError(`--revision ${o.revision}: ${arg} is a training run directory; --revision applies to Hub repo ids only`);
  const c = runCheckpoint(arg);
  if (!c) throw new UsageError(`--checkpoint ${arg}: a training run directory without a complete checkpoint (expected checkpoints/best-epoch=…/ or checkpoints/last/)`);
  if (!o.quiet) console.error(`${arg}: ${c.note}: ${c.dir}`);
  return c.dir;
}
