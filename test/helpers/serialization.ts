// Shared by the serialization tests: fixture paths, temp dirs, byte helpers and an error-naming assertion.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hfFixture } from './test-inputs.js';

/** A file of a SegFormer HF fixture ("tiny/model.safetensors"). */
export function fixture(rel: string): string {
  const [name, ...file] = rel.split('/');
  return path.join(hfFixture(`segformer/${name}`), ...file);
}

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-ser-'));
}

export const te = new TextEncoder();
export const concat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
export const eqBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength)
  .equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** assert fn throws an Error whose message contains the file name and matches re */
export function throwsNaming(fn: () => unknown, file: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, 'expected an Error');
    assert.ok(e.message.includes(file), `message should name ${file}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

export function bytesOf(arr: ArrayBufferView): Uint8Array {
  return new Uint8Array(arr.buffer.slice(arr.byteOffset, arr.byteOffset + arr.byteLength));
}
