// What `streetseg app` writes into model.json and the page reads: the one description of a site that
// both sides share (the builder in Node, the page in the browser), plus the file names they agree on.

export const SITE_FORMAT = 'streetseg-app';
export const SITE_VERSION = 2;

/** Files of a site, relative to its folder. */
export const SITE_FILES = {
  html: 'index.html',
  app: 'app.js',
  meta: 'model.json',
  model: 'model.onnx',
  sample: 'sample.png',
  /** onnxruntime-web's modules and WebAssembly binaries. */
  ort: 'ort',
} as const;

/**
 * The model's input size: fixed (`streetseg app --height H --width W`), or each image's own size times
 * `scale`, rounded (scaledSize), which is `streetseg predict`'s default (the checkpoint's single
 * streetseg_eval_scales entry, else 1).
 */
export type InputSize = { height: number; width: number } | { scale: number };

export type RuntimeName = 'wasm' | 'webgpu';

export interface SiteMeta {
  format: typeof SITE_FORMAT;
  version: typeof SITE_VERSION;
  /** The model's name ('segformer-b0', 'mobilevit-xxs', 'segformer-custom'…) and the checkpoint folder it came from. */
  model: string;
  modelType: string;
  checkpoint: string;
  /** Class names in id order, and one [r, g, b] colour per class. */
  classes: string[];
  colors: [number, number, number][];
  inputSize: InputSize;
  int8: boolean;
  opset: number;
  onnxBytes: number;
  /** Runtimes whose onnxruntime-web files the site carries (webgpu is offered only where navigator.gpu exists). */
  runtimes: RuntimeName[];
  ortVersion: string;
  /**
   * The video smoother (canonical spec, src/temporal): what `streetseg predict --smooth` alone uses for the
   * checkpoint (its config.json's streetseg_smooth, else the documented default).
   */
  smooth: string;
  /** The bundled sample frame's size. */
  sample: { width: number; height: number };
}

/** onnxruntime-web's entry module per runtime (each imports its own .mjs + .wasm pair from the same folder). */
export const ORT_MODULES: Record<RuntimeName, { entry: string; files: string[] }> = {
  wasm: { entry: 'ort.wasm.min.mjs', files: ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'] },
  webgpu: { entry: 'ort.webgpu.min.mjs', files: ['ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'] },
};
