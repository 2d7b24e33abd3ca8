// HTTP(S) requests and resumable downloads, shared by dataset downloads and the Hugging Face Hub client.
// Redirects: credentials (Authorization, Cookie) travel only to the origin they were meant for; once a
// redirect leaves it (a CDN), they are dropped for the rest of the chain, as browsers and requests do.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly headers: http.IncomingHttpHeaders,
    readonly url: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** Socket idle timeout in ms (default 60000). */
  timeoutMs?: number;
  /** Follow redirects to other origins too (default true); false returns such a redirect response unread. */
  crossOrigin?: boolean;
  maxRedirects?: number;
}

const CREDENTIALS = ['authorization', 'cookie', 'proxy-authorization'];

function requestOnce(url: URL, method: string, headers: Record<string, string>, timeoutMs: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
    if (!mod) return reject(new Error(`${url.href}: unsupported protocol ${url.protocol}`));
    const req = mod.request(url, { method, headers: { 'user-agent': 'streetseg', ...headers } }, resolve);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${url.href}: no data for ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export interface HttpResponse {
  res: http.IncomingMessage;
  /** The URL that answered (after the redirects followed). */
  url: string;
}

/**
 * One request, following redirects (up to maxRedirects, default 10). A redirect to another origin drops
 * the credential headers; with crossOrigin false it is not followed and its 3xx response is returned.
 */
export async function httpRequest(url: string, o: RequestOptions = {}): Promise<HttpResponse> {
  const method = o.method ?? 'GET';
  const timeoutMs = o.timeoutMs ?? 60000;
  const origin = new URL(url).origin;
  let headers = { ...(o.headers ?? {}) };
  let cur = new URL(url);
  for (let hops = 0; ; hops++) {
    const res = await requestOnce(cur, method, headers, timeoutMs);
    const loc = res.headers.location;
    const status = res.statusCode ?? 0;
    if (status < 300 || status >= 400 || !loc) return { res, url: cur.href };
    const next = new URL(loc, cur);
    if (next.origin !== origin && o.crossOrigin === false) return { res, url: cur.href };
    res.resume();
    if (hops >= (o.maxRedirects ?? 10)) throw new Error(`${url}: too many redirects`);
    if (next.origin !== origin) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !CREDENTIALS.includes(k.toLowerCase())));
    cur = next;
  }
}

export interface DownloadOptions {
  headers?: Record<string, string>;
  /** Extra attempts after a failed or interrupted transfer, each resuming from the partial file (default 3). */
  retries?: number;
  /** Milliseconds between attempts (default 1000). */
  retryDelayMs?: number;
  /** Socket idle timeout in ms (default 60000). */
  timeoutMs?: number;
  onProgress?: (bytes: number, total: number | null) => void;
  log?: (msg: string) => void;
}

/** One attempt: GET (following redirects) with a Range header if `part` has bytes; appends to `part`. */
async function attempt(url: string, part: string, opts: DownloadOptions): Promise<void> {
  let have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  const { res, url: cur } = await httpRequest(url, { headers: { ...(opts.headers ?? {}), ...(have > 0 ? { range: `bytes=${have}-` } : {}) }, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
  const status = res.statusCode ?? 0;
  let total: number | null = null;
  let flags: 'a' | 'w' = 'a';
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    if (!m || Number(m[1]) !== have) {
      res.resume();
      throw new Error(`${cur}: bad Content-Range "${res.headers['content-range']}" for a request from byte ${have}`);
    }
    total = m[3] === '*' ? null : Number(m[3]);
  } else if (status === 200) {
    if (have > 0) opts.log?.(`server ignored the range request; restarting from byte 0`);
    have = 0;
    flags = 'w';
    const len = res.headers['content-length'];
    total = len !== undefined ? Number(len) : null;
  } else if (status === 416 && have > 0) {
    // Range not satisfiable: complete already if the size matches, else start over.
    res.resume();
    const m = /^bytes \*\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''));
    if (m && Number(m[1]) === have) return;
    fs.rmSync(part, { force: true });
    throw new Error(`${cur}: server rejected resuming at byte ${have}; the partial file was discarded`);
  } else {
    res.resume();
    throw new HttpStatusError(status, res.headers, cur, `${cur}: HTTP ${status} ${res.statusMessage ?? ''}`.trim());
  }
  const out = fs.createWriteStream(part, { flags });
  let got = have;
  await new Promise<void>((resolve, reject) => {
    let done = false;
    const fail = (e: Error): void => {
      if (done) return;
      done = true;
      out.end(() => reject(e));
    };
    res.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (!out.write(chunk)) {
        res.pause();
        out.once('drain', () => res.resume());
      }
      opts.onProgress?.(got, total);
    });
    res.on('aborted', () => fail(new Error(`${cur}: connection closed after ${got} bytes`)));
    res.on('error', (e) => fail(e));
    res.on('close', () => fail(new Error(`${cur}: connection closed after ${got} bytes`)));
    out.on('error', (e) => fail(e));
    res.on('end', () => {
      if (done) return;
      done = true;
      out.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
  });
  if (res.complete === false || (total !== null && got !== total)) {
    throw new Error(`${cur}: transfer incomplete (${got} of ${total ?? '?'} bytes)`);
  }
}

/**
 * Downloads url into `part`, resuming what `part` already holds with a Range request and retrying
 * interrupted transfers. An HTTP error status (404...) is not retried. `part` stays behind on failure so
 * that a later call resumes; the caller verifies it and moves it into place.
 */
export async function downloadResumable(url: string, part: string, opts: DownloadOptions = {}): Promise<void> {
  const retries = opts.retries ?? 3;
  for (let i = 0; ; i++) {
    try {
      await attempt(url, part, opts);
      return;
    } catch (e) {
      if (e instanceof HttpStatusError || i >= retries) throw e;
      const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
      opts.log?.(`${(e as Error).message}; retrying from byte ${have} (${i + 1}/${retries})`);
      await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 1000));
    }
  }
}
