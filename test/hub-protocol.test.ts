// The Hub client against a loopback Hub: resolve headers, the CDN redirect without the token, the cache
// layout it writes, Range resume, integrity checks, the Hub's error codes, the unreachable-Hub fallback.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { HubError, hubSettings, isRepoId, resolveHubCheckpoint, type ResolveHubOptions } from '../src/hub/index.js';
import { C1, C2, hubRepos, PREPROCESSOR, tinyFiles, TOKEN, type TinyFiles } from './helpers/hub-fixtures.js';
import { gitSha1, HubServer, sha256 } from './helpers/hub-server.js';

let t: TinyFiles;
let hub: HubServer;
let tmp: string;
let cacheDir: string;
const lines: string[] = [];

const opts = (env: Record<string, string> = {}, more: ResolveHubOptions = {}): ResolveHubOptions => ({
  settings: hubSettings({ HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cacheDir, HF_HOME: path.join(tmp, 'home'), ...env }),
  log: (l) => lines.push(l),
  retryDelayMs: 1,
  ...more,
});

const treeOf = (dir: string): string[] =>
  fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();

before(async () => {
  t = tinyFiles();
  hub = await new HubServer(hubRepos(t)).start();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-hub-'));
});
after(async () => {
  await hub.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  cacheDir = fs.mkdtempSync(path.join(tmp, 'cache-'));
  hub.requests.length = 0;
  hub.faults = {};
  lines.length = 0;
});

describe('hub settings and ids', () => {
  it('reads huggingface_hub\'s environment variables with its defaults and precedence', () => {
    const home = path.join(tmp, 'hfhome');
    fs.mkdirSync(home, { recursive: true });
    const d = hubSettings({ HOME: '/nonexistent', XDG_CACHE_HOME: '/x/cache' });
    assert.equal(d.endpoint, 'https://huggingface.co');
    assert.equal(d.cacheDir, '/x/cache/huggingface/hub');
    assert.equal(d.offline, false);
    assert.equal(d.token, null);
    assert.equal(hubSettings({ HF_HOME: home }).cacheDir, path.join(home, 'hub'));
    assert.equal(hubSettings({ HF_HOME: home, HUGGINGFACE_HUB_CACHE: '/legacy' }).cacheDir, '/legacy');
    assert.equal(hubSettings({ HF_HOME: home, HUGGINGFACE_HUB_CACHE: '/legacy', HF_HUB_CACHE: '/new' }).cacheDir, '/new');
    assert.equal(hubSettings({ HF_ENDPOINT: 'http://127.0.0.1:9/' }).endpoint, 'http://127.0.0.1:9');
    assert.throws(() => hubSettings({ HF_ENDPOINT: 'ftp://x' }), /HF_ENDPOINT=ftp:\/\/x: expected an http\(s\) URL/);
    for (const v of ['1', 'ON', 'yes', 'True']) assert.equal(hubSettings({ HF_HUB_OFFLINE: v }).offline, true, v);
    for (const v of ['0', 'off', '']) assert.equal(hubSettings({ HF_HUB_OFFLINE: v }).offline, false, v);
    assert.equal(hubSettings({ TRANSFORMERS_OFFLINE: '1' }).offline, true);
    // the token file in HF_HOME (what huggingface-cli login writes), overridden by HF_TOKEN
    fs.writeFileSync(path.join(home, 'token'), 'hf_fromfile\n');
    const f = hubSettings({ HF_HOME: home });
    assert.deepEqual([f.token, f.tokenSource], ['hf_fromfile', path.join(home, 'token')]);
    const e = hubSettings({ HF_HOME: home, HF_TOKEN: 'hf_fromenv' });
    assert.deepEqual([e.token, e.tokenSource], ['hf_fromenv', 'HF_TOKEN']);
    // a token that would break the header is refused without being echoed
    assert.throws(() => hubSettings({ HF_TOKEN: 'hf_a b\r\nx: y' }), (err: Error) => err.message.startsWith('HF_TOKEN: the token has spaces') && !err.message.includes('hf_a'));
  });

  it('repo ids are ORG/NAME as the Hub allows them', () => {
    for (const ok of ['nvidia/mit-b0', 'nvidia/segformer-b0-finetuned-cityscapes-768-768', 'a/b', 'Org_1/x.y']) assert.ok(isRepoId(ok), ok);
    for (const bad of ['mit-b0', '/abs/x', './x', 'a/b/c', 'a//b', 'a/..', 'a/b--c', '../x', 'a/.b', 'a/b.', '-a/b', 'a/b c', `a/${'x'.repeat(97)}`]) assert.ok(!isRepoId(bad), bad);
  });
});

