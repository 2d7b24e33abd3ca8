// The cache shared with Python: a cache laid out by hand exactly as huggingface_hub lays it is read as it
// is (offline and online, nothing downloaded again); two processes fetching one repo at once both end with
// a valid cache and one download; locks left by dead processes are broken.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hubSettings, resolveHubCheckpoint } from '../src/hub/index.js';
import { withFileLock } from '../src/hub/lock.js';
import { repoRoot } from '../src/util/paths.js';
import { C1, hubRepos, tinyDir, tinyFiles, tinyLogitsDiff, type TinyFiles } from './helpers/hub-fixtures.js';
import { gitSha1, HubServer, sha256 } from './helpers/hub-server.js';

let t: TinyFiles;
let hub: HubServer;
let tmp: string;

before(async () => {
  t = tinyFiles();
  hub = await new HubServer(hubRepos(t)).start();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-hubcache-'));
});
after(async () => {
  await hub.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the huggingface_hub cache', () => {
  it('a cache laid out by hand as huggingface_hub lays it is used as it is', async () => {
    const cacheDir = path.join(tmp, 'python-cache');
    const root = path.join(cacheDir, 'models--org--tiny');
    const blobs = { config: gitSha1(t.config), weights: sha256(t.weights) };
    fs.mkdirSync(path.join(root, 'blobs'), { recursive: true });
    fs.writeFileSync(path.join(root, 'blobs', blobs.config), t.config);
    fs.writeFileSync(path.join(root, 'blobs', blobs.weights), t.weights);
    fs.mkdirSync(path.join(root, 'refs'));
    fs.writeFileSync(path.join(root, 'refs', 'main'), C1);
    const snap = path.join(root, 'snapshots', C1);
    fs.mkdirSync(snap, { recursive: true });
    fs.symlinkSync(`../../blobs/${blobs.config}`, path.join(snap, 'config.json'));
    fs.symlinkSync(`../../blobs/${blobs.weights}`, path.join(snap, 'model.safetensors'));
    fs.mkdirSync(path.join(root, '.no_exist', C1), { recursive: true });
    fs.writeFileSync(path.join(root, '.no_exist', C1, 'preprocessor_config.json'), '');
    // what Python's FileLock leaves behind
    fs.mkdirSync(path.join(cacheDir, '.locks', 'models--org--tiny'), { recursive: true });
    fs.writeFileSync(path.join(cacheDir, '.locks', 'models--org--tiny', `${blobs.weights}.lock`), '');
    const before = fs.readdirSync(root, { recursive: true }).map(String).sort();

    const env = { HF_HUB_CACHE: cacheDir, HF_ENDPOINT: hub.endpoint };
    const off = await resolveHubCheckpoint('org/tiny', { settings: hubSettings({ ...env, HF_HUB_OFFLINE: '1' }) });
    assert.deepEqual([off.dir, off.commit, off.files], [snap, C1, ['config.json', 'model.safetensors']]);
    assert.ok(tinyLogitsDiff(off.dir) <= 1e-4);
    // online: one HEAD learns main is still C1; the cached files and the recorded absence are trusted
    hub.requests.length = 0;
    const on = await resolveHubCheckpoint('org/tiny', { settings: hubSettings(env), log: () => undefined });
    assert.equal(on.dir, snap);
    assert.deepEqual(hub.requests.map((q) => `${q.method} ${q.path}`), ['HEAD /org/tiny/resolve/main/config.json']);
    assert.deepEqual(fs.readdirSync(root, { recursive: true }).map(String).sort(), before);

    // Windows-style (no symlinks): the snapshot holds copies; a commit-pinned revision needs no network
    const copies = path.join(tmp, 'copies-cache');
    const snap2 = path.join(copies, 'models--org--tiny', 'snapshots', C1);
    fs.mkdirSync(snap2, { recursive: true });
    fs.copyFileSync(path.join(tinyDir(), 'config.json'), path.join(snap2, 'config.json'));
    fs.copyFileSync(path.join(tinyDir(), 'model.safetensors'), path.join(snap2, 'model.safetensors'));
    hub.requests.length = 0;
    const pinned = await resolveHubCheckpoint('org/tiny', { revision: C1, settings: hubSettings({ HF_HUB_CACHE: copies, HF_ENDPOINT: 'http://127.0.0.1:9' }) });
    assert.deepEqual([pinned.dir, pinned.fromCache, hub.requests.length], [snap2, true, 0]);
  });

  it('two processes fetching the same repo at once: one download, both valid, nothing left over', async () => {
    const cacheDir = path.join(tmp, 'shared-cache');
    hub.requests.length = 0;
    // The weights' body is held until both processes have asked for their metadata, then takes ~1.4 s:
    // whichever downloads, the other finds the lock taken.
    let open = (): void => undefined;
    hub.faults = { chunkDelayMs: 50, gate: new Promise<void>((r) => (open = r)) };
    const poll = setInterval(() => {
      if (hub.count('hub', 'HEAD', 'model.safetensors') >= 2) open();
    }, 10);
    const child = path.join(repoRoot, 'dist', 'test', 'helpers', 'hub-fetch-child.js');
    const env = { ...process.env, HF_HUB_CACHE: cacheDir, HF_ENDPOINT: hub.endpoint, HF_TOKEN: '', HF_HUB_OFFLINE: '' };
    const runOne = (): Promise<{ code: number | null; out: string; err: string }> =>
      new Promise((resolve) => {
        const p = spawn(process.execPath, [child, 'org/tiny'], { env });
        let out = '';
        let err = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (err += d));
        p.on('close', (code) => resolve({ code, out, err }));
      });
    const [a, b] = await Promise.all([runOne(), runOne()]);
    clearInterval(poll);
    hub.faults = {};
    for (const r of [a, b]) assert.equal(r.code, 0, r.err);
    const ra = JSON.parse(a.out);
    const rb = JSON.parse(b.out);
    assert.equal(ra.dir, rb.dir);
    assert.equal(hub.count('cdn', 'GET'), 1, 'the weights were downloaded once');
    assert.ok([...ra.lines, ...rb.lines].some((l: string) => l === 'org/tiny/model.safetensors: waiting for another process downloading it'), [...ra.lines, ...rb.lines].join('\n'));
    const root = path.join(cacheDir, 'models--org--tiny');
    assert.deepEqual(fs.readFileSync(path.join(ra.dir, 'model.safetensors')), Buffer.from(t.weights));
    assert.deepEqual(fs.readdirSync(path.join(root, 'blobs')).sort(), [gitSha1(t.config), sha256(t.weights), gitSha1(hubRepos(t)['org/tiny']!.commits[C1]!['preprocessor_config.json']!)].sort());
    assert.deepEqual(fs.readdirSync(path.join(cacheDir, '.locks', 'models--org--tiny')), []);
    assert.ok(!fs.readdirSync(ra.dir).some((f) => f.startsWith('.')), 'no temporary links left in the snapshot');
  });

  it('a lock whose holder died is broken; a live one is waited for', async () => {
    const lock = path.join(tmp, 'locks', 'x.lock');
    fs.mkdirSync(path.dirname(lock), { recursive: true });
    // a pid that cannot be alive (beyond pid_max) on this host
    fs.writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 7, host: os.hostname(), id: 'dead' }));
    assert.equal(await withFileLock(lock, async () => 'ran'), 'ran');
    assert.ok(!fs.existsSync(lock));
    // another host's lock not touched for longer than staleMs
    fs.writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere', id: 'old' }));
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, old, old);
    assert.equal(await withFileLock(lock, async () => 'ran', { staleMs: 30_000 }), 'ran');
    // held by this process: the second waits for the first
    const order: string[] = [];
    let waited = 0;
    await Promise.all([
      withFileLock(lock, async () => {
        order.push('a+');
        await new Promise((r) => setTimeout(r, 150));
        order.push('a-');
      }),
      new Promise((r) => setTimeout(r, 20)).then(() => withFileLock(lock, async () => void order.push('b'), { onWait: () => waited++ })),
    ]);
    assert.deepEqual(order, ['a+', 'a-', 'b']);
    assert.equal(waited, 1);
  });
});
