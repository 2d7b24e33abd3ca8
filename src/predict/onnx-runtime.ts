// The onnxruntime-node runtime: labels from the checkpoint's config.json, the graph from DIR/onnx/model.onnx
// (or a given file), run on the CPU through export/ort.ts's session (as many intra-op threads as libtorch
// uses; int8 weights dequantised at load). The logits then take the same upsample + argmax path as the
// torch runtime (classIdsFromLogits). onnxruntime loads lazily: the torch runtime never pays for it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { fromArray, getNumThreads, type Tensor } from '../torch/index.js';
import { checkpointLabels, classIdsFromLogits, idsAndProbabilities, type SegmentBatch, type SegmentedWithProbabilities, type Segmenter } from './segmenter.js';
import { checkCheckpointDir } from './torch-runtime.js';

type Ort = typeof import('onnxruntime-node');

export class OnnxSegmenter implements Segmenter {
  readonly runtime = 'onnx' as const;

  private constructor(
    readonly labels: readonly string[],
    readonly file: string,
    private readonly ort: Ort,
    private readonly session: InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
  ) {}

  /** Labels from `dir`/config.json; the model from `onnxFile` (default `dir`/onnx/model.onnx). */
  static async load(dir: string, onnxFile?: string): Promise<OnnxSegmenter> {
    checkCheckpointDir(dir);
    const labels = checkpointLabels(dir);
    const file = onnxFile ?? path.join(dir, 'onnx', 'model.onnx');
    if (!fs.existsSync(file)) throw new Error(`${file}: ONNX model not found (export one with 'streetseg export', or give --onnx FILE)`);
    const [ort, { createOrtSession }] = await Promise.all([import('onnxruntime-node'), import('../export/ort.js')]);
    const session = await createOrtSession(file, { threads: getNumThreads() });
    const inputName = session.inputNames.includes('pixel_values') ? 'pixel_values' : session.inputNames[0];
    const outputName = session.outputNames.includes('logits') ? 'logits' : session.outputNames[0];
    if (!inputName || !outputName || session.inputNames.length !== 1) {
      await session.release();
      throw new Error(`${file}: expected one input (pixel_values [N,3,H,W]) and a logits output, got inputs [${session.inputNames}] outputs [${session.outputNames}]`);
    }
    return new OnnxSegmenter(labels, file, ort, session, inputName, outputName);
  }

  async segment(b: SegmentBatch): Promise<Uint8Array[]> {
    return this.withLogits(b, (logits) => classIdsFromLogits(logits, b.sizes));
  }

  async segmentWithProbabilities(b: SegmentBatch): Promise<SegmentedWithProbabilities[]> {
    return this.withLogits(b, (logits) => idsAndProbabilities(logits, b.sizes));
  }

  /** Runs the session on a batch and hands its logits, as a tensor, to `use`. */
  private async withLogits<T>(b: SegmentBatch, use: (logits: Tensor) => T): Promise<T> {
    const input = new this.ort.Tensor('float32', b.pixels, [b.n, 3, b.height, b.width]);
    let out;
    try {
      out = (await this.session.run({ [this.inputName]: input }))[this.outputName]!;
    } catch (e) {
      throw new Error(`${this.file}: onnxruntime failed on a [${b.n},3,${b.height},${b.width}] input: ${(e as Error).message}`);
    }
    const dims = out.dims.map(Number);
    if (out.type !== 'float32' || dims.length !== 4 || dims[0] !== b.n || dims[1] !== this.labels.length) {
      throw new Error(`${this.file}: output ${this.outputName} is ${out.type} [${dims}], expected float32 [${b.n}, ${this.labels.length} (the labels of config.json), h, w]`);
    }
    const logits = fromArray(out.data as Float32Array, dims);
    try {
      return use(logits);
    } finally {
      logits.dispose();
      out.dispose();
    }
  }

  dispose(): void {
    void this.session.release();
  }
}
