// OpenBLAS's kernels are chosen from the CPU's flags before libopenblas initialises.
// Pure selection on recorded /proc/cpuinfo files, then real child processes that load the addon.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  BLAS_CORES,
  CORE_REQUIREMENTS,
  bestBlasCore,
  coreFits,
  decideBlasCore,
  missingFlags,
  parseCpuinfo,
  type BlasCore,
  type CpuInfo,
} from '../src/torch/blas-core.js';
import { blasCoreInfo } from '../src/torch/info.js';
import { native } from '../src/torch/native.js';
import { repoRoot } from '../src/util/paths.js';
import { PYTHON } from '../src/util/python.js';
import { rng } from '../src/util/random.js';

const fixture = (name: string): CpuInfo =>
  parseCpuinfo(fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'cpuinfo', name), 'utf8'));

// name, vendor, family, model, the core OpenBLAS 0.3.21 should run
const RECORDED: [string, string | null, number | null, number | null, BlasCore | null][] = [
  ['zen4-epyc-family25-model17.txt', 'AuthenticAMD', 25, 17, 'Cooperlake'], // this machine: avx512 + avx512_bf16
  ['emerald-rapids-family6-model207.txt', 'GenuineIntel', 6, 207, 'SkylakeX'], // avx512 without bf16: OpenBLAS 0.3.21 does not know this model
  ['zen2-epyc-family23-model49.txt', 'AuthenticAMD', 23, 49, 'Zen'], // avx2 + fma, no avx512
  ['broadwell-xeon-family6-model79.txt', 'GenuineIntel', 6, 79, 'Haswell'], // avx2 + fma on Intel
  ['sandybridge-xeon-family6-model45.txt', 'GenuineIntel', 6, 45, 'Sandybridge'], // avx only
  ['core2-sse-only-family6-model23.txt', 'GenuineIntel', 6, 23, null], // SSE only: leave OpenBLAS alone
  ['arm-neoverse-n1.txt', null, null, null, null], // no x86 flags: leave alone
];

