// Hub repos made from the tiny SegFormer parity fixture (../shared/fixtures/segformer/tiny): the checkpoint
// as it is, sharded, encoder-only (decode_head.* dropped, as nvidia/mit-b* ship), pytorch_model.bin only,
// private and gated copies, and an index whose shard name climbs out of the snapshot.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPretrained } from '../../src/models/hf.js';
import { fromArray, inferenceMode, tidy } from '../../src/torch/index.js';
import { encodeSafetensors, parseSafetensors } from '../../src/torch/serialization/index.js';
import type { RawTensor } from '../../src/torch/serialization/types.js';
import { fixturesRoot } from '../../src/util/paths.js';
import type { HubRepo } from './hub-server.js';

export const tinyDir = (): string => path.join(fixturesRoot(), 'segformer', 'tiny');

export const C1 = '1'.repeat(40);
export const C2 = '2'.repeat(40);

/** Max |logits − HF's| of the checkpoint in `dir` on the tiny fixture's input (the fixture's logits.bin). */
export function tinyLogitsDiff(dir: string): number {
  const { model } = loadPretrained(dir, { log: () => undefined });
  model.eval();
  const input = new Uint8Array(fs.readFileSync(path.join(tinyDir(), 'input.bin')));
  const want = new Float32Array(new Uint8Array(fs.readFileSync(path.join(tinyDir(), 'logits.bin'))).buffer);
  const got = inferenceMode(() => tidy(() => model.forward(fromArray(input, [2, 3, 64, 96], 'float32')).logits.toArray() as Float32Array));
  model.dispose();
  return got.length === want.length ? got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i]!)), 0) : Infinity;
}

const concat = (parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);

export interface TinyFiles {
  config: Uint8Array;
  weights: Uint8Array;
  bin: Uint8Array;
  tensors: Map<string, RawTensor>;
}

export function tinyFiles(): TinyFiles {
  const dir = tinyDir();
  const weights = fs.readFileSync(path.join(dir, 'model.safetensors'));
  return { config: fs.readFileSync(path.join(dir, 'config.json')), weights, bin: fs.readFileSync(path.join(dir, 'pytorch_model.bin')), tensors: parseSafetensors(weights, 'tiny').tensors };
}

/** The tiny checkpoint in two shards plus model.safetensors.index.json, as transformers' save_pretrained(max_shard_size) writes it. */
export function shardFiles(t: TinyFiles): Record<string, Uint8Array> {
  const names = [...t.tensors.keys()].sort();
  const half = Math.ceil(names.length / 2);
  const shards = [names.slice(0, half), names.slice(half)];
  const out: Record<string, Uint8Array> = {};
  const weightMap: Record<string, string> = {};
  shards.forEach((keys, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    out[file] = concat(encodeSafetensors(new Map(keys.map((k) => [k, t.tensors.get(k)!])), { format: 'pt' }));
    for (const k of keys) weightMap[k] = file;
  });
  out['model.safetensors.index.json'] = Buffer.from(JSON.stringify({ metadata: { total_size: t.weights.byteLength }, weight_map: weightMap }, null, 2));
  return out;
}

/** An nvidia/mit-b0-like checkpoint: the encoder only, and a config naming the image-classification model. */
export function encoderOnlyFiles(t: TinyFiles): Record<string, Uint8Array> {
  const enc = new Map([...t.tensors].filter(([k]) => !k.startsWith('decode_head.')));
  const cfg = { ...JSON.parse(Buffer.from(t.config).toString('utf8')), architectures: ['SegformerForImageClassification'] };
  return { 'config.json': Buffer.from(JSON.stringify(cfg, null, 2)), 'model.safetensors': concat(encodeSafetensors(enc, { format: 'pt' })) };
}

export const PREPROCESSOR = Buffer.from(JSON.stringify({ do_normalize: true, do_resize: true, image_mean: [0.485, 0.456, 0.406], image_std: [0.229, 0.224, 0.225], size: { height: 64, width: 96 } }, null, 2));

export const TOKEN = 'hf_testtoken0123456789';

export function hubRepos(t: TinyFiles = tinyFiles()): Record<string, HubRepo> {
  const full = { 'config.json': t.config, 'model.safetensors': t.weights, 'preprocessor_config.json': PREPROCESSOR };
  const sharded = shardFiles(t);
  return {
    'org/tiny': { refs: { main: C1, v1: C1 }, commits: { [C1]: full }, lfs: ['model.safetensors'] },
    'org/tiny-sharded': { refs: { main: C1 }, commits: { [C1]: { 'config.json': t.config, ...sharded } }, lfs: Object.keys(sharded).filter((f) => f.endsWith('.safetensors')) },
    'org/mit-tiny': { refs: { main: C1 }, commits: { [C1]: encoderOnlyFiles(t) }, lfs: ['model.safetensors'] },
    'org/bin-only': { refs: { main: C2 }, commits: { [C2]: { 'config.json': t.config, 'pytorch_model.bin': t.bin } }, lfs: ['pytorch_model.bin'] },
    'org/private': { refs: { main: C1 }, commits: { [C1]: full }, lfs: ['model.safetensors'], token: TOKEN },
    'org/gated': { refs: { main: C1 }, commits: { [C1]: full }, lfs: ['model.safetensors'], token: TOKEN, gated: true },
    'org/evil': { refs: { main: C1 }, commits: { [C1]: { 'config.json': t.config, 'model.safetensors.index.json': Buffer.from(JSON.stringify({ weight_map: { 'a.weight': '../../../../escape.safetensors' } })) } } },
    'org/no-weights': { refs: { main: C1 }, commits: { [C1]: { 'config.json': t.config } } },
    // a Transformers.js-style repo: the graph under onnx/ (its bytes do not matter to the resolver)
    'org/tiny-onnx': { refs: { main: C1 }, commits: { [C1]: { 'config.json': t.config, 'onnx/model.onnx': Buffer.from('onnx graph bytes'.repeat(1000)) } }, lfs: ['onnx/model.onnx'] },
  };
}
