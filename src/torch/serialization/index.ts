// Tensor-free checkpoint serialization: safetensors (read/write) and torch.save zips (read).
import * as fs from 'node:fs';
import { parseSafetensors } from './safetensors.js';
import { isShardIndex, readShardedStateDict } from './sharded.js';
import { parseTorchBin } from './torch-pickle.js';
import type { RawTensor } from './types.js';

export * from './types.js';
export {
  type SafetensorsFile, parseSafetensors, readSafetensors, encodeSafetensors, writeSafetensors,
} from './safetensors.js';
export { parseTorchBin, readTorchBin } from './torch-pickle.js';
export { restrictedUnpickle } from './unpickle.js';
export { SHARD_INDEX_FILES, checkRelativeFileName, isShardIndex, parseShardIndex, readShardedStateDict, weightsBytes, type ShardIndex } from './sharded.js';

export type CheckpointFormat = 'safetensors' | 'torch';

/**
 * Guess a checkpoint's format from its first bytes (zip signature => torch.save; a plausible
 * u64 header length followed by "{" => safetensors), falling back to the extension.
 */
export function detectCheckpointFormat(buf: Uint8Array, file: string): CheckpointFormat {
  if (buf.length >= 4 && buf[0] === 0x50 && buf[1] === 0x4b && buf[2] === 0x03 && buf[3] === 0x04) return 'torch';
  if (buf.length >= 9 && buf[8] === 0x7b) {
    const n = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(0, true);
    if (n <= BigInt(buf.length - 8)) return 'safetensors';
  }
  const lower = file.toLowerCase();
  if (lower.endsWith('.safetensors')) return 'safetensors';
  if (lower.endsWith('.bin') || lower.endsWith('.pt') || lower.endsWith('.pth') || lower.endsWith('.ckpt')) return 'torch';
  throw new Error(`${file}: unrecognised checkpoint format (neither a safetensors file nor a torch.save zip)`);
}

/**
 * Read a state_dict from a .safetensors file or a torch.save zip (pytorch_model.bin, *.pt),
 * chosen by content (then extension), or from the shards a `*.index.json` lists. Tensor data may alias
 * the file buffers (see RawTensor).
 */
export function readStateDict(file: string): Map<string, RawTensor> {
  return isShardIndex(file) ? readShardedStateDict(file, readOne) : readOne(file);
}

function readOne(file: string): Map<string, RawTensor> {
  const buf = fs.readFileSync(file);
  return detectCheckpointFormat(buf, file) === 'safetensors'
    ? parseSafetensors(buf, file).tensors
    : parseTorchBin(buf, file);
}
