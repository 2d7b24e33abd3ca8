// Bridges raw checkpoint records (bytes + dtype + shape) and libtorch tensors.
import { fromArray } from '../factories.js';
import type { Tensor } from '../tensor.js';
import { readStateDict } from './index.js';
import { writeSafetensors } from './safetensors.js';
import type { RawTensor } from './types.js';

export function rawToTensor(r: RawTensor): Tensor {
  return fromArray(r.data, r.shape, r.dtype);
}

export function tensorToRaw(t: Tensor): RawTensor {
  const a = t.toArray();
  return { dtype: t.dtype, shape: t.shape, data: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) };
}

/** Loads every tensor of a .safetensors or torch .bin state_dict. */
export function loadTensors(file: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, r] of readStateDict(file)) out.set(k, rawToTensor(r));
  return out;
}

/** Saves tensors as safetensors, atomically. */
export function saveTensors(file: string, tensors: Map<string, Tensor>, metadata: Record<string, string> = { format: 'pt' }): void {
  const raw = new Map<string, RawTensor>();
  for (const [k, t] of tensors) raw.set(k, tensorToRaw(t));
  writeSafetensors(file, raw, metadata);
}
