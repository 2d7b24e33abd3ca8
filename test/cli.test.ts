// The streetseg CLI as a user runs it: help on every command, forward on a checkpoint, info.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fixturesRoot, repoRoot } from '../src/util/paths.js';

const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

describe('streetseg CLI', () => {
  it('--help lists the commands and every command has --help', () => {
    const top = run(['--help']);
    assert.equal(top.status, 0);
    const names = ['info', 'bench engine', 'bench data', 'bench model', 'forward', 'stats', 'download', 'synth'];
    for (const n of names) {
      assert.match(top.stdout, new RegExp(`^  ${n} `, 'm'), `top help lacks ${n}`);
      const h = run([...n.split(' '), '--help']);
      assert.equal(h.status, 0, `${n} --help: ${h.stderr}`);
      assert.match(h.stdout, new RegExp(`usage: streetseg ${n}`));
      assert.match(h.stdout, /--help/);
    }
  });

  it('unknown commands and options are usage errors (exit 2)', () => {
    const a = run(['frobnicate']);
    assert.equal(a.status, 2);
    assert.match(a.stderr, /unknown command 'frobnicate'/);
    const b = run(['info', '--nope']);
    assert.equal(b.status, 2);
    assert.match(b.stderr, /unknown option --nope/);
    const c = run(['bench']);
    assert.equal(c.status, 2);
    assert.match(c.stderr, /expected one of: engine, data, model/);
  });

  it('info --json reports libtorch, OpenBLAS and threads', () => {
    const r = run(['info', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const i = JSON.parse(r.stdout);
    assert.match(i.libtorch.version, /^1\.13/);
    assert.equal(i.blas.kind, 'openblas');
    assert.ok(i.threads >= 1);
  });

  it('forward writes the HF logits of the tiny fixture; a wrong input size is a clear error', () => {
    const dir = path.join(fixturesRoot(), 'segformer', 'tiny');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-fwd-'));
    const out = path.join(tmp, 'logits.bin');
    const r = run(['forward', '--checkpoint', dir, '--input', path.join(dir, 'input.bin'), '--shape', '2,3,64,96', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).shape, [2, 12, 16, 24]);
    const ours = new Float32Array(fs.readFileSync(out).buffer.slice(0));
    const exp = fs.readFileSync(path.join(dir, 'logits.bin'));
    const ref = new Float32Array(exp.buffer, exp.byteOffset, exp.byteLength / 4);
    assert.equal(ours.length, ref.length);
    let d = 0;
    for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(ours[i]! - ref[i]!));
    assert.ok(d <= 1e-4, `max |diff| ${d}`);
    const bad = run(['forward', '--checkpoint', dir, '--input', path.join(dir, 'input.bin'), '--shape', '1,3,64,96', '--out', out]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /input\.bin: 147456 bytes, but shape 1x3x64x96 of float32 needs 73728/);
    const shape = run(['forward', '--checkpoint', dir, '--input', path.join(dir, 'input.bin'), '--shape', '2,3,64', '--out', out]);
    assert.equal(shape.status, 2);
    assert.match(shape.stderr, /expected four positive integers/);
    fs.rmSync(tmp, { recursive: true });
  });
});
