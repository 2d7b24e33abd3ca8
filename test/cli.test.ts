// The streetseg CLI as a user runs it: help on every command, forward on a checkpoint, info.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { hfFixture } from './helpers/test-inputs.js';
import { parseArgs, UsageError, type Command } from '../src/cli/command.js';
import { COMMANDS } from '../src/cli/registry.js';
import { closest, editDistance } from '../src/util/suggest.js';
import sharp from 'sharp';
import { camvidClasses } from '../src/data/camvid.js';
import { createModel, savePretrained } from '../src/models/index.js';
import { within } from './helpers/tolerance.js';

const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

describe('streetseg CLI', () => {
  it('--help lists each command once with its summary; every command has --help with the same summary', () => {
    const top = run(['--help']);
    assert.equal(top.status, 0);
    const names = ['info', 'train', 'eval', 'predict', 'app', 'serve', 'compare', 'bench engine', 'bench data', 'bench model', 'bench app', 'bench train', 'bench smooth', 'bench roofline', 'forward', 'export', 'stats', 'download', 'synth'];
    assert.deepEqual(COMMANDS.map((c) => c.name), names);
    for (const c of COMMANDS) {
      const lines = top.stdout.split('\n').filter((l) => l.includes(c.summary));
      assert.deepEqual(lines, [`  ${c.name.padEnd(16)} ${c.summary}`], `top help line of ${c.name}`);
      const h = run([...c.name.split(' '), '--help']);
      assert.equal(h.status, 0, `${c.name} --help: ${h.stderr}`);
      assert.equal(h.stdout.split('\n')[0], `streetseg ${c.name} — ${c.summary}`);
      assert.match(h.stdout, new RegExp(`usage: streetseg ${c.name}`));
      assert.match(h.stdout, /--help/);
    }
    assert.match(run(['synth', '--help']).stdout, /--count <int> +number of frames \(>= 1\) \(required\)/);
  });

  it('each registry entry loads the command of that name', async () => {
    for (const c of COMMANDS) assert.equal((await c.load()).name, c.name);
  });

  it('unknown commands and options are usage errors (exit 2) with a suggestion', () => {
    const a = run(['frobnicate']);
    assert.equal(a.status, 2);
    assert.match(a.stderr, /unknown command 'frobnicate'\n/);
    assert.match(run(['sats']).stderr, /^streetseg: unknown command 'sats' \(did you mean 'stats'\?\)/);
    const b = run(['info', '--nope']);
    assert.equal(b.status, 2);
    assert.equal(b.stderr.trim(), "streetseg info: unknown option --nope; see 'streetseg info --help'");
    const j = run(['info', '--jsno']);
    assert.equal(j.status, 2);
    assert.equal(j.stderr.trim(), "streetseg info: unknown option --jsno (did you mean --json?); see 'streetseg info --help'");
    const c = run(['bench']);
    assert.equal(c.status, 2);
    assert.match(c.stderr, /expected one of: engine, data, model/);
    assert.match(run(['bench', 'modle']).stderr, /expected one of: engine, data, model, app, train, smooth, roofline \(did you mean 'bench model'\?\)/);
    const n = run(['synth', '--dir', os.tmpdir(), '--count', '1.5']);
    assert.equal(n.status, 2);
    assert.equal(n.stderr.trim(), 'streetseg synth: --count 1.5: expected an integer >= 1');
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
    const dir = hfFixture('segformer/tiny');
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
    within('forward vs the fixture logits: max |diff|', d, 1e-4);
    const bad = run(['forward', '--checkpoint', dir, '--input', path.join(dir, 'input.bin'), '--shape', '1,3,64,96', '--out', out]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /input\.bin: 147456 bytes, but shape 1x3x64x96 of float32 needs 73728/);
    const shape = run(['forward', '--checkpoint', dir, '--input', path.join(dir, 'input.bin'), '--shape', '2,3,64', '--out', out]);
    assert.equal(shape.status, 2);
    assert.match(shape.stderr, /expected four positive integers/);
    fs.rmSync(tmp, { recursive: true });
  });
});

