// A loopback Hugging Face Hub for the tests: /{repo}/resolve/{revision}/{file} with the Hub's headers
// (X-Repo-Commit, ETag = git blob id, and for LFS files X-Linked-Etag = sha256, X-Linked-Size and a 302 to a
// "CDN" on another port), 401/403/404 with X-Error-Code, Range requests; plus faults a test can switch on:
// a connection cut mid-body, a corrupted body, a slow body. Every request is recorded, headers included.
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubRepo {
  /** Branch or tag → commit (40 hex). */
  refs: Record<string, string>;
  /** Commit → file → bytes. */
  commits: Record<string, Record<string, Uint8Array>>;
  /** Files served as LFS: a 302 to the CDN. */
  lfs?: string[];
  /** Needs `Authorization: Bearer <token>`; gated answers GatedRepo, private 401 like the Hub. */
  token?: string;
  gated?: boolean;
}

export interface Recorded {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  authorization: string | undefined;
  range: string | undefined;
}

export interface Faults {
  /** Cut the connection after this many body bytes, for the next `count` CDN GETs. */
  cut?: { afterBytes: number; count: number };
  /** Flip a byte in the CDN body of these sha256s. */
  corrupt?: Set<string>;
  /** Pause between 64 KiB chunks of CDN bodies. */
  chunkDelayMs?: number;
  /** Answer every hub request with this status (e.g. 503). */
  hubStatus?: number;
  /** CDN bodies wait for this (a test opens it when the moment it wants has come). */
  gate?: Promise<void>;
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
export const gitSha1 = (b: Uint8Array): string => createHash('sha1').update(`blob ${b.byteLength}\0`).update(b).digest('hex');

export class HubServer {
  readonly requests: Recorded[] = [];
  faults: Faults = {};
  private hub!: http.Server;
  private cdn!: http.Server;
  endpoint = '';
  cdnBase = '';
  private readonly blobs = new Map<string, Uint8Array>();

  constructor(readonly repos: Record<string, HubRepo>) {
    for (const r of Object.values(repos)) for (const files of Object.values(r.commits)) for (const b of Object.values(files)) this.blobs.set(sha256(b), b);
  }

