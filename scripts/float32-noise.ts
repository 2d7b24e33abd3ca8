// Measures the float32 noise of every HF parity fixture and writes test/fixtures/hf/float32-noise.json,
// the unit of the parity tests' tolerances (test/helpers/hf-fixture.ts).
//
//   node dist/scripts/float32-noise.js [--only segformer/tiny,...] [--out FILE]
//
// For each fixture: the fixture's float32 numbers against a PyTorch reference in float64
// (scripts/fixture_noise_reference.py), and our model in float32 against our model in float64 under each
// configuration of CONFIGS. OpenBLAS, oneDNN and ATen pick their kernels when libtorch loads, so each
// configuration runs in its own child process (`--child KEY`, which prints one JSON line).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPretrained, type SegmentationModel } from '../src/models/index.js';
import type { Module } from '../src/torch/index.js';
import { writeJsonAtomic } from '../src/util/fs.js';
import { PYTHON } from '../src/util/python.js';
import { repoRoot, sharedRoot } from '../src/util/paths.js';
import { fixtureCase, noiseBetween, NOISE_FILE, runCase, type FixtureMeta, type Float32Noise, type FixtureNoise } from '../test/helpers/hf-fixture.js';
import { hfFixture, SHARED_FIXTURES } from '../test/helpers/test-inputs.js';
import { CONFIGS } from './cpu-configs.js';

export const FIXTURES = ['segformer/tiny', 'mobilevit/tiny-odd', ...SHARED_FIXTURES];

const round = (v: number): number => Number(v.toPrecision(3));
const roundNoise = (n: Float32Noise): Float32Noise => ({ logits: round(n.logits), loss: round(n.loss), grads: Object.fromEntries(Object.entries(n.grads).map(([k, v]) => [k, round(v)])) });

/** This process's measurement: ours in float32 and float64, and the fixture against the float64 run. */
function measure(key: string): { float32: Float32Noise; exact: Float32Noise } {
  const dir = hfFixture(key);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as FixtureMeta;
  const load = () => loadPretrained(dir, { log: () => undefined }).model as SegmentationModel & Module;
  const m64 = load();
  const r64 = runCase(m64, dir, meta, 'float64');
  m64.dispose();
  const m32 = load();
  const r32 = runCase(m32, dir, meta, 'float32');
  m32.dispose();
  const fx = fixtureCase(dir, meta);
  const out = { float32: noiseBetween(r32, r64), exact: noiseBetween(fx, r64) };
  [r64, r32, fx].forEach((r) => r.dispose());
  return out;
}

function child(key: string, env: Record<string, string>): { float32: Float32Noise; exact: Float32Noise } {
  const r = spawnSync(process.execPath, [process.argv[1]!, '--child', key], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${key} with ${JSON.stringify(env)}: exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

function referenceNoise(key: string): FixtureNoise['reference'] {
  const script = path.join(repoRoot, 'scripts', 'fixture_noise_reference.py');
  const refDir = path.join(sharedRoot(), 'reference', 'pytorch');
  const r = spawnSync(PYTHON, [script, hfFixture(key), '--segformer-reference', refDir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script} ${key}: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as Float32Noise;
  const source = key.startsWith('segformer/') ? 'shared/reference/pytorch/segformer.py in float64' : `bench/pytorch/${key.split('/')[0]}.py in float64`;
  return { source, ...roundNoise(j) };
}

function maxNoise(all: Float32Noise[]): Float32Noise {
  const names = Object.keys(all[0]!.grads);
  return {
    logits: Math.max(...all.map((n) => n.logits)),
    loss: Math.max(...all.map((n) => n.loss)),
    grads: Object.fromEntries(names.map((k) => [k, Math.max(...all.map((n) => n.grads[k]!))])),
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    console.log(JSON.stringify(measure(argv[1]!)));
    return;
  }
  const opt = (name: string) => (argv.indexOf(name) >= 0 ? argv[argv.indexOf(name) + 1] : undefined);
  const out = opt('--out') ?? NOISE_FILE;
  const only = opt('--only')?.split(',') ?? FIXTURES;
  const prev = fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, 'utf8')) as { fixtures: Record<string, unknown> }) : { fixtures: {} };
  const fixtures: Record<string, unknown> = { ...prev.fixtures };
  for (const key of only) {
    const byConfig: Record<string, Float32Noise> = {};
    const exactByConfig: Record<string, Float32Noise> = {};
    for (const [name, env] of Object.entries(CONFIGS)) {
      const t0 = Date.now();
      const m = child(key, env);
      byConfig[name] = roundNoise(m.float32);
      exactByConfig[name] = roundNoise(m.exact);
      process.stderr.write(`${key} ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    }
    fixtures[key] = { reference: referenceNoise(key), streetseg: { configs: Object.keys(CONFIGS), ...maxNoise(Object.values(byConfig)), byConfig, exactByConfig } };
  }
  writeJsonAtomic(out, {
    about: 'float32-vs-float64 changes of each HF parity fixture (test/fixtures/hf/README.md); written by node dist/scripts/float32-noise.js',
    configs: CONFIGS,
    fixtures,
  });
  console.log(JSON.stringify({ out, fixtures: only }));
}

await main();
