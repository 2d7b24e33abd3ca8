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
  /**
   * Default true (onnxruntime's default): idle intra-op threads spin, which saves wake-up latency on a
   * dedicated CPU; on a shared, oversubscribed one the spinning steals the cores the work needs
   * (MobileViT-XXS at 360×480, 2 threads, load ≈ 12 on 2 cores: ~400 ms spinning, ~200 ms without).
   */
  spinning?: boolean;
}

/** A session on an ONNX file, or on the bytes of one (`what` names them in errors). */
export async function createOrtSession(file: string | Uint8Array, o: OrtSessionOptions & { what?: string } = {}): Promise<OrtSession> {
  const what = typeof file === 'string' ? file : (o.what ?? 'ONNX model');
  if (typeof file === 'string' && !fs.existsSync(file)) throw new Error(`${file}: ONNX model not found`);
  try {
    return await ort.InferenceSession.create(file as string, {
      executionProviders: ['cpu'],
      ...(o.threads ? { intraOpNumThreads: o.threads } : {}),
      interOpNumThreads: 1,
      graphOptimizationLevel: o.optLevel ?? 'all',
      extra: {
        session: {
          ...(o.dequantizeAtLoad !== false ? { disable_quant_qdq: '1' } : {}),
          ...(o.spinning === false ? { 'intra_op.allow_spinning': '0' } : {}),
        },
      },
    });
  } catch (e) {
    throw new Error(`${what}: onnxruntime could not load the model (${(e as Error).message})`);
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
