// A Hub repo's checkpoint as a local directory: snapshots/<commit>/ of the cache, holding config.json, the
// weights (model.safetensors, else the safetensors index and its shards, else pytorch_model.bin, whole or
// sharded: the order transformers tries) and preprocessor_config.json when the repo has one. Every file
// is fetched at the commit the revision pointed at when config.json was asked for, so a push in between
// cannot mix two versions.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseShardIndex, isShardIndex } from '../torch/serialization/sharded.js';
import { RepoCache } from './cache.js';
import { fetchFile, headFile, type HubContext } from './client.js';
import { HubError } from './errors.js';
import type { ProgressMode } from './progress.js';
import { checkRevision, COMMIT_RE } from './repo.js';
import { hubSettings, type HubSettings } from './settings.js';

/** Which runtime's files: libtorch weights, or an exported onnx/model.onnx (Transformers.js repos). */
export type CheckpointFiles = 'torch' | 'onnx';

export interface HubCheckpoint {
  /** snapshots/<commit>/ in the cache. */
  dir: string;
  repo: string;
  revision: string;
  commit: string;
  /** The files resolved, relative to dir. */
  files: string[];
  /** True when nothing was asked of the Hub (offline, a cached commit, or the Hub unreachable). */
  fromCache: boolean;
}

export interface ResolveHubOptions {
  /** Branch, tag or commit (default main). */
  revision?: string;
  files?: CheckpointFiles;
  settings?: HubSettings;
  progress?: ProgressMode;
  log?: (line: string) => void;
  warn?: (line: string) => void;
  retries?: number;
  retryDelayMs?: number;
}

const WEIGHTS: Record<CheckpointFiles, string[]> = {
  torch: ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', 'pytorch_model.bin.index.json'],
  onnx: ['onnx/model.onnx'],
};
const OPTIONAL = ['preprocessor_config.json'];

/** The checkpoint as the cache holds it for `revision`, or a NotCached error saying what is missing. */
function fromCache(ctx: HubContext, revision: string, kind: CheckpointFiles, why: string): HubCheckpoint {
  const { cache, repo } = ctx;
  const notCached = (what: string): HubError => new HubError('NotCached', `${repo} (revision ${revision}) ${what} in the Hub cache ${ctx.settings.cacheDir}${why}`);
  const commit = cache.commitOf(revision);
  if (!commit || !fs.existsSync(cache.snapshot(commit))) throw notCached('is not');
  if (!cache.cachedFile(commit, 'config.json')) throw notCached(`has no config.json (snapshot ${commit})`);
  const files = ['config.json'];
  const weights = WEIGHTS[kind].find((f) => cache.cachedFile(commit, f));
  if (!weights) throw notCached(`has none of ${WEIGHTS[kind].join(', ')} (snapshot ${commit})`);
  files.push(weights);
  if (isShardIndex(weights)) {
    const index = parseShardIndex(fs.readFileSync(cache.cachedFile(commit, weights)!, 'utf8'), path.join(cache.snapshot(commit), weights));
    const missing = index.shards.filter((s) => !cache.cachedFile(commit, s));
    if (missing.length) throw notCached(`lacks shards ${missing.join(', ')} of ${weights} (snapshot ${commit})`);
    files.push(...index.shards);
  }
  files.push(...OPTIONAL.filter((f) => cache.cachedFile(commit, f)));
  return { dir: cache.snapshot(commit), repo, revision, commit, files, fromCache: true };
}

/**
 * `file` at `commit`: from the snapshot if there, else fetched; null if the repo has no such file (recorded
 * in .no_exist/, as huggingface_hub does, so that later and offline runs know without asking).
 */
async function optionalFile(ctx: HubContext, commit: string, file: string): Promise<string | null> {
  const have = ctx.cache.cachedFile(commit, file);
  if (have) return have;
  if (ctx.cache.knownMissing(commit, file)) return null;
  try {
    return await fetchFile(ctx, await headFile(ctx, commit, file));
  } catch (e) {
    if (!(e instanceof HubError) || e.code !== 'EntryNotFound') throw e;
    ctx.cache.markMissing(commit, file);
    return null;
  }
}

async function fromHub(ctx: HubContext, revision: string, kind: CheckpointFiles): Promise<HubCheckpoint> {
  const { cache, repo } = ctx;
  let cfg;
  try {
    cfg = await headFile(ctx, revision, 'config.json');
  } catch (e) {
    if (e instanceof HubError && e.code === 'EntryNotFound') throw new HubError('EntryNotFound', `${e.message}: a checkpoint repo needs config.json (transformers' layout)`);
    throw e;
  }
  const commit = cfg.commit;
  cache.writeRef(revision, commit);
  await fetchFile(ctx, cfg);
  const files = ['config.json'];
  let weights: string | null = null;
  for (const f of WEIGHTS[kind]) {
    const p = await optionalFile(ctx, commit, f);
    if (!p) continue;
    weights = f;
    files.push(f);
    if (isShardIndex(f)) {
      const index = parseShardIndex(fs.readFileSync(p, 'utf8'), `${repo}/${f}`);
      for (const shard of index.shards) {
        if (!(await optionalFile(ctx, commit, shard))) throw new HubError('EntryNotFound', `${repo}: shard ${shard} listed in ${f} is not in the repo at ${commit}`);
        files.push(shard);
      }
    }
    break;
  }
  if (!weights) throw new HubError('EntryNotFound', `${repo}: revision ${revision} (${commit}) has none of ${WEIGHTS[kind].join(', ')}`);
  for (const f of OPTIONAL) if (await optionalFile(ctx, commit, f)) files.push(f);
  return { dir: cache.snapshot(commit), repo, revision, commit, files, fromCache: false };
}

/**
 * Resolves `repo` at a revision into the cache and returns its snapshot directory. HF_HUB_OFFLINE: the
 * cache only. A commit whose snapshot is complete: no request. The Hub unreachable (network, 5xx) with
 * the checkpoint cached: the cache, with a warning. Refusals (401/403/404) are errors, never hidden.
 */
export async function resolveHubCheckpoint(repo: string, o: ResolveHubOptions = {}): Promise<HubCheckpoint> {
  const settings = o.settings ?? hubSettings();
  const revision = checkRevision(o.revision ?? 'main');
  const kind = o.files ?? 'torch';
  const log = o.log ?? ((l: string) => console.error(l));
  const ctx: HubContext = {
    settings,
    repo,
    cache: new RepoCache(settings.cacheDir, repo),
    progress: o.progress ?? 'none',
    log,
    warn: o.warn ?? log,
    ...(o.retries !== undefined ? { retries: o.retries } : {}),
    ...(o.retryDelayMs !== undefined ? { retryDelayMs: o.retryDelayMs } : {}),
  };
  if (settings.offline) return fromCache(ctx, revision, kind, `; HF_HUB_OFFLINE is set, so nothing is downloaded: fetch it once online (or unset HF_HUB_OFFLINE)`);
  if (COMMIT_RE.test(revision)) {
    try {
      return fromCache(ctx, revision, kind, '');
    } catch (e) {
      if (!(e instanceof HubError && e.code === 'NotCached')) throw e;
    }
  }
  try {
    return await fromHub(ctx, revision, kind);
  } catch (e) {
    if (!(e instanceof HubError && e.code === 'Unreachable')) throw e;
    let c: HubCheckpoint;
    try {
      c = fromCache(ctx, revision, kind, '');
    } catch {
      throw e;
    }
    ctx.warn(`warning: ${e.message}; using the cached snapshot ${c.commit} of ${repo} (revision ${revision})`);
    return c;
  }
}
