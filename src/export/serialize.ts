// ModelProto (plain object) → bytes through the compiled schema, and onto disk atomically.
import { writeFileAtomic } from '../util/fs.js';
import { onnxType } from './proto.js';

export function encodeModel(model: Record<string, unknown>): Uint8Array {
  const T = onnxType('ModelProto');
  const err = T.verify(model);
  if (err) throw new Error(`ONNX ModelProto does not fit the schema: ${err}`);
  return T.encode(T.fromObject(model)).finish();
}

export function decodeModel(bytes: Uint8Array): Record<string, any> {
  const T = onnxType('ModelProto');
  return T.toObject(T.decode(bytes), { longs: Number }) as Record<string, any>;
}

/** Encodes and writes `file` (temp + rename); returns the byte count. */
export function writeModel(file: string, model: Record<string, unknown>): number {
  const bytes = encodeModel(model);
  writeFileAtomic(file, bytes);
  return bytes.byteLength;
}
