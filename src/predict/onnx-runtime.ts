// The onnxruntime-node runtime: labels from the opened checkpoint, the graph from DIR/onnx/model.onnx
// (or a given file), run on the CPU through export/ort.ts's session (as many intra-op threads as libtorch
// uses; int8 weights dequantised at load). The logits then take the same upsample + argmax path as the
// torch runtime (classIdsFromLogits), and `eval --runtime onnx` scores them with evaluate() (forwardAsync).
// onnxruntime loads lazily: the torch runtime never pays for it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import type { CheckpointExport, CheckpointExportOptions } from '../export/export.js';
import type { Checkpoint } from '../models/checkpoint.js';
import { fromArray, getNumThreads, type Tensor } from '../torch/index.js';
import { checkLabelCount, classIdsFromLogits, idsAndProbabilities, type SegmentBatch, type SegmentedWithProbabilities, type Segmenter } from './segmenter.js';

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

  /** Labels from the checkpoint's config.json; the model from `onnxFile` (default CHECKPOINT/onnx/model.onnx). */
  static async load(ckpt: Checkpoint, onnxFile?: string): Promise<OnnxSegmenter> {
    checkLabelCount(ckpt.labels, ckpt.configFile);
    const labels = ckpt.labels;
    const file = onnxFile ?? path.join(ckpt.dir, 'onnx', 'model.onnx');
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

  /**
   * The checkpoint exported now, as `streetseg export` does (fp32, or `export --int8` with its calibration
   * and conv settings: `o` is exportCheckpoint's options but the file), into a temporary folder, and loaded;
   * the folder is gone once the session holds the model. An export that fails its self-check is refused.
   */
  static async fromExport(ckpt: Checkpoint, o: Omit<CheckpointExportOptions, 'out'> & { int8: boolean }): Promise<{ segmenter: OnnxSegmenter; exported: CheckpointExport }> {
    const { exportCheckpoint, selfCheckError } = await import('../export/export.js');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-onnx-'));
    try {
      const exported = await exportCheckpoint(ckpt, { ...o, out: path.join(tmp, o.int8 ? 'model_quantized.onnx' : 'model.onnx') });
      const failed = selfCheckError(exported);
      if (failed) throw new Error(`${ckpt.dir}: the ONNX export failed: ${failed}`);
      return { segmenter: await OnnxSegmenter.load(ckpt, exported.onnx), exported };
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  async segment(b: SegmentBatch): Promise<Uint8Array[]> {
    return this.withLogits(b, (logits) => classIdsFromLogits(logits, b.sizes));
  }

  async segmentWithProbabilities(b: SegmentBatch): Promise<SegmentedWithProbabilities[]> {
    return this.withLogits(b, (logits) => idsAndProbabilities(logits, b.sizes));
  }

  /** The logits (n, labels, h, w) of normalised pixels (n, 3, H, W), as a tensor the caller disposes (what evaluate() runs). */
  async forwardAsync(pixelValues: Tensor): Promise<Tensor> {
    const [n, c, h, w] = pixelValues.shape as [number, number, number, number];
    return this.run(pixelValues.contiguous().toArray() as Float32Array, [n, c, h, w]);
  }

  /** Runs the session on a batch and hands its logits, as a tensor, to `use`. */
  private async withLogits<T>(b: SegmentBatch, use: (logits: Tensor) => T): Promise<T> {
    const logits = await this.run(b.pixels, [b.n, 3, b.height, b.width]);
    try {
      return use(logits);
    } finally {
      logits.dispose();
    }
  }

  private async run(pixels: Float32Array, dims: [number, number, number, number]): Promise<Tensor> {
    const input = new this.ort.Tensor('float32', pixels, dims);
    let out;
    try {
      out = (await this.session.run({ [this.inputName]: input }))[this.outputName]!;
    } catch (e) {
      throw new Error(`${this.file}: onnxruntime failed on a [${dims}] input: ${(e as Error).message}`);
    }
    try {
      const got = out.dims.map(Number);
      if (out.type !== 'float32' || got.length !== 4 || got[0] !== dims[0] || got[1] !== this.labels.length) {
        throw new Error(`${this.file}: output ${this.outputName} is ${out.type} [${got}], expected float32 [${dims[0]}, ${this.labels.length} (the labels of config.json), h, w]`);
      }
      return fromArray(out.data as Float32Array, got);
    } finally {
      out.dispose();
    }
  }

  dispose(): void {
    void this.session.release();
  }
}
