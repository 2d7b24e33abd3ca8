// `streetseg serve`: headers (COOP/COEP, MIME types), only files inside the folder, methods, errors, and the
// CLI's URL line and clean stop on SIGINT. The folder here is a hand-made one; app-browser tests serve real sites.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serveSite, type SiteServer } from '../src/app/serve.js';
import { repoRoot } from '../src/util/paths.js';

/** A raw GET/HEAD (no client-side path normalisation, unlike fetch). */
function request(port: number, rawPath: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('streetseg serve', { timeout: 60_000 }, () => {
  let tmp: string;
  let root: string;
  let server: SiteServer;
  const wasm = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-serve-'));
    root = path.join(tmp, 'site');
    fs.mkdirSync(path.join(root, 'ort'), { recursive: true });
    fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>t</title>');
    fs.writeFileSync(path.join(root, 'app.js'), 'export {};');
    fs.writeFileSync(path.join(root, 'ort', 'ort.wasm.min.mjs'), 'export const x = 1;');
    fs.writeFileSync(path.join(root, 'ort', 'ort-wasm-simd-threaded.wasm'), wasm);
    fs.writeFileSync(path.join(root, 'model.json'), '{}');
    fs.writeFileSync(path.join(root, 'model.onnx'), Buffer.alloc(3000, 7));
    fs.writeFileSync(path.join(tmp, 'secret.txt'), 'outside the site');
    fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(root, 'link.txt'));
    server = await serveSite({ root });
  });
  after(async () => {
    await server?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('binds 127.0.0.1 on a free port and sends COOP/COEP with every file', async () => {
    assert.equal(server.host, '127.0.0.1');
    assert.ok(server.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.port}/`);
    for (const p of ['/', '/app.js', '/ort/ort-wasm-simd-threaded.wasm', '/missing']) {
      const r = await request(server.port, p);
      assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin', p);
      assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp', p);
      assert.equal(r.headers['cross-origin-resource-policy'], 'same-origin', p);
    }
  });

  it('serves the files with their MIME types and exact bytes', async () => {
    const types: [string, string][] = [
      ['/', 'text/html; charset=utf-8'],
      ['/index.html', 'text/html; charset=utf-8'],
      ['/app.js', 'text/javascript; charset=utf-8'],
      ['/ort/ort.wasm.min.mjs', 'text/javascript; charset=utf-8'],
      ['/ort/ort-wasm-simd-threaded.wasm', 'application/wasm'],
      ['/model.json', 'application/json; charset=utf-8'],
      ['/model.onnx', 'application/octet-stream'],
    ];
    for (const [p, type] of types) {
      const r = await request(server.port, p);
      assert.equal(r.status, 200, p);
      assert.equal(r.headers['content-type'], type, p);
    }
    const w = await request(server.port, '/ort/ort-wasm-simd-threaded.wasm?v=1');
    assert.deepEqual(w.body, wasm);
    assert.equal(w.headers['content-length'], String(wasm.length));
    const head = await request(server.port, '/model.onnx', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '3000');
    assert.equal(head.body.length, 0);
  });

  it('refuses paths that leave the folder, however they are spelled', async () => {
    for (const p of ['/../secret.txt', '/ort/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/ort/%2E%2E%2F%2E%2E%2Fsecret.txt', '/..\\secret.txt', '/link.txt']) {
      const r = await request(server.port, p);
      assert.equal(r.status, 403, `${p}: ${r.status} ${r.body}`);
      assert.ok(!r.body.toString().includes('outside the site'), p);
    }
    assert.equal((await request(server.port, '/nope.js')).status, 404);
    assert.equal((await request(server.port, '/%E0%A4%A')).status, 400);
    assert.equal((await request(server.port, '/a%00b')).status, 400);
    const post = await request(server.port, '/', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  it('without isolation: the same files, no COOP/COEP', async () => {
    const plain = await serveSite({ root, isolate: false });
    try {
      const r = await request(plain.port, '/app.js');
      assert.equal(r.status, 200);
      assert.equal(r.headers['cross-origin-opener-policy'], undefined);
      assert.equal(r.headers['cross-origin-embedder-policy'], undefined);
    } finally {
      await plain.close();
    }
  });

  it('clear errors: not a site folder, a port in use', async () => {
    await assert.rejects(serveSite({ root: path.join(tmp, 'nope') }), /nope: not a folder/);
    await assert.rejects(serveSite({ root: tmp }), /has no index.html/);
    await assert.rejects(serveSite({ root, port: server.port }), new RegExp(`cannot listen on 127.0.0.1:${server.port}: the port is in use`));
  });

  it('the CLI prints the URL, serves, and stops cleanly on Ctrl-C (SIGINT)', async () => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'src', 'cli', 'main.js'), 'serve', root, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d;
        const m = /serving .* at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', () => reject(new Error(`serve exited early: ${out}${err}`)));
    });
    const r = await fetch(`${url}ort/ort-wasm-simd-threaded.wasm`);
    assert.equal(r.headers.get('content-type'), 'application/wasm');
    assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp');
    child.kill('SIGINT');
    assert.equal(await exited, 0, err);
    assert.match(err, /serve: stopped \(SIGINT\)/);
    await assert.rejects(fetch(url), 'the port is closed after the stop');
  });
});