describe('streetseg eval on a split', () => {
  it('a CamVid folder holding only test/ + testannot/: --split test evaluates it; the default split is named as missing', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-evalsplit-'));
    try {
      const data = path.join(tmp, 'camvid');
      for (const d of ['test', 'testannot']) fs.mkdirSync(path.join(data, d), { recursive: true });
      for (let i = 0; i < 3; i++) {
        const rgb = Buffer.alloc(64 * 48 * 3, 50 * i);
        const ids = Buffer.from(Array.from({ length: 64 * 48 }, (_, p) => (p + i) % 12)); // 11 = void
        await sharp(rgb, { raw: { width: 64, height: 48, channels: 3 } }).png().toFile(path.join(data, 'test', `f${i}.png`));
        await sharp(ids, { raw: { width: 64, height: 48, channels: 1 } }).png().toFile(path.join(data, 'testannot', `f${i}.png`));
      }
      const ckpt = path.join(tmp, 'ckpt');
      const m = createModel('segformer-b0', camvidClasses('ignore').names, { hidden_sizes: [8, 8, 8, 8], decoder_hidden_size: 8, num_attention_heads: [1, 1, 1, 1], depths: [1, 1, 1, 1] });
      savePretrained(m, ckpt);
      m.dispose();
      const r = run(['eval', '--checkpoint', ckpt, '--data', data, '--split', 'test', '--json', '--workers', '0', '--out', path.join(tmp, 'out')]);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
      assert.equal(j.numImages, 3);
      assert.ok(fs.existsSync(path.join(tmp, 'out', 'confusion.csv')));
      const dflt = run(['eval', '--checkpoint', ckpt, '--data', data, '--json', '--workers', '0', '--out', path.join(tmp, 'out2')]);
      assert.equal(dflt.status, 1);
      assert.match(dflt.stderr, /CamVid split "val" not found \(available: test\)/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('option specs', () => {
  const cmd: Command = {
    name: 'train',
    options: [
      { name: 'batch-size', type: 'int', min: 1, help: 'b', default: 8 },
      { name: 'lr', type: 'number', min: 0, max: 1, help: 'l' },
      { name: 'epochs', type: 'int', max: 1000, help: 'e' },
      { name: 'scale', type: 'number', help: 's' },
      { name: 'cache', type: 'boolean', help: 'c' },
      { name: 'out', type: 'string', help: 'o' },
    ],
    run: async () => 0,
  };
  const fails = (argv: string[], message: string): void => {
    assert.throws(() => parseArgs(cmd, argv), (e: Error) => {
      assert.ok(e instanceof UsageError, `a UsageError, got ${e.name}`);
      assert.equal(e.message, message);
      return true;
    });
  };

  it('int and number values are parsed and range-checked', () => {
    const a = parseArgs(cmd, ['--batch-size', '1', '--lr=0', '--epochs', '-3', '--scale', '-2.5e-1']);
    assert.deepEqual(a.opts, { 'batch-size': 1, lr: 0, epochs: -3, scale: -0.25 });
    assert.deepEqual(parseArgs(cmd, ['--lr', '1']).opts, { lr: 1, 'batch-size': 8 });
    fails(['--batch-size', '0'], 'streetseg train: --batch-size 0: expected an integer >= 1');
    fails(['--batch-size', '2.5'], 'streetseg train: --batch-size 2.5: expected an integer >= 1');
    fails(['--batch-size', 'eight'], 'streetseg train: --batch-size eight: expected an integer >= 1');
    fails(['--batch-size='], 'streetseg train: --batch-size : expected an integer >= 1');
    fails(['--batch-size', '9007199254740993'], 'streetseg train: --batch-size 9007199254740993: expected an integer >= 1');
    fails(['--lr', '1.5'], 'streetseg train: --lr 1.5: expected a number from 0 to 1');
    fails(['--lr', '-0.1'], 'streetseg train: --lr -0.1: expected a number from 0 to 1');
    fails(['--lr', 'NaN'], 'streetseg train: --lr NaN: expected a number from 0 to 1');
    fails(['--epochs', '1001'], 'streetseg train: --epochs 1001: expected an integer <= 1000');
    fails(['--scale', 'Infinity'], 'streetseg train: --scale Infinity: expected a number');
  });

  it('an unknown option names the nearest one within two edits', () => {
    fails(['--batchsize', '4'], "streetseg train: unknown option --batchsize (did you mean --batch-size?); see 'streetseg train --help'");
    fails(['--ecpohs', '4'], "streetseg train: unknown option --ecpohs (did you mean --epochs?); see 'streetseg train --help'");
    fails(['--no-cahce'], "streetseg train: unknown option --no-cahce (did you mean --no-cache?); see 'streetseg train --help'");
    fails(['--learning-rate', '1'], "streetseg train: unknown option --learning-rate; see 'streetseg train --help'");
  });
});

describe('suggest', () => {
  it('editDistance counts insertions, deletions, substitutions and neighbour swaps as one edit', () => {
    assert.equal(editDistance('', ''), 0);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('abc', ''), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3); // k->s, e->i, +g
    assert.equal(editDistance('batch', 'bacth'), 1); // swap
    assert.equal(editDistance('batchsize', 'batch-size'), 1); // insertion
    assert.equal(editDistance('ca', 'abc'), 3); // optimal string alignment: no edit of a swapped pair
    assert.equal(editDistance('lr', 'rl'), 1);
  });

  it('closest picks the nearest choice within 2 edits, the earlier one on a tie, and nothing for short words', () => {
    assert.equal(closest('stat', ['stats', 'synth']), 'stats');
    assert.equal(closest('epoch', ['epochs', 'batch']), 'epochs');
    assert.equal(closest('lrr', ['lr', 'lrs']), 'lr'); // tie at 1: earlier choice
    assert.equal(closest('batchSize', ['batch-size', 'batchSize']), 'batchSize'); // exact match wins
    assert.equal(closest('learningRate', ['lr', 'epochs']), undefined);
    assert.equal(closest('xy', ['id']), undefined); // 2 edits would replace the whole word
    assert.equal(closest('x', ['n']), undefined);
    assert.equal(closest('', ['a']), undefined);
    assert.equal(closest('abc', []), undefined);
  });
});