describe('resolving a repo into the cache', () => {
  it('HEAD then GET per file; the LFS file via a 302 to the CDN, without the token; huggingface_hub\'s layout', async () => {
    const r = await resolveHubCheckpoint('org/tiny', opts({ HF_TOKEN: TOKEN }));
    const root = path.join(cacheDir, 'models--org--tiny');
    assert.equal(r.dir, path.join(root, 'snapshots', C1));
    assert.deepEqual([r.commit, r.revision, r.fromCache], [C1, 'main', false]);
    assert.deepEqual(r.files, ['config.json', 'model.safetensors', 'preprocessor_config.json']);
    const etags = { config: gitSha1(t.config), weights: sha256(t.weights), pre: gitSha1(PREPROCESSOR) };
    assert.deepEqual(treeOf(root), [`blobs/${etags.config}`, `blobs/${etags.weights}`, `blobs/${etags.pre}`, 'refs/main', `snapshots/${C1}/config.json`, `snapshots/${C1}/model.safetensors`, `snapshots/${C1}/preprocessor_config.json`].sort());
    assert.equal(fs.readFileSync(path.join(root, 'refs', 'main'), 'utf8'), C1); // no newline, as Python writes it
    assert.equal(fs.readlinkSync(path.join(r.dir, 'model.safetensors')), `../../blobs/${etags.weights}`);
    assert.equal(fs.readlinkSync(path.join(r.dir, 'config.json')), `../../blobs/${etags.config}`);
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'model.safetensors')), Buffer.from(t.weights));
    // the first HEAD asks by revision; every later file by the commit it answered
    const hubReqs = hub.requests.filter((q) => q.server === 'hub').map((q) => `${q.method} ${q.path}`);
    assert.deepEqual(hubReqs, [
      'HEAD /org/tiny/resolve/main/config.json', 'GET /org/tiny/resolve/' + C1 + '/config.json',
      'HEAD /org/tiny/resolve/' + C1 + '/model.safetensors',
      'HEAD /org/tiny/resolve/' + C1 + '/preprocessor_config.json', 'GET /org/tiny/resolve/' + C1 + '/preprocessor_config.json',
    ]);
    for (const q of hub.requests.filter((x) => x.server === 'hub')) assert.equal(q.authorization, `Bearer ${TOKEN}`);
    const cdn = hub.requests.filter((q) => q.server === 'cdn');
    assert.equal(cdn.length, 1);
    assert.equal(cdn[0]!.authorization, undefined, 'the token must not go to the CDN');
    assert.ok(!fs.readdirSync(path.join(root, 'blobs')).some((f) => f.includes('incomplete')));
    assert.ok(!JSON.stringify(treeOf(cacheDir)).includes(TOKEN));
    // nothing of the token in what was logged
    assert.ok(!lines.join('\n').includes(TOKEN));

    // again: one HEAD to learn what main is now, nothing downloaded
    hub.requests.length = 0;
    const again = await resolveHubCheckpoint('org/tiny', opts());
    assert.equal(again.dir, r.dir);
    assert.deepEqual(hub.requests.map((q) => `${q.method} ${q.path}`), ['HEAD /org/tiny/resolve/main/config.json']);
    // a tag and the commit itself: the same snapshot; a cached commit asks nothing
    hub.requests.length = 0;
    assert.equal((await resolveHubCheckpoint('org/tiny', opts({}, { revision: 'v1' }))).dir, r.dir);
    assert.equal(fs.readFileSync(path.join(root, 'refs', 'v1'), 'utf8'), C1);
    assert.equal(hub.requests.length, 1);
    hub.requests.length = 0;
    const byCommit = await resolveHubCheckpoint('org/tiny', opts({}, { revision: C1 }));
    assert.deepEqual([byCommit.dir, byCommit.fromCache, hub.requests.length], [r.dir, true, 0]);
  });

  it('a file the repo lacks is recorded in .no_exist/ and then not asked for again; pytorch_model.bin is the last resort', async () => {
    const r = await resolveHubCheckpoint('org/bin-only', opts());
    assert.deepEqual(r.files, ['config.json', 'pytorch_model.bin']);
    const root = path.join(cacheDir, 'models--org--bin-only');
    const noExist = treeOf(path.join(root, '.no_exist'));
    assert.deepEqual(noExist, [`${C2}/model.safetensors`, `${C2}/model.safetensors.index.json`, `${C2}/preprocessor_config.json`]);
    hub.requests.length = 0;
    await resolveHubCheckpoint('org/bin-only', opts());
    assert.deepEqual(hub.requests.map((q) => `${q.method} ${q.path}`), ['HEAD /org/bin-only/resolve/main/config.json']);
  });

  it('the ONNX runtime\'s files: onnx/model.onnx in a nested snapshot folder, linked relatively', async () => {
    const r = await resolveHubCheckpoint('org/tiny-onnx', opts({}, { files: 'onnx' }));
    assert.deepEqual(r.files, ['config.json', 'onnx/model.onnx']);
    const graph = hubRepos(t)['org/tiny-onnx']!.commits[C1]!['onnx/model.onnx']!;
    assert.equal(fs.readlinkSync(path.join(r.dir, 'onnx', 'model.onnx')), `../../../blobs/${sha256(graph)}`);
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'onnx', 'model.onnx')), Buffer.from(graph));
  });

  it('an interrupted download resumes with a Range request, also in a later run', async () => {
    hub.faults = { cut: { afterBytes: 600_000, count: 1 } };
    const r = await resolveHubCheckpoint('org/tiny', opts());
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'model.safetensors')), Buffer.from(t.weights));
    const gets = hub.requests.filter((q) => q.server === 'cdn' && q.method === 'GET');
    assert.equal(gets.length, 2);
    assert.equal(gets[0]!.range, undefined);
    assert.match(gets[1]!.range ?? '', /^bytes=\d+-$/);
    const from = Number(/\d+/.exec(gets[1]!.range!)![0]);
    assert.ok(from >= 65536 && from <= 600_000, `resumed from ${from}`);
    assert.ok(lines.some((l) => /org\/tiny\/model\.safetensors: .*connection closed after \d+ bytes; retrying from byte \d+/.test(l)), lines.join('\n'));

    // no retries left: the run fails, the partial download stays, the next run continues it
    cacheDir = fs.mkdtempSync(path.join(tmp, 'cache-'));
    hub.requests.length = 0;
    hub.faults = { cut: { afterBytes: 300_000, count: 1 } };
    await assert.rejects(resolveHubCheckpoint('org/tiny', opts({}, { retries: 0 })), (e: HubError) => e.code === 'Unreachable' && /org\/tiny\/model\.safetensors: download failed .*run again to resume it/.test(e.message));
    const blobs = path.join(cacheDir, 'models--org--tiny', 'blobs');
    const partial = fs.readdirSync(blobs).find((f) => f.endsWith('.incomplete'))!;
    assert.equal(partial, `${sha256(t.weights)}.streetseg.incomplete`);
    const have = fs.statSync(path.join(blobs, partial)).size;
    assert.ok(have > 0 && have <= 300_000);
    assert.ok(!fs.existsSync(path.join(cacheDir, 'models--org--tiny', 'snapshots', C1, 'model.safetensors')));
    hub.requests.length = 0;
    const r2 = await resolveHubCheckpoint('org/tiny', opts({}, { retries: 0 }));
    assert.deepEqual(hub.requests.filter((q) => q.server === 'cdn').map((q) => q.range), [`bytes=${have}-`]);
    assert.deepEqual(fs.readFileSync(path.join(r2.dir, 'model.safetensors')), Buffer.from(t.weights));
    assert.ok(!fs.readdirSync(blobs).some((f) => f.endsWith('.incomplete')));
  });

  it('a corrupted body is an integrity error and nothing of it stays in blobs/', async () => {
    hub.faults = { corrupt: new Set([sha256(t.weights)]) };
    await assert.rejects(resolveHubCheckpoint('org/tiny', opts()), (e: HubError) => {
      assert.equal(e.code, 'Integrity');
      assert.match(e.message, new RegExp(`org/tiny/model\\.safetensors at ${C1}: the download is corrupt \\(sha256 [0-9a-f]{64}, expected ${sha256(t.weights)} \\(the Hub's X-Linked-Etag\\)\\); nothing was kept in the cache`));
      return true;
    });
    const blobs = fs.readdirSync(path.join(cacheDir, 'models--org--tiny', 'blobs'));
    assert.deepEqual(blobs, [gitSha1(t.config)]);
    assert.ok(!fs.existsSync(path.join(cacheDir, 'models--org--tiny', 'snapshots', C1, 'model.safetensors')));
    // the next run, with a good body, succeeds
    hub.faults = {};
    const r = await resolveHubCheckpoint('org/tiny', opts());
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'model.safetensors')), Buffer.from(t.weights));
  });

  it('the Hub\'s refusals: 401/403 name the repo and HF_TOKEN, 404s name the repo, revision or file', async () => {
    const fails = async (repo: string, o: ResolveHubOptions, code: string, re: RegExp): Promise<void> => {
      await assert.rejects(resolveHubCheckpoint(repo, o), (e: HubError) => {
        assert.equal(e.code, code, e.message);
        assert.match(e.message, re);
        assert.ok(!e.message.includes(TOKEN));
        return true;
      });
    };
    await fails('org/private', opts(), 'Unauthorized', /^org\/private: access refused by http:\/\/127\.0\.0\.1:\d+ \(HTTP 401 RepoNotFound: Repository not found\): the repo is private or gated, or does not exist; no token was sent: for a private or gated repo set HF_TOKEN/);
    await fails('org/private', opts({ HF_TOKEN: 'hf_wrong' }), 'Unauthorized', /HTTP 401 RepoNotFound: Invalid credentials in Authorization header.*a token \(from HF_TOKEN\) was sent: it may be invalid or lack access/);
    await fails('org/gated', opts({ HF_TOKEN: 'hf_other' }), 'GatedRepo', /^org\/gated is gated \(HTTP 403 GatedRepo: Access to this model is restricted\): accept its conditions at http:\/\/127\.0\.0\.1:\d+\/org\/gated and set HF_TOKEN/);
    await fails('org/nope', opts({ HF_TOKEN: 'hf_other' }), 'RepoNotFound', /^org\/nope: no such model repo on http:\/\/127\.0\.0\.1:\d+ \(HTTP 404 RepoNotFound: Repository not found\)/);
    await fails('org/tiny', opts({}, { revision: 'nope' }), 'RevisionNotFound', /^org\/tiny: revision nope not found on .* \(HTTP 404 RevisionNotFound: Invalid rev id: nope\)/);
    await fails('org/no-weights', opts(), 'EntryNotFound', new RegExp(`^org/no-weights: revision main \\(${C1}\\) has none of model\\.safetensors, model\\.safetensors\\.index\\.json, pytorch_model\\.bin, pytorch_model\\.bin\\.index\\.json`));
    await fails('org/tiny', opts({}, { files: 'onnx' }), 'EntryNotFound', /has none of onnx\/model\.onnx/);
    // the right token opens the private repo; its files on the CDN still get no token
    hub.requests.length = 0;
    const r = await resolveHubCheckpoint('org/private', opts({ HF_TOKEN: TOKEN }));
    assert.equal(r.commit, C1);
    assert.ok(hub.requests.filter((q) => q.server === 'cdn').every((q) => q.authorization === undefined));
    await assert.rejects(resolveHubCheckpoint('org/tiny', opts({}, { revision: '../x' })), /--revision "\.\.\/x": expected a branch, tag or commit/);
  });

  it('the Hub unreachable: the cached snapshot with a warning; not cached: an error naming the Hub', async () => {
    const first = await resolveHubCheckpoint('org/tiny', opts());
    hub.faults = { hubStatus: 503 };
    const warned: string[] = [];
    const r = await resolveHubCheckpoint('org/tiny', opts({}, { warn: (l) => warned.push(l) }));
    assert.deepEqual([r.dir, r.fromCache], [first.dir, true]);
    assert.match(warned.join('\n'), new RegExp(`^warning: http://127\\.0\\.0\\.1:\\d+/org/tiny/resolve/main/config\\.json: HTTP 503; using the cached snapshot ${C1} of org/tiny \\(revision main\\)`));
    const closed = opts({ HF_ENDPOINT: 'http://127.0.0.1:9' }, { warn: (l) => warned.push(l) });
    assert.equal((await resolveHubCheckpoint('org/tiny', closed)).dir, first.dir);
    assert.match(warned.at(-1)!, /^warning: org\/tiny: cannot reach http:\/\/127\.0\.0\.1:9 \(.*ECONNREFUSED.*\); using the cached snapshot/);
    await assert.rejects(resolveHubCheckpoint('org/bin-only', closed), (e: HubError) => e.code === 'Unreachable' && /^org\/bin-only: cannot reach http:\/\/127\.0\.0\.1:9/.test(e.message));
  });

  it('HF_HUB_OFFLINE: no request at all; what is cached resolves, the rest is an error naming the repo and the cache', async () => {
    await resolveHubCheckpoint('org/tiny', opts());
    hub.requests.length = 0;
    const off = opts({ HF_HUB_OFFLINE: '1' });
    const r = await resolveHubCheckpoint('org/tiny', off);
    assert.deepEqual([r.commit, r.fromCache, r.files], [C1, true, ['config.json', 'model.safetensors', 'preprocessor_config.json']]);
    await assert.rejects(resolveHubCheckpoint('org/tiny-sharded', off), (e: HubError) => e.code === 'NotCached' && e.message === `org/tiny-sharded (revision main) is not in the Hub cache ${cacheDir}; HF_HUB_OFFLINE is set, so nothing is downloaded: fetch it once online (or unset HF_HUB_OFFLINE)`);
    await assert.rejects(resolveHubCheckpoint('org/tiny', { ...off, revision: 'v2' }), /org\/tiny \(revision v2\) is not in the Hub cache/);
    assert.equal(hub.requests.length, 0);
  });

  it('file names from an index are checked before anything is fetched or opened', async () => {
    await assert.rejects(resolveHubCheckpoint('org/evil', opts()), /org\/evil\/model\.safetensors\.index\.json: weight_map\["a\.weight"\]: unsafe file name "\.\.\/\.\.\/\.\.\/\.\.\/escape\.safetensors" \(a "\.\." path part/);
    assert.ok(!hub.requests.some((q) => q.path.includes('escape')));
    assert.ok(!fs.existsSync(path.join(cacheDir, 'escape.safetensors')));
  });
});
