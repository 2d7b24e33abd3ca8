// The HF parity fixtures (raw little-endian *.bin tensors described by meta.json) and the parity check every
// family's test runs on them, with tolerances in units of measured float32 noise (float32-noise.json).
//
// Float32 results are not unique: another kernel, ISA or thread count rounds differently, and a rounding
// difference that moves a pre-activation across a ReLU/ReLU6 threshold changes every gradient upstream of
// it by far more than the rounding itself (MobileViT's ASPP projection on AVX2 kernels: 2e-3 of max|g|).
// So the check is split in two, each against our own model in float64 on the fixture's float32 weights:
//  - exact:   the fixture (HF, float32) vs ours in float64, within EXACT_K × the fixture's own float32 noise
//             (its change when the same case runs in float64, measured with a PyTorch reference). This is
//             the formula check; it does not depend on this CPU's float32 arithmetic at all.
//  - float32: ours in float32 vs ours in float64, within FLOAT32_K × the float32 noise envelope: the largest
//             change measured, HF's or ours over the CPU-kernel sweep of scripts/float32-noise.ts (other
//             OpenBLAS cores, AVX2 / SSE4.1 oneDNN and ATen kernels, one thread). For gradients it is the
//             largest over every fixture of the model family (a threshold crossing is the architecture's,
//             whichever fixture happened to show it), never below the fixture generator's own floor of
//             1e-4 of max|g|.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromArray, keep, tidy, type Module, type Tensor } from '../../src/torch/index.js';
import { segmentationLoss, type SegmentationModel } from '../../src/models/index.js';
import { repoRoot } from '../../src/util/paths.js';
import { within } from './tolerance.js';

export interface FixtureMeta {
  files: Record<string, { dtype: string; shape: number[] }>;
  loss: number;
  grads: Record<string, string>;
  ignore_index: number;
}

/** Float32-vs-float64 changes of one case: max |Δlogit|, |Δloss| / loss, and max|Δg| / max|g| per gradient. */
export interface Float32Noise {
  logits: number;
  loss: number;
  grads: Record<string, number>;
}

export interface FixtureNoise {
  /** The fixture's own float32 numbers against a PyTorch reference of the model in float64. */
  reference: Float32Noise & { source: string };
  /** Ours in float32 against ours in float64: the maximum over the sweep's configurations. */
  streetseg: Float32Noise & { configs: string[] };
  /** The largest gradient change of either kind over all fixtures of the same family. */
  familyGradEnvelope: number;
}

export const EXACT_K = 1.5;
export const FLOAT32_K = 4;
/** The fixture generator's smallest gradient tolerance (relative to max|g|). */
export const GRAD_TOLERANCE_FLOOR = 1e-4;

export const NOISE_FILE = path.join(repoRoot, 'test', 'fixtures', 'hf', 'float32-noise.json');

/** The measured float32 noise of fixture `key` ("mobilevit/xx-small"). */
export function fixtureNoise(key: string): FixtureNoise {
  type Entry = Omit<FixtureNoise, 'familyGradEnvelope'>;
  const all = JSON.parse(fs.readFileSync(NOISE_FILE, 'utf8')) as { fixtures: Record<string, Entry> };
  const n = all.fixtures[key];
  if (!n) throw new Error(`${NOISE_FILE}: no entry for ${key} (run node dist/scripts/float32-noise.js --only ${key})`);
  const family = Object.entries(all.fixtures).filter(([k]) => k.split('/')[0] === key.split('/')[0]).map(([, e]) => e);
  const familyGradEnvelope = Math.max(...family.flatMap((e) => [...Object.values(e.reference.grads), ...Object.values(e.streetseg.grads)]));
  return { ...n, familyGradEnvelope };
}

/** A fixture tensor file with the dtype and shape meta.json gives it. */
export function readBin(dir: string, meta: FixtureMeta, name: string): Tensor {
  const f = meta.files[name]!;
  const buf = fs.readFileSync(path.join(dir, name));
  return fromArray(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), f.shape, f.dtype as 'float32' | 'int64');
}

export function maxAbsDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item());
}

/** max|a - b| / max|b|: the fixtures' measure of a gradient change. */
export function relMaxDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.to('float64').sub(b.to('float64')).abs().max().item() / b.abs().max().item());
}

/** One run of the fixture's case: eval-mode logits, weighted loss and the listed gradients, as float64 copies. */
export interface CaseResult {
  logits: Tensor;
  loss: number;
  grads: Map<string, Tensor>;
  dispose(): void;
}

/**
 * The model on input.bin with labels.bin and class_weights.bin, in `dtype` (the model is converted in
 * place), then backward. The loss is checked to be segmentationLoss of the logits, bit for bit.
 */
