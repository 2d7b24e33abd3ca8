// What the Hub's etag promises about a file's bytes: an LFS file's etag is its sha256, a regular git file's
// is its git blob id (sha1 of "blob <size>\0" + bytes). Other etag forms (another server) promise nothing.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

export type EtagKind = 'sha256' | 'git-sha1' | null;

export const etagKind = (etag: string): EtagKind => (/^[0-9a-f]{64}$/.test(etag) ? 'sha256' : /^[0-9a-f]{40}$/.test(etag) ? 'git-sha1' : null);

/** The file's digest in the etag's kind (hex), streamed. */
export async function etagDigest(file: string, kind: 'sha256' | 'git-sha1'): Promise<string> {
  const h = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  if (kind === 'git-sha1') h.update(`blob ${fs.statSync(file).size}\0`);
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Why `file` is not what the etag and size describe, or null when it is. */
export async function mismatch(file: string, etag: string, size: number | null): Promise<string | null> {
  const got = fs.statSync(file).size;
  if (size !== null && got !== size) return `${got} bytes, expected ${size}`;
  const kind = etagKind(etag);
  if (!kind) return null;
  const d = await etagDigest(file, kind);
  return d === etag ? null : `${kind} ${d}, expected ${etag} (the Hub's ${kind === 'sha256' ? 'X-Linked-Etag' : 'ETag'})`;
}
