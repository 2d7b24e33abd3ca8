// One file of a Hub repo: its metadata from a HEAD on /resolve/ (commit, etag, size, where to download it),
// then the bytes into the cache, checked, under a lock shared by every process using the cache.
import * as fs from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import * as path from 'node:path';
import { VERSION } from '../cli/version.js';
import { downloadResumable, httpRequest, HttpStatusError } from '../util/http.js';
import type { RepoCache } from './cache.js';
import { HubError, serverText } from './errors.js';
import { withFileLock } from './lock.js';
import { startProgress, type ProgressMode } from './progress.js';
import { COMMIT_RE, resolveUrl } from './repo.js';
import type { HubSettings } from './settings.js';
import { mismatch } from './verify.js';

export interface HubContext {
  settings: HubSettings;
  repo: string;
  cache: RepoCache;
  progress: ProgressMode;
  log: (line: string) => void;
  warn: (line: string) => void;
  /** Resumed attempts after an interrupted transfer (default 3), and the pause between them. */
  retries?: number;
  retryDelayMs?: number;
}

export interface FileMeta {
  file: string;
  commit: string;
  /** blobs/ name: X-Linked-Etag (LFS: the sha256) or ETag, unquoted. */
  etag: string;
  /** X-Linked-Size or Content-Length, or null. */
  size: number | null;
  /** Where the bytes are: the resolve URL itself, or the CDN URL a large file redirects to. */
  location: string;
}

/** Headers for the Hub's own origin. The token goes to no other host. */
function hubHeaders(s: HubSettings, toHub: boolean): Record<string, string> {
  return { 'user-agent': `streetseg/${VERSION}`, 'accept-encoding': 'identity', ...(toHub && s.token ? { authorization: `Bearer ${s.token}` } : {}) };
}

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

function tokenHint(s: HubSettings): string {
  return s.token
    ? `a token (from ${s.tokenSource}) was sent: it may be invalid or lack access to this repo`
    : 'no token was sent: for a private or gated repo set HF_TOKEN (or run huggingface-cli login, which writes HF_HOME/token)';
}

/** The HubError for an HTTP error answer about `file` at `revision`. */
export function statusError(ctx: HubContext, revision: string, file: string, status: number, h: IncomingHttpHeaders, url: string): HubError {
  const code = serverText(header(h, 'x-error-code'));
  const msg = serverText(header(h, 'x-error-message'));
  const detail = `HTTP ${status}${code ? ` ${code}` : ''}${msg ? `: ${msg}` : ''}`;
  const { repo, settings: s } = ctx;
  let e: HubError;
  if (code === 'RevisionNotFound') e = new HubError('RevisionNotFound', `${repo}: revision ${revision} not found on ${s.endpoint} (${detail}); expected a branch, tag or commit of the repo`);
  else if (code === 'EntryNotFound' || (status === 404 && code === '')) e = new HubError('EntryNotFound', `${repo}: no file ${file} at revision ${revision} (${detail})`);
  else if (code === 'GatedRepo') e = new HubError('GatedRepo', `${repo} is gated (${detail}): accept its conditions at ${s.endpoint}/${repo} and set HF_TOKEN to a token of that account; ${tokenHint(s)}`);
  else if (status === 401 || status === 403) e = new HubError('Unauthorized', `${repo}: access refused by ${s.endpoint} (${detail}): the repo is private or gated, or does not exist; ${tokenHint(s)}`);
  else if (code === 'RepoNotFound') e = new HubError('RepoNotFound', `${repo}: no such model repo on ${s.endpoint} (${detail}); if it is private, ${tokenHint(s)}`);
  else if (status === 429 || status >= 500) e = new HubError('Unreachable', `${url}: ${detail}`);
  else e = new HubError('BadResponse', `${url}: ${detail}`);
  const commit = header(h, 'x-repo-commit');
  if (commit && COMMIT_RE.test(commit)) e.commit = commit;
  return e;
}

/** A safe blobs/ file name: letters, digits, '-', '_' (the Hub sends hex). */
const ETAG_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{7,127}$/;

