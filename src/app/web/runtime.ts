// onnxruntime-web in the page: one module per runtime (ort.wasm for WASM, ort.webgpu for WebGPU), each
// loaded from the site's ort/ folder on first use (never from a CDN), and one inference session on the
// model's bytes. WASM threads need cross-origin isolation (SharedArrayBuffer); without it onnxruntime
// runs on one thread, and the page says so.
import type * as Ort from 'onnxruntime-web';
import { ORT_MODULES, SITE_FILES, type RuntimeName } from './site.js';

type OrtModule = typeof Ort;

export interface SessionOptions {
  /** WASM threads; forced to 1 without cross-origin isolation. Applies when the module first loads. */
  threads: number;
  /** int8 conv weights (QDQ) are dequantised once at load, as onnxruntime-node does; the linears stay integer GEMMs. */
  int8: boolean;
  /** onnxruntime's per-node profile, printed to the console by endProfiling() (the benchmark reads it). */
  profile?: boolean;
}

export interface ModelSession {
  readonly runtime: RuntimeName;
  readonly threads: number;
  /** Logits [classes, h, w] of one [1, 3, height, width] input. */
  run(pixels: Float32Array, height: number, width: number): Promise<{ logits: Float32Array; dims: number[] }>;
  endProfiling(): void;
  release(): Promise<void>;
}

const modules = new Map<RuntimeName, { ort: OrtModule; threads: number }>();

/** Threads a session may use here: 1 without cross-origin isolation, else the wish (at least 1). */
export function usableThreads(wish: number): number {
  return globalThis.crossOriginIsolated ? Math.max(1, Math.floor(wish)) : 1;
}

async function ortModule(runtime: RuntimeName, threads: number): Promise<{ ort: OrtModule; threads: number }> {
  const have = modules.get(runtime);
  if (have) return have;
  const base = new URL(`${SITE_FILES.ort}/`, document.baseURI).href;
  const ort = (await import(/* @vite-ignore */ base + ORT_MODULES[runtime].entry)) as OrtModule;
  ort.env.wasm.numThreads = usableThreads(threads);
  ort.env.wasm.wasmPaths = base;
  ort.env.logLevel = 'warning';
  const m = { ort, threads: ort.env.wasm.numThreads };
  modules.set(runtime, m);
  return m;
}

/** Why `runtime` cannot run in this browser, or null. */
export async function runtimeUnavailable(runtime: RuntimeName): Promise<string | null> {
  if (runtime === 'wasm') return typeof WebAssembly === 'object' ? null : 'this browser has no WebAssembly';
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return 'this browser has no WebGPU (navigator.gpu)';
  try {
    return (await gpu.requestAdapter()) ? null : 'WebGPU found no GPU adapter';
  } catch (e) {
    return `WebGPU adapter request failed: ${(e as Error).message}`;
  }
}

export async function createSession(runtime: RuntimeName, model: Uint8Array, o: SessionOptions): Promise<ModelSession> {
  const why = await runtimeUnavailable(runtime);
  if (why) throw new Error(`${runtime}: ${why}`);
  const { ort, threads } = await ortModule(runtime, o.threads);
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, {
      executionProviders: [runtime],
      graphOptimizationLevel: 'all',
      enableProfiling: o.profile === true,
      ...(o.int8 ? { extra: { session: { disable_quant_qdq: '1' } } } : {}),
    });
  } catch (e) {
    throw new Error(`${SITE_FILES.model}: onnxruntime-web (${runtime}) could not load the model: ${(e as Error).message}`);
  }
  const input = session.inputNames.includes('pixel_values') ? 'pixel_values' : session.inputNames[0]!;
  const output = session.outputNames.includes('logits') ? 'logits' : session.outputNames[0]!;
  return {
    runtime,
    threads: runtime === 'wasm' ? threads : 1,
    async run(pixels, height, width) {
      const x = new ort.Tensor('float32', pixels, [1, 3, height, width]);
      const out = (await session.run({ [input]: x }))[output]!;
      try {
        const dims = out.dims.map(Number);
        if (out.type !== 'float32' || dims.length !== 4 || dims[0] !== 1) throw new Error(`${SITE_FILES.model}: output ${output} is ${out.type} [${dims}], expected float32 [1, classes, h, w]`);
        // a CPU output is already a JS array (copied out of the wasm heap); a GPU one is downloaded here
        return { logits: (await out.getData()) as Float32Array, dims: dims.slice(1) };
      } finally {
        out.dispose();
      }
    },
    endProfiling: () => session.endProfiling(),
    release: () => session.release(),
  };
}
