// Hub repo ids on the command line, end to end against the loopback Hub (HF_ENDPOINT): forward and eval
// --checkpoint ORG/NAME, the cache read back offline by another process, train --model on an encoder-only
// repo, and errors as exit codes. The CLI runs as a child process (async: this process serves the Hub).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startProgress } from '../src/hub/progress.js';
import { dataRoot, repoRoot } from '../src/util/paths.js';
import { C1, hubRepos, tinyDir, TOKEN } from './helpers/hub-fixtures.js';
import { HubServer } from './helpers/hub-server.js';

const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
let hub: HubServer;
let tmp: string;
let cacheDir: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}, cwd = tmp): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cli, ...args], { cwd, env: { ...process.env, HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cacheDir, HF_HOME: path.join(tmp, 'home'), HF_TOKEN: TOKEN, HF_HUB_OFFLINE: '', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const readF32 = (f: string): Float32Array => new Float32Array(new Uint8Array(fs.readFileSync(f)).buffer);
const maxDiff = (a: Float32Array, b: Float32Array): number => (a.length !== b.length ? Infinity : a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0));

before(async () => {
  hub = await new HubServer(hubRepos()).start();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-hubcli-'));
  cacheDir = path.join(tmp, 'hub-cache');
});
after(async () => {
  await hub.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('Hub repo ids in the CLI', () => {
  it('forward --checkpoint ORG/NAME downloads into the cache and gives HF\'s logits; offline, another process reads that cache', async () => {
    const fwd = (out: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Run> =>
      run(['forward', '--checkpoint', 'org/tiny', '--input', path.join(tinyDir(), 'input.bin'), '--shape', '2,3,64,96', '--out', path.join(tmp, out), ...extra], env);
    const want = readF32(path.join(tinyDir(), 'logits.bin'));
    const a = await fwd('a.bin');
    assert.equal(a.code, 0, a.stderr);
    assert.ok(maxDiff(readF32(path.join(tmp, 'a.bin')), want) <= 1e-4);
    const snap = path.join(cacheDir, 'models--org--tiny', 'snapshots', C1);
    assert.match(a.stderr, /^downloading org\/tiny\/config\.json \(1\.3 kB\)$/m);
    assert.match(a.stderr, /^downloading org\/tiny\/model\.safetensors \(1\.8 MB\)$/m);
    assert.ok(a.stderr.includes(`org/tiny: revision main = commit ${C1}: ${snap}\n`), a.stderr);
    assert.ok(!a.stderr.includes(TOKEN) && !a.stdout.includes(TOKEN));
    assert.ok(hub.requests.filter((q) => q.server === 'cdn').every((q) => q.authorization === undefined));

    // offline, the Hub unreachable: the same logits from the cache, no request
    hub.requests.length = 0;
    const b = await fwd('b.bin', ['--quiet'], { HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://127.0.0.1:9' });
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stderr, '');
    assert.deepEqual(fs.readFileSync(path.join(tmp, 'b.bin')), fs.readFileSync(path.join(tmp, 'a.bin')));
    assert.equal(hub.requests.length, 0);
    const c = await fwd('c.bin', ['--revision', 'v1'], { HF_HUB_OFFLINE: '1' });
    assert.equal(c.code, 1);
    assert.match(c.stderr, /^streetseg: org\/tiny: no such local directory \(.*\); as a Hub repo id: org\/tiny \(revision v1\) is not in the Hub cache .*HF_HUB_OFFLINE is set/m);

    // the sharded repo through the same command
    const s = await run(['forward', '--checkpoint', 'org/tiny-sharded', '--input', path.join(tinyDir(), 'input.bin'), '--shape', '2,3,64,96', '--out', path.join(tmp, 's.bin'), '--quiet']);
    assert.equal(s.code, 0, s.stderr);
    assert.ok(maxDiff(readF32(path.join(tmp, 's.bin')), want) <= 1e-4);
  });

  it('errors are ordinary exit codes with the repo and HF_TOKEN named, never the token', async () => {
    const fwd = (ckpt: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Run> =>
      run(['forward', '--checkpoint', ckpt, '--input', path.join(tinyDir(), 'input.bin'), '--shape', '2,3,64,96', '--out', path.join(tmp, 'x.bin'), ...extra], env);
    const priv = await fwd('org/private', [], { HF_TOKEN: 'hf_wrongtoken' });
    assert.equal(priv.code, 1);
    assert.match(priv.stderr, /^streetseg: org\/private: no such local directory .*; as a Hub repo id: org\/private: access refused by .*HTTP 401 RepoNotFound: Invalid credentials.*a token \(from HF_TOKEN\) was sent/m);
    assert.ok(!priv.stderr.includes('hf_wrongtoken'));
    const gone = await fwd('org/tiny', ['--revision', 'nope']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^streetseg: org\/tiny: revision nope not found on http:\/\/127\.0\.0\.1:\d+ \(HTTP 404 RevisionNotFound/m);
    const local = await fwd(tinyDir(), ['--revision', 'main']);
    assert.equal(local.code, 1);
    assert.match(local.stderr, /^streetseg: --revision main: .*tiny is a local path; --revision applies to Hub repo ids only$/m);
  });

  it('eval --checkpoint ORG/NAME: the metrics name the Hub commit and go to runs/hub/ORG--NAME, never into the cache', async () => {
    // CamVid with a val split of three frames (links to the shared data, nothing copied)
    const camvid = path.join(dataRoot(), 'camvid');
    const mini = path.join(tmp, 'camvid3');
    fs.mkdirSync(mini);
    for (const f of ['classes.tsv', 'train.txt', 'train', 'trainannot', 'val', 'valannot']) fs.symlinkSync(path.join(camvid, f), path.join(mini, f));
    fs.writeFileSync(path.join(mini, 'val.txt'), fs.readFileSync(path.join(camvid, 'val.txt'), 'utf8').split('\n').slice(0, 3).join('\n') + '\n');
    const r = await run(['eval', '--checkpoint', 'org/tiny', '--data', mini, '--void', 'class', '--height', '64', '--width', '96', '--workers', '0', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.deepEqual(m.hub, { repo: 'org/tiny', revision: 'main', commit: C1 });
    assert.equal(m.numImages, 3);
    assert.equal(m.confusionCsv, path.join(tmp, 'runs', 'hub', 'org--tiny', 'eval-val', 'confusion.csv'));
    assert.ok(fs.existsSync(path.join(tmp, 'runs', 'hub', 'org--tiny', 'eval-val', 'metrics.json')));
    assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'models--org--tiny', 'snapshots', C1)).sort(), ['config.json', 'model.safetensors', 'preprocessor_config.json']);

    // compare takes Hub ids among its inputs: the same metrics as eval, the commit in the note
    const c = await run(['compare', 'org/tiny', '--data', mini, '--runtimes', 'torch', '--iters', '1', '--warmup', '0', '--height', '64', '--width', '96', '--workers', '0', '--json'], { HF_HUB_OFFLINE: '1' });
    assert.equal(c.code, 0, c.stderr);
    const row = JSON.parse(c.stdout.trim().split('\n').at(-1)!).models[0];
    assert.deepEqual([row.input, row.kind, row.checkpoint, row.note], ['org/tiny', 'checkpoint', path.join(cacheDir, 'models--org--tiny', 'snapshots', C1), `Hub org/tiny, revision main = commit ${C1}`]);
    assert.equal(row.numImages, 3);
  });

  it('train --model ORG/NAME on an encoder-only repo: encoder loaded, head initialised (logged), the commit recorded', async () => {
    const camvid = path.join(dataRoot(), 'camvid');
    const lines = fs.readFileSync(path.join(camvid, 'train.txt'), 'utf8').trim().split('\n');
    fs.writeFileSync(path.join(tmp, 'train4.txt'), lines.slice(0, 4).join('\n') + '\n');
    fs.writeFileSync(path.join(tmp, 'val2.txt'), 'val/0016E5_07959.png\nval/0016E5_07961.png\n');
    const out = path.join(tmp, 'run-mit');
    const r = await run(['train', '--model', 'org/mit-tiny', '--data', camvid, '--train-split', path.join(tmp, 'train4.txt'), '--val-split', path.join(tmp, 'val2.txt'),
      '--epochs', '1', '--height', '64', '--width', '96', '--batch-size', '2', '--eval-batch-size', '2', '--workers', '0', '--progress', 'log', '--no-tensorboard', '--report-samples', '0', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /snapshots\/1{40}\/model\.safetensors: encoder-only checkpoint; the head decode_head \(\d+ tensors\) is initialised/);
    assert.match(r.stderr, /org\/mit-tiny: revision main = commit 1{40}: /);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.equal(cfg.model, 'org/mit-tiny');
    assert.deepEqual(cfg.resolved.pretrained, { repo: 'org/mit-tiny', revision: 'main', commit: C1 });
    assert.ok(fs.existsSync(path.join(out, 'checkpoints', 'last', 'model.safetensors')));
  });

  it('the progress bar: on a TTY for large files, with the byte counts; small files and --quiet get none', () => {
    const written: string[] = [];
    const tty = Object.assign(Object.create(process.stderr) as NodeJS.WriteStream, {
      isTTY: true, columns: 120,
      write: (s: string) => (written.push(String(s)), true),
      cursorTo: () => true, clearLine: () => true, moveCursor: () => true,
    });
    const logged: string[] = [];
    const p = startProgress('bar', 'org/tiny/model.safetensors', 2_000_000, (l) => logged.push(l), tty);
    p.update(1_000_000);
    p.update(2_000_000);
    p.stop();
    assert.ok(written.some((s) => /org\/tiny\/model\.safetensors \[.*\] 100% \| 2\.0\/2\.0 MB/.test(s)), written.join('|'));
    assert.equal(logged.length, 0);
    startProgress('bar', 'org/tiny/config.json', 1_000, (l) => logged.push(l), tty).stop();
    startProgress('none', 'org/tiny/model.safetensors', 2_000_000, (l) => logged.push(l), tty).stop();
    assert.deepEqual(logged, ['downloading org/tiny/config.json (1.0 kB)']);
  });
});