/** HEAD {endpoint}/{repo}/resolve/{revision}/{file}: same-origin redirects (a renamed repo) are followed, a CDN's is not. */
export async function headFile(ctx: HubContext, revision: string, file: string): Promise<FileMeta> {
  const s = ctx.settings;
  const url = resolveUrl(s.endpoint, ctx.repo, revision, file);
  let r;
  try {
    r = await httpRequest(url, { method: 'HEAD', headers: hubHeaders(s, true), timeoutMs: s.etagTimeoutS * 1000, crossOrigin: false });
  } catch (e) {
    throw new HubError('Unreachable', `${ctx.repo}: cannot reach ${s.endpoint} (${(e as Error).message})`);
  }
  const { res } = r;
  res.resume();
  const status = res.statusCode ?? 0;
  if (status >= 400) throw statusError(ctx, revision, file, status, res.headers, url);
  const h = res.headers;
  const commit = header(h, 'x-repo-commit') ?? '';
  if (!COMMIT_RE.test(commit)) throw new HubError('BadResponse', `${url}: no valid X-Repo-Commit header in the answer (HTTP ${status}); is HF_ENDPOINT=${s.endpoint} a Hugging Face Hub?`);
  const etag = (header(h, 'x-linked-etag') ?? header(h, 'etag') ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');
  if (!ETAG_RE.test(etag)) throw new HubError('BadResponse', `${url}: missing or unusable ETag ${JSON.stringify(serverText(etag))} (expected the file's hash)`);
  const sizeText = header(h, 'x-linked-size') ?? header(h, 'content-length');
  const size = sizeText !== undefined && /^\d+$/.test(sizeText) ? Number(sizeText) : null;
  const loc = header(h, 'location');
  // The bytes: where a redirect points (a CDN), else the same file pinned to the commit just named, so
  // that a push between this HEAD and the GET cannot change what arrives.
  const location = status >= 300 && status < 400 && loc ? new URL(loc, r.url).href : r.url === url ? resolveUrl(s.endpoint, ctx.repo, commit, file) : r.url;
  return { file, commit, etag, size, location };
}

/** Downloads meta's bytes into blobs/<etag> (resuming a partial one), unless another process did it meanwhile. */
async function downloadBlob(ctx: HubContext, meta: FileMeta): Promise<void> {
  const { cache, settings: s } = ctx;
  const blob = cache.blob(meta.etag);
  const label = `${ctx.repo}/${meta.file}`;
  await withFileLock(
    cache.lock(meta.etag),
    async () => {
      if (fs.existsSync(blob)) return;
      const part = cache.partial(meta.etag);
      fs.mkdirSync(path.dirname(part), { recursive: true });
      if (meta.size !== null && fs.existsSync(part) && fs.statSync(part).size > meta.size) fs.rmSync(part);
      const toHub = new URL(meta.location).origin === new URL(s.endpoint).origin;
      const bar = startProgress(ctx.progress, label, meta.size, ctx.log);
      try {
        await downloadResumable(meta.location, part, {
          headers: hubHeaders(s, toHub),
          timeoutMs: s.downloadTimeoutS * 1000,
          retries: ctx.retries ?? 3,
          ...(ctx.retryDelayMs !== undefined ? { retryDelayMs: ctx.retryDelayMs } : {}),
          onProgress: (b) => bar.update(b),
          log: (m) => ctx.warn(`${label}: ${m}`),
        });
      } catch (e) {
        if (e instanceof HttpStatusError) throw statusError(ctx, meta.commit, meta.file, e.status, e.headers, e.url);
        throw new HubError('Unreachable', `${label}: download failed (${(e as Error).message}); run again to resume it`);
      } finally {
        bar.stop();
      }
      const bad = await mismatch(part, meta.etag, meta.size);
      if (bad) {
        fs.rmSync(part, { force: true });
        throw new HubError('Integrity', `${label} at ${meta.commit}: the download is corrupt (${bad}); nothing was kept in the cache, run again to download it anew`);
      }
      fs.renameSync(part, blob);
    },
    { onWait: () => ctx.log(`${label}: waiting for another process downloading it`) },
  );
}

/** The file in snapshots/<commit>/, downloaded first if its blob is not in the cache. */
export async function fetchFile(ctx: HubContext, meta: FileMeta): Promise<string> {
  if (!fs.existsSync(ctx.cache.blob(meta.etag))) await downloadBlob(ctx, meta);
  return ctx.cache.link(meta.commit, meta.file, meta.etag);
}