  async start(): Promise<this> {
    this.hub = http.createServer((q, s) => this.onHub(q, s));
    this.cdn = http.createServer((q, s) => this.onCdn(q, s));
    const listen = (srv: http.Server): Promise<number> => new Promise((ok) => srv.listen(0, '127.0.0.1', () => ok((srv.address() as AddressInfo).port)));
    this.endpoint = `http://127.0.0.1:${await listen(this.hub)}`;
    this.cdnBase = `http://127.0.0.1:${await listen(this.cdn)}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const srv of [this.hub, this.cdn]) {
      srv.closeAllConnections();
      await new Promise((ok) => srv.close(ok));
    }
  }

  count(server: 'hub' | 'cdn', method: string, pathPart = ''): number {
    return this.requests.filter((r) => r.server === server && r.method === method && r.path.includes(pathPart)).length;
  }

  private record(server: 'hub' | 'cdn', q: http.IncomingMessage): void {
    this.requests.push({ server, method: q.method ?? '', path: decodeURIComponent(q.url ?? ''), authorization: q.headers.authorization, range: q.headers.range });
  }

  private onHub(q: http.IncomingMessage, s: http.ServerResponse): void {
    this.record('hub', q);
    const fail = (status: number, code: string | null, extra: Record<string, string> = {}): void => {
      s.writeHead(status, { ...(code ? { 'x-error-code': code } : {}), ...extra, 'content-length': 0 });
      s.end();
    };
    if (this.faults.hubStatus) return fail(this.faults.hubStatus, null);
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(q.url ?? '');
    if (!m) return fail(404, null);
    const repoId = m[1]!;
    const rev = decodeURIComponent(m[2]!);
    const file = m[3]!.split('/').map(decodeURIComponent).join('/');
    const repo = this.repos[repoId];
    if (!repo) return fail(q.headers.authorization ? 404 : 401, 'RepoNotFound', { 'x-error-message': 'Repository not found' });
    if (repo.token && q.headers.authorization !== `Bearer ${repo.token}`) {
      if (repo.gated) return fail(q.headers.authorization ? 403 : 401, 'GatedRepo', { 'x-error-message': 'Access to this model is restricted' });
      return fail(401, 'RepoNotFound', { 'x-error-message': q.headers.authorization ? 'Invalid credentials in Authorization header' : 'Repository not found' });
    }
    const commit = repo.refs[rev] ?? (repo.commits[rev] ? rev : undefined);
    if (!commit) return fail(404, 'RevisionNotFound', { 'x-error-message': 'Invalid rev id: ' + rev });
    const body = repo.commits[commit]![file];
    if (!body) return fail(404, 'EntryNotFound', { 'x-repo-commit': commit, 'x-error-message': 'Entry not found' });
    const common = { 'x-repo-commit': commit };
    if (repo.lfs?.includes(file)) {
      const sum = sha256(body);
      s.writeHead(302, { ...common, etag: `"${gitSha1(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sum}\nsize ${body.byteLength}\n`))}"`, 'x-linked-etag': `"${sum}"`, 'x-linked-size': String(body.byteLength), location: `${this.cdnBase}/cdn/${sum}?sig=abc`, 'content-length': 0 });
      s.end();
      return;
    }
    this.sendBody(q, s, body, { ...common, etag: `"${gitSha1(body)}"` }, Infinity);
  }

  private onCdn(q: http.IncomingMessage, s: http.ServerResponse): void {
    this.record('cdn', q);
    if (this.faults.gate) void this.faults.gate.then(() => this.serveCdn(q, s));
    else this.serveCdn(q, s);
  }

  private serveCdn(q: http.IncomingMessage, s: http.ServerResponse): void {
    const m = /^\/cdn\/([0-9a-f]{64})/.exec(q.url ?? '');
    const blob = m ? this.blobs.get(m[1]!) : undefined;
    if (!blob) {
      s.writeHead(404, { 'content-length': 0 });
      s.end();
      return;
    }
    let body = blob;
    if (this.faults.corrupt?.has(m![1]!)) {
      body = Uint8Array.from(blob);
      body[body.length >> 1]! ^= 0xff;
    }
    let cutAt = Infinity;
    if (this.faults.cut && this.faults.cut.count > 0 && q.method === 'GET') {
      this.faults.cut.count--;
      cutAt = this.faults.cut.afterBytes;
    }
    this.sendBody(q, s, body, {}, cutAt);
  }

  /** 200 or (with a Range) 206 with Content-Range; the body in 64 KiB chunks, cut after cutAt bytes. */
  private sendBody(q: http.IncomingMessage, s: http.ServerResponse, body: Uint8Array, headers: Record<string, string>, cutAt: number): void {
    const r = /^bytes=(\d+)-$/.exec(q.headers.range ?? '');
    const from = r ? Number(r[1]) : 0;
    if (from > body.byteLength || (r && from === body.byteLength)) {
      s.writeHead(416, { ...headers, 'content-range': `bytes */${body.byteLength}`, 'content-length': 0 });
      s.end();
      return;
    }
    const part = body.subarray(from);
    s.writeHead(r ? 206 : 200, { ...headers, 'content-length': String(part.byteLength), ...(r ? { 'content-range': `bytes ${from}-${body.byteLength - 1}/${body.byteLength}` } : {}) });
    if (q.method === 'HEAD') {
      s.end();
      return;
    }
    let off = 0;
    const step = (): void => {
      if (off >= part.byteLength) return void s.end();
      const n = Math.min(65536, part.byteLength - off);
      if (off + n > cutAt) {
        s.write(part.subarray(off, Math.max(off, cutAt)));
        s.socket?.destroy();
        return;
      }
      s.write(part.subarray(off, off + n));
      off += n;
      const d = this.faults.chunkDelayMs;
      if (d) setTimeout(step, d);
      else setImmediate(step);
    };
    step();
  }
}
