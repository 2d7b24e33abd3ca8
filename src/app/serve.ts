// `streetseg serve` as a library call: a static file server for a site folder. It sends
// Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (the page is
// then cross-origin isolated, which WASM threads need), each file's MIME type (application/wasm for
// onnxruntime's binaries, text/javascript for .mjs), and only files inside the folder: a path that
// leaves it (.., encoded or not, or a symlink pointing out) is refused with 403.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.webm': 'video/webm',
  '.mp4': 'video/mp4',
};

export interface ServeOptions {
  root: string;
  /** Default 127.0.0.1 (this machine only). */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** COOP/COEP headers (default true); false serves the same files without them, so the page is not isolated. */
  isolate?: boolean;
  /** One line per failed request (default: none). */
  log?: (line: string) => void;
}

export interface SiteServer {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/** The folder's file for a request path, or an HTTP status saying why not. */
export function resolveRequest(rootReal: string, urlPath: string): { file: string } | { status: 400 | 403 | 404; reason: string } {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return { status: 400, reason: 'malformed percent-encoding' };
  }
  if (decoded.includes('\0')) return { status: 400, reason: 'NUL in path' };
  const parts = decoded.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return { status: 403, reason: 'path leaves the site folder' };
  let file = path.join(rootReal, ...parts);
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    return { status: 404, reason: 'not found' };
  }
  if (real !== rootReal && !real.startsWith(rootReal + path.sep)) return { status: 403, reason: 'path leaves the site folder' };
  if (fs.statSync(real).isDirectory()) {
    file = path.join(real, 'index.html');
    if (!fs.existsSync(file)) return { status: 404, reason: 'no index.html in this folder' };
    real = file;
  }
  return { file: real };
}

export async function serveSite(o: ServeOptions): Promise<SiteServer> {
  if (!fs.existsSync(o.root) || !fs.statSync(o.root).isDirectory()) throw new Error(`${o.root}: not a folder (give the folder streetseg app wrote)`);
  if (!fs.existsSync(path.join(o.root, 'index.html'))) throw new Error(`${o.root}: has no index.html (give the folder streetseg app wrote)`);
  const rootReal = fs.realpathSync(o.root);
  const host = o.host ?? '127.0.0.1';
  const isolate = o.isolate !== false;
  const log = o.log ?? (() => undefined);

  const server = http.createServer((req, res) => {
    const common: Record<string, string> = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' };
    if (isolate) Object.assign(common, { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin' });
    const fail = (status: number, reason: string) => {
      log(`${req.method} ${req.url} → ${status} ${reason}`);
      res.writeHead(status, { ...common, 'Content-Type': 'text/plain; charset=utf-8', ...(status === 405 ? { Allow: 'GET, HEAD' } : {}) });
      res.end(`${status} ${reason}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'method not allowed');
    let urlPath: string;
    try {
      urlPath = new URL(req.url ?? '/', 'http://site').pathname;
    } catch {
      return fail(400, 'malformed URL');
    }
    // the raw path, before URL parsing resolved any dot segments, must not climb either
    const raw = (req.url ?? '/').split(/[?#]/)[0]!;
    if (/(^|[\\/])\.\.([\\/]|$)/.test(raw) || /%2e%2e/i.test(raw)) return fail(403, 'path leaves the site folder');
    const r = resolveRequest(rootReal, urlPath);
    if (!('file' in r)) return fail(r.status, r.reason);
    let size: number;
    try {
      size = fs.statSync(r.file).size;
    } catch {
      return fail(404, 'not found');
    }
    res.writeHead(200, { ...common, 'Content-Type': MIME_TYPES[path.extname(r.file).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': String(size) });
    if (req.method === 'HEAD') return void res.end();
    const stream = fs.createReadStream(r.file);
    stream.on('error', (e) => {
      log(`${req.method} ${req.url}: read failed: ${e.message}`);
      res.destroy(e);
    });
    stream.pipe(res);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EADDRNOTAVAIL' ? 'no such address on this machine' : e.code === 'EACCES' ? 'permission denied (ports below 1024 need root)' : e.message;
      reject(new Error(`serve: cannot listen on ${host}:${o.port ?? 0}: ${why}`));
    });
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/`,
    host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
