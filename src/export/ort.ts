// A thin runner over onnxruntime-node (CPU): one session per file, float32 NCHW in, logits out.
import * as fs from 'node:fs';
import ort from 'onnxruntime-node';

export type OrtSession = ort.InferenceSession;

export interface OrtSessionOptions {
  /** intra-op threads (default: onnxruntime's choice). */
  threads?: number;
  /** Graph optimisation level (default 'all', as the reference ort_bench.js). */
  optLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Default true: int8 QDQ weights are dequantised once when the session loads (onnxruntime's
   * session.disable_quant_qdq lets constant folding take DequantizeLinear), so an int8 file runs at fp32
   * speed; false keeps the DequantizeLinear nodes, run at every inference (less memory, ~15% slower on B0).
   */
  dequantizeAtLoad?: boolean;
}

export async function createOrtSession(file: string, o: OrtSessionOptions = {}): Promise<OrtSession> {
  if (!fs.existsSync(file)) throw new Error(`${file}: ONNX model not found`);
  try {
    return await ort.InferenceSession.create(file, {
      executionProviders: ['cpu'],
      ...(o.threads ? { intraOpNumThreads: o.threads } : {}),
      interOpNumThreads: 1,
      graphOptimizationLevel: o.optLevel ?? 'all',
      ...(o.dequantizeAtLoad !== false ? { extra: { session: { disable_quant_qdq: '1' } } } : {}),
    });
  } catch (e) {
    throw new Error(`${file}: onnxruntime could not load the model (${(e as Error).message})`);
  }
}

/** Runs `pixel_values` (float32, NCHW `dims`) and returns the first output (the logits). */
export async function runLogits(session: OrtSession, data: Float32Array, dims: [number, number, number, number]): Promise<{ data: Float32Array; dims: number[] }> {
  const need = dims.reduce((a, b) => a * b, 1);
  if (data.length !== need) throw new RangeError(`runLogits: ${data.length} values do not fit [${dims}]`);
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', data, dims) });
  const y = out[session.outputNames[0]!]!;
  return { data: y.data as Float32Array, dims: [...y.dims] };
}