export function runCase(model: SegmentationModel & Module, dir: string, meta: FixtureMeta, dtype: 'float32' | 'float64'): CaseResult {
  if (dtype === 'float64') model.to('float64');
  model.eval();
  model.zeroGrad();
  const r = tidy(() => {
    const x = readBin(dir, meta, 'input.bin').to(dtype);
    const labels = readBin(dir, meta, 'labels.bin');
    const weight = readBin(dir, meta, 'class_weights.bin').to(dtype);
    const out = model.forward(x, labels, { weight, ignoreIndex: meta.ignore_index });
    assert.equal(segmentationLoss(out.logits, labels, { weight, ignoreIndex: meta.ignore_index }).item(), out.loss!.item());
    out.loss!.backward();
    const params = model.stateDict();
    const grads = new Map<string, Tensor>();
    for (const name of Object.keys(meta.grads)) {
      const g = params.get(name)?.grad;
      assert.ok(g, `no gradient for ${name}`);
      grads.set(name, keep(g.to('float64')));
    }
    return { logits: keep(out.logits.detach().to('float64')), loss: out.loss!.item(), grads };
  });
  model.zeroGrad();
  return { ...r, dispose: () => [r.logits, ...r.grads.values()].forEach((t) => t.dispose()) };
}

/** The changes between two runs (b the float64 one) in the units of Float32Noise. */
export function noiseBetween(a: { logits: Tensor; loss: number; grads: Map<string, Tensor> }, b: CaseResult): Float32Noise {
  const grads: Record<string, number> = {};
  for (const [name, g] of b.grads) grads[name] = relMaxDiff(a.grads.get(name)!, g);
  return { logits: maxAbsDiff(a.logits, b.logits), loss: Math.abs(a.loss - b.loss) / Math.abs(b.loss), grads };
}

/** The fixture's own numbers as a case result (float64 copies). */
export function fixtureCase(dir: string, meta: FixtureMeta): { logits: Tensor; loss: number; grads: Map<string, Tensor>; dispose(): void } {
  const logits = tidy(() => keep(readBin(dir, meta, 'logits.bin').to('float64')));
  const grads = new Map(Object.entries(meta.grads).map(([name, file]) => [name, tidy(() => keep(readBin(dir, meta, file).to('float64')))]));
  return { logits, loss: meta.loss, grads, dispose: () => [logits, ...grads.values()].forEach((t) => t.dispose()) };
}

/** The tolerances the two checks apply (see the file header), from a fixture's measured noise. */
export function parityTolerances(noise: FixtureNoise): { exact: Float32Noise; float32: Float32Noise } {
  const ref = noise.reference;
  const ours = noise.streetseg;
  const gradTol = Math.max(GRAD_TOLERANCE_FLOOR, FLOAT32_K * noise.familyGradEnvelope);
  const names = Object.keys(ref.grads);
  return {
    exact: { logits: EXACT_K * ref.logits, loss: EXACT_K * ref.loss, grads: Object.fromEntries(names.map((n) => [n, EXACT_K * ref.grads[n]!])) },
    float32: {
      logits: FLOAT32_K * Math.max(ref.logits, ours.logits),
      loss: FLOAT32_K * Math.max(ref.loss, ours.loss),
      grads: Object.fromEntries(names.map((n) => [n, gradTol])),
    },
  };
}

/**
 * How far two float32 implementations (onnxruntime and libtorch, a PyTorch reference and HF) may put the
 * results of fixture `key`'s weights apart: each within the float32 tolerance of the exact ones.
 */
export function crossImplementationTolerance(key: string): Float32Noise {
  const t = parityTolerances(fixtureNoise(key)).float32;
  return { logits: 2 * t.logits, loss: 2 * t.loss, grads: Object.fromEntries(Object.entries(t.grads).map(([k, v]) => [k, 2 * v])) };
}

function assertWithin(what: string, measured: Float32Noise, tol: Float32Noise): void {
  within(`${what}: logits max |diff|`, measured.logits, tol.logits);
  within(`${what}: loss relative diff`, measured.loss, tol.loss);
  for (const [name, t] of Object.entries(tol.grads)) within(`${what}: grad ${name}: max |diff| / max |g|`, measured.grads[name] ?? NaN, t);
}

/**
 * The parity check of one fixture: `load()` twice (a float64 and a float32 copy), the exact and the
 * float32 comparisons of the file header. Returns the measured changes (for the noise sweep).
 */
export function checkParity(load: () => SegmentationModel & Module, dir: string, meta: FixtureMeta, noise: FixtureNoise): { exact: Float32Noise; float32: Float32Noise } {
  const tol = parityTolerances(noise);
  const m64 = load();
  const r64 = runCase(m64, dir, meta, 'float64');
  m64.dispose();
  const fx = fixtureCase(dir, meta);
  const m32 = load();
  const r32 = runCase(m32, dir, meta, 'float32');
  m32.dispose();
  try {
    assert.deepEqual(r32.logits.shape, fx.logits.shape);
    const exact = noiseBetween(fx, r64);
    const float32 = noiseBetween(r32, r64);
    const name = path.relative(path.dirname(path.dirname(dir)), dir);
    assertWithin(`${name}: HF fixture vs ours in float64`, exact, tol.exact);
    assertWithin(`${name}: ours in float32 vs ours in float64`, float32, tol.float32);
    return { exact, float32 };
  } finally {
    [r64, r32, fx].forEach((r) => r.dispose());
  }
}
