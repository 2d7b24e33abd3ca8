// Sharded checkpoints (model.safetensors.index.json + shards, as save_pretrained(max_shard_size) writes them):
// loaded from a directory and from the Hub, with the index checked against the shards.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hubSettings, resolveHubCheckpoint } from '../src/hub/index.js';
import { findWeights, loadPretrained } from '../src/models/hf.js';
import { readStateDict, weightsBytes } from '../src/torch/index.js';
import { C1, hubRepos, shardFiles, tinyDir, tinyFiles, tinyLogitsDiff, type TinyFiles } from './helpers/hub-fixtures.js';
import { HubServer } from './helpers/hub-server.js';

let t: TinyFiles;
let tmp: string;

before(() => {
  t = tinyFiles();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-shards-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeDir(name: string, files: Record<string, Uint8Array | string>): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(tinyDir(), 'config.json'), path.join(dir, 'config.json'));
  for (const [f, b] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), b);
  return dir;
}

describe('sharded checkpoints', () => {
  it('a safetensors index and its shards load as the whole checkpoint (HF logits within 1e-4)', () => {
    const files = shardFiles(t);
    const dir = writeDir('sharded', files);
    assert.equal(findWeights(dir), path.join(dir, 'model.safetensors.index.json'));
    const sd = readStateDict(findWeights(dir));
    assert.deepEqual([...sd.keys()].sort(), [...t.tensors.keys()].sort());
    for (const [k, v] of t.tensors) assert.deepEqual(Buffer.from(sd.get(k)!.data), Buffer.from(v.data), k);
    assert.ok(tinyLogitsDiff(dir) <= 1e-4);
    const shards = Object.keys(files).filter((f) => f.endsWith('.safetensors'));
    assert.equal(weightsBytes(findWeights(dir)), shards.reduce((n, f) => n + files[f]!.byteLength, 0));
  });

  it('a pytorch_model.bin index works too, after model.safetensors in the search order', () => {
    const names = [...t.tensors.keys()];
    const index = JSON.stringify({ metadata: {}, weight_map: Object.fromEntries(names.map((k) => [k, 'pytorch_model-00001-of-00001.bin'])) });
    const dir = writeDir('bin-sharded', { 'pytorch_model.bin.index.json': index, 'pytorch_model-00001-of-00001.bin': t.bin });
    assert.equal(findWeights(dir), path.join(dir, 'pytorch_model.bin.index.json'));
    assert.ok(tinyLogitsDiff(dir) <= 1e-4);
    fs.writeFileSync(path.join(dir, 'model.safetensors'), t.weights);
    assert.equal(findWeights(dir), path.join(dir, 'model.safetensors'));
  });

  it('an index that does not match its shards, or names files outside the folder, is an error naming both', () => {
    const files = shardFiles(t);
    const idx = JSON.parse(Buffer.from(files['model.safetensors.index.json']!).toString('utf8')) as { weight_map: Record<string, string> };
    const [first, second] = Object.keys(files).filter((f) => f.endsWith('.safetensors'));
    const moved = Object.keys(idx.weight_map).find((k) => idx.weight_map[k] === first)!;
    const cases: [string, unknown, RegExp][] = [
      ['wrong-shard', { weight_map: { ...idx.weight_map, [moved]: second } }, new RegExp(`${first}: holds tensor ${moved.replace(/\./g, '\\.')}, which .*model\\.safetensors\\.index\\.json puts in ${second}`)],
      ['extra', { weight_map: { ...idx.weight_map, 'x.weight': first } }, /index\.json: 1 tensors missing from their shards: x\.weight \(model-00001-of-00002\.safetensors\)/],
      ['unlisted', { weight_map: Object.fromEntries(Object.entries(idx.weight_map).filter(([k]) => k !== moved)) }, new RegExp(`holds tensor ${moved.replace(/\./g, '\\.')}, which .* does not list`)],
      ['missing-shard', { weight_map: { ...idx.weight_map, 'x.weight': 'model-00003-of-00003.safetensors' } }, /shard model-00003-of-00003\.safetensors not found/],
      ['escape', { weight_map: { a: '../tiny/model.safetensors' } }, /weight_map\["a"\]: unsafe file name "\.\.\/tiny\/model\.safetensors" \(a "\.\." path part/],
      ['absolute', { weight_map: { a: '/etc/passwd' } }, /unsafe file name "\/etc\/passwd" \(an absolute path/],
      ['no-map', { metadata: {} }, /expected a JSON object with a "weight_map" object/],
    ];
    for (const [name, index, re] of cases) {
      const dir = writeDir(`bad-${name}`, { ...files, 'model.safetensors.index.json': JSON.stringify(index) });
      assert.throws(() => loadPretrained(dir, { log: () => undefined }), re, name);
    }
    const dir = writeDir('bad-json', { 'model.safetensors.index.json': '{' });
    assert.throws(() => loadPretrained(dir), /model\.safetensors\.index\.json: invalid JSON/);
  });

  it('from the Hub: the index, then each shard it lists, into one snapshot', async () => {
    const hub = await new HubServer(hubRepos(t)).start();
    try {
      const settings = hubSettings({ HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: path.join(tmp, 'cache') });
      const r = await resolveHubCheckpoint('org/tiny-sharded', { settings, log: () => undefined });
      assert.deepEqual(r.files, ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
      assert.equal(r.commit, C1);
      assert.equal(hub.count('cdn', 'GET'), 2);
      assert.ok(tinyLogitsDiff(r.dir) <= 1e-4);
      const off = await resolveHubCheckpoint('org/tiny-sharded', { settings: { ...settings, offline: true } });
      assert.deepEqual(off.files, r.files);
    } finally {
      await hub.stop();
    }
  });
});