describe('OpenBLAS core selection (pure)', () => {
  for (const [file, vendor, family, model, expected] of RECORDED) {
    it(`${file} -> ${expected ?? 'leave alone'}`, () => {
      const cpu = fixture(file);
      assert.equal(cpu.vendor, vendor);
      assert.equal(cpu.family, family);
      assert.equal(cpu.model, model);
      assert.equal(bestBlasCore(cpu), expected);
      if (expected) assert.deepEqual(missingFlags(expected, cpu), []);
      const d = decideBlasCore({}, cpu);
      assert.equal(d.mode, 'auto');
      assert.equal(d.coretype, expected, 'auto sets OPENBLAS_CORETYPE to the best core, or leaves it unset');
    });
  }

  it('parses flags as the intersection over processors, so one lacking core vetoes a kernel', () => {
    const text = fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'cpuinfo', 'zen4-epyc-family25-model17.txt'), 'utf8');
    const [p0, p1] = text.split(/\n\s*\n/);
    assert.ok(p0 && p1);
    assert.equal(parseCpuinfo(`${p0}\n\n${p1}`).flags.size, parseCpuinfo(p0).flags.size);
    const p1NoBf16 = p1.replace(' avx512_bf16', '');
    assert.notEqual(p1NoBf16, p1);
    const cpu = parseCpuinfo(`${p0}\n\n${p1NoBf16}`);
    assert.equal(cpu.flags.has('avx512_bf16'), false);
    assert.equal(bestBlasCore(cpu), 'SkylakeX');
  });

  it('drops one requirement at a time and falls to the next core that fits', () => {
    const er = fixture('emerald-rapids-family6-model207.txt');
    const without = (cpu: CpuInfo, ...drop: string[]): CpuInfo => ({ ...cpu, flags: new Set([...cpu.flags].filter((f) => !drop.includes(f))) });
    for (const f of ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl']) assert.equal(bestBlasCore(without(er, f)), 'Haswell', f);
    assert.equal(bestBlasCore(without(er, 'fma')), 'Sandybridge');
    assert.equal(bestBlasCore(without(er, 'avx2')), 'Sandybridge');
    assert.equal(bestBlasCore(without(er, 'avx')), null);
    // Zen kernels are for AMD/Hygon; the same AVX2 flags on an unknown vendor get Haswell's.
    const zen2 = fixture('zen2-epyc-family23-model49.txt');
    assert.equal(bestBlasCore({ ...zen2, vendor: 'HygonGenuine' }), 'Zen');
    assert.equal(bestBlasCore({ ...zen2, vendor: 'CentaurHauls' }), 'Haswell');
    assert.equal(bestBlasCore({ ...zen2, vendor: null }), 'Haswell');
  });

  it('never picks a core whose instructions the CPU lacks (2000 seeded random flag subsets)', () => {
    const all = [...fixture('zen4-epyc-family25-model17.txt').flags];
    const r = rng(13);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const keep = 0.5 + 0.5 * r.next(); // mostly-complete sets, so every core is reached
      const flags = new Set(all.filter(() => r.next() < keep));
      const cpu: CpuInfo = { vendor: r.next() < 0.5 ? 'AuthenticAMD' : 'GenuineIntel', family: null, model: null, modelName: null, flags };
      const core = bestBlasCore(cpu);
      seen.add(String(core));
      if (core === null) continue;
      for (const f of CORE_REQUIREMENTS[core].flags) assert.ok(flags.has(f), `picked ${core} without ${f}`);
      // ...and it is the best that fits: no better core in the list would have run.
      for (const better of BLAS_CORES.slice(0, BLAS_CORES.indexOf(core))) assert.equal(coreFits(better, cpu), false, `${better} fits but ${core} was picked`);
    }
    assert.deepEqual([...seen].sort(), [...BLAS_CORES, 'null'].sort(), 'every outcome was exercised');
  });

  it("the user's OPENBLAS_CORETYPE wins; STREETSEG_BLAS_CORE=keep turns the fix off; bad values are errors", () => {
    const zen4 = fixture('zen4-epyc-family25-model17.txt');
    const core2 = fixture('core2-sse-only-family6-model23.txt');
    assert.deepEqual(decideBlasCore({ OPENBLAS_CORETYPE: 'Haswell' }, zen4), { mode: 'user', best: 'Cooperlake', coretype: 'Haswell', missingFlags: [], cpu: 'AMD EPYC (AuthenticAMD family 25 model 17)' });
    assert.equal(decideBlasCore({ OPENBLAS_CORETYPE: 'Haswell', STREETSEG_BLAS_CORE: 'keep' }, zen4).mode, 'user');
    // A user may force kernels the CPU lacks (they win), but it is recorded so info can warn.
    assert.deepEqual(decideBlasCore({ OPENBLAS_CORETYPE: 'skylakex' }, core2).missingFlags, ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl']);
    assert.deepEqual(decideBlasCore({ STREETSEG_BLAS_CORE: 'keep' }, zen4), { mode: 'keep', best: 'Cooperlake', coretype: null, missingFlags: [], cpu: 'AMD EPYC (AuthenticAMD family 25 model 17)' });
    assert.equal(decideBlasCore({ STREETSEG_BLAS_CORE: 'auto', OPENBLAS_CORETYPE: '' }, zen4).coretype, 'Cooperlake', 'an empty OPENBLAS_CORETYPE counts as unset');
    assert.deepEqual(decideBlasCore({}, null), { mode: 'auto', best: null, coretype: null, missingFlags: [], cpu: '/proc/cpuinfo unreadable' });
    assert.throws(() => decideBlasCore({ STREETSEG_BLAS_CORE: 'fast' }, zen4), /STREETSEG_BLAS_CORE="fast": expected 'auto' \(the default\) or 'keep'/);
  });

  it('info warns loudly when the kernels in use are below the best and the fix is off', () => {
    const base = { mode: 'auto' as const, best: 'SkylakeX' as const, coretype: 'SkylakeX', missingFlags: [], cpu: 'x', preloaded: false };
    const probe = (corename: string) => ({ corename, config: `OpenBLAS 0.3.21 DYNAMIC_ARCH ${corename}` });
    assert.equal(blasCoreInfo(base, probe('SkylakeX')).warning, undefined);
    assert.equal(blasCoreInfo(base, probe('unknown')).warning, undefined, 'not OpenBLAS: nothing to compare');
    assert.match(blasCoreInfo({ ...base, mode: 'keep', coretype: null }, probe('Prescott')).warning ?? '', /runs its Prescott kernels but this CPU's best is SkylakeX.*STREETSEG_BLAS_CORE=keep/);
    assert.match(blasCoreInfo({ ...base, mode: 'user', coretype: 'Prescott' }, probe('Prescott')).warning ?? '', /OPENBLAS_CORETYPE=Prescott is set in your environment/);
    assert.match(blasCoreInfo({ ...base, preloaded: true }, probe('Prescott')).warning ?? '', /initialised before streetseg loaded it/);
    assert.match(blasCoreInfo({ ...base, mode: 'user', coretype: 'SkylakeX', missingFlags: ['avx512f'] }, probe('SkylakeX')).warning ?? '', /lacks \(avx512f\): expect crashes \(SIGILL\)/);
    assert.equal(blasCoreInfo({ ...base, best: null, coretype: null }, probe('Prescott')).warning, undefined, 'SSE-only CPU: Prescott is fine');
  });
});

