// Every command, in the order `streetseg --help` lists them: name, one-line summary, and how to load it.
// Commands load lazily so that `streetseg --help` does not load libtorch; that is why each summary
// lives here (its only copy) rather than in the command's module.
import type { Command } from './command.js';

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'info', summary: 'show versions, the libtorch and BLAS in use, and the thread count', load: async () => (await import('./commands/info.js')).infoCommand },
  { name: 'train', summary: 'train or fine-tune a model: checkpoints, metrics.csv, TensorBoard, an HTML report; --resume', load: async () => (await import('./commands/train.js')).trainCommand },
  { name: 'eval', summary: 'mean IoU and accuracy per class of a checkpoint on a dataset split (JSON, confusion.csv)', load: async () => (await import('./commands/eval.js')).evalCommand },
  { name: 'predict', summary: 'class-id PNGs, colour masks and overlays of images, folders and videos (torch or ONNX runtime)', load: async () => (await import('./commands/predict.js')).predictCommand },
  { name: 'app', summary: 'a static web app that runs a checkpoint in the browser (onnxruntime-web): images, video, webcam', load: async () => (await import('./commands/app.js')).appCommand },
  { name: 'serve', summary: 'serve an app folder on 127.0.0.1 with the COOP/COEP headers WASM threads need', load: async () => (await import('./commands/serve.js')).serveCommand },
  { name: 'compare', summary: 'the model table: mIoU, accuracy, size, parameters, latency/FPS and peak memory per runtime; chart and page', load: async () => (await import('./commands/compare.js')).compareCommand },
  { name: 'bench engine', summary: 'engine micro-benchmarks: matmul GFLOP/s, op overhead, a stem conv (JSON)', load: async () => (await import('./commands/bench-engine.js')).benchEngineCommand },
  { name: 'bench data', summary: 'data-loader throughput (images/s) with augmentation, no model', load: async () => (await import('./commands/bench-data.js')).benchDataCommand },
  { name: 'bench model', summary: 'inference or training step time of a model on random input (JSON)', load: async () => (await import('./commands/bench-model.js')).benchModelCommand },
  { name: 'bench app', summary: 'ms per frame of the web app in headless Chromium (WASM threads) beside onnxruntime-node (JSON)', load: async () => (await import('./commands/bench-app.js')).benchAppCommand },
  { name: 'bench train', summary: 'seconds per training epoch, images/s and peak RSS of the camvid-scratch recipe, optionally beside PyTorch (JSON)', load: async () => (await import('./commands/bench-train.js')).benchTrainCommand },
  { name: 'bench smooth', summary: 'temporal smoothers side by side on video splits: mIoU, flicker, consistency, ms per frame (table + JSON)', load: async () => (await import('./commands/bench-smooth.js')).benchSmoothCommand },
  { name: 'bench roofline', summary: 'training-step roofline of B0 and camvid-best: FLOPs from the graph, GEMM rate, floor, memory-bound share (JSON)', load: async () => (await import('./commands/bench-roofline.js')).benchRooflineCommand },
  { name: 'forward', summary: 'run a checkpoint on raw float32 NCHW input and write the logits (float32)', load: async () => (await import('./commands/forward.js')).forwardCommand },
  { name: 'export', summary: 'export a checkpoint to ONNX (fp32 or --int8), with a Transformers.js folder; checked in onnxruntime', load: async () => (await import('./commands/export.js')).exportCommand },
  { name: 'stats', summary: 'per-class pixel counts, frequencies and class weights of a dataset', load: async () => (await import('./commands/stats.js')).statsCommand },
  { name: 'download', summary: 'download, verify and extract CamSeq01 or CamVid (SegNet layout)', load: async () => (await import('./commands/download.js')).downloadCommand },
  { name: 'synth', summary: 'generate synthetic driving scenes (CamSeq01 layout, CamVid palette)', load: async () => (await import('./commands/synth.js')).synthCommand },
];

/** The entry named `name` ("stats", "bench data"), if any. */
export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