// A fresh process per case: libopenblas reads OPENBLAS_CORETYPE once, when the addon is loaded.
const nativeUrl = pathToFileURL(path.join(repoRoot, 'dist', 'src', 'torch', 'native.js')).href;
const pythonUrl = pathToFileURL(path.join(repoRoot, 'dist', 'src', 'util', 'python.js')).href;
const pyScript = path.join(repoRoot, 'test', 'helpers', 'blas_core.py');
const childScript = `
import { native, blasCoreStartup } from ${JSON.stringify(nativeUrl)};
const { runPythonJson } = await import(${JSON.stringify(pythonUrl)});
const python = process.env.WITH_PYTHON ? runPythonJson(${JSON.stringify(pyScript)}, []) : null;
console.log(JSON.stringify({ probe: native.blasProbe(), startup: blasCoreStartup, env: process.env.OPENBLAS_CORETYPE ?? null, python }));`;

function child(env: Record<string, string>): { probe: { corename: string }; startup: { mode: string; best: string | null }; env: string | null; python: Record<string, unknown> | null; stderr: string } {
  const clean = { ...process.env };
  delete clean.OPENBLAS_CORETYPE;
  delete clean.STREETSEG_BLAS_CORE;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', childScript], { encoding: 'utf8', env: { ...clean, ...env }, timeout: 120_000 });
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  return { ...JSON.parse(r.stdout.trim().split('\n').pop()!), stderr: r.stderr };
}

const isOpenBlas = native.blasProbe().corename !== 'unknown';
const best = bestBlasCore(parseCpuinfo(fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : ''));

describe('OpenBLAS core in real processes', { skip: !isOpenBlas && 'libtorch does not use OpenBLAS here' }, () => {
  it('auto: openblas_get_corename() reports the chosen core, and a Python child runs the same', { skip: !best && 'no core to force on this CPU' }, () => {
    const r = child({ WITH_PYTHON: '1' });
    assert.equal(r.startup.mode, 'auto');
    assert.equal(r.env, best);
    assert.equal(r.probe.corename, best);
    assert.ok(fs.existsSync(PYTHON), `${PYTHON} missing (python3-torch)`);
    assert.deepEqual([r.python?.blasCore, r.python?.coretype], [best, best], JSON.stringify(r.python));
  });

  it("a user's OPENBLAS_CORETYPE wins, in this process and in Python children", () => {
    // Prescott (SSE3) runs on every x86-64 CPU and is never the best, so the override is visible.
    const r = child({ OPENBLAS_CORETYPE: 'Prescott', WITH_PYTHON: '1' });
    assert.equal(r.startup.mode, 'user');
    assert.equal(r.probe.corename, 'Prescott');
    assert.deepEqual([r.python?.blasCore, r.python?.coretype], ['Prescott', 'Prescott'], JSON.stringify(r.python));
  });

  it("STREETSEG_BLAS_CORE=keep keeps OpenBLAS's own choice", () => {
    // OPENBLAS_VERBOSE=2 makes libopenblas print the core its own detection picked ("Core: X").
    const r = child({ STREETSEG_BLAS_CORE: 'keep', OPENBLAS_VERBOSE: '2' });
    assert.equal(r.startup.mode, 'keep');
    assert.equal(r.env, null);
    const own = /Core: (\S+)/.exec(r.stderr)?.[1];
    assert.ok(own, `no "Core:" line from OpenBLAS: ${r.stderr}`);
    assert.equal(r.probe.corename, own);
  });

  it('a bad STREETSEG_BLAS_CORE stops the process with an error naming it', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import ${JSON.stringify(nativeUrl)};`], { encoding: 'utf8', env: { ...process.env, STREETSEG_BLAS_CORE: 'turbo' } });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /STREETSEG_BLAS_CORE="turbo": expected 'auto' \(the default\) or 'keep'/);
  });
});
