// Memory scopes: tensors created inside tidy() are disposed at its end unless returned or kept; and
// the engine's memory counters (live handles, the caching allocator of native/allocator.cc).
import { native } from './native.js';
import { Tensor } from './tensor.js';

type Scope = Set<Tensor>;
const scopes: Scope[] = [];

/** Adds a new tensor to the innermost open scope (the Tensor constructor calls it). */
export function track(t: Tensor): void {
  const s = scopes[scopes.length - 1];
  if (s) s.add(t);
}

/**
 * Adds every Tensor reachable from value to out: through arrays, Maps, Sets and the own enumerable
 * properties of any other object (plain objects, model outputs, small result classes), as tfjs's
 * walkTensorContainer. `visited` guards against cycles; typed arrays and ArrayBuffers hold no tensors
 * and are skipped (walking a big Float32Array element by element would be slow).
 */
function collect(value: unknown, out: Set<Tensor>): void {
  if (value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) {
    out.add(value);
    return;
  }
  const visited = new Set<object>();
  const stack: object[] = [value];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (visited.has(v)) continue;
    visited.add(v);
    const children: Iterable<unknown> =
      Array.isArray(v) ? v : v instanceof Map ? v.values() : v instanceof Set ? v.values() : Object.values(v);
    for (const c of children) {
      if (c === null || typeof c !== 'object') continue;
      if (c instanceof Tensor) out.add(c);
      else if (!ArrayBuffer.isView(c) && !(c instanceof ArrayBuffer) && !(c instanceof SharedArrayBuffer) && !(c instanceof Promise)) {
        stack.push(c);
      }
    }
  }
}

/** Refuses a Promise (an async fn): a scope or mode set around fn would not span its awaits. */
export function refuseAsync(result: unknown, what: string): void {
  if (!(result instanceof Promise)) return;
  result.catch(() => {}); // its own rejection would otherwise end the process as unhandled
  throw new TypeError(`${what}: the function returned a Promise; ${what} cannot span await (wrap each synchronous step instead)`);
}

/**
 * Runs fn in a memory scope: every tensor created inside that is not returned (directly or inside
 * arrays, Maps, Sets or any object's own enumerable properties) or kept is disposed when fn returns
 * or throws. Returned tensors move to the enclosing scope. Async functions are refused: a scope
 * cannot span an await.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = new Set();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    refuseAsync(result, 'tidy()');
  }
  const out = new Set<Tensor>();
  collect(result, out);
  for (const t of scope) if (!out.has(t)) t.dispose();
  const parent = scopes[scopes.length - 1];
  if (parent) for (const t of out) if (scope.has(t)) parent.add(t);
  return result;
}

/** Removes tensors from every open scope, so that tidy() will not dispose them. Returns its argument. */
export function keep<T>(value: T): T {
  const ts = new Set<Tensor>();
  collect(value, ts);
  for (const t of ts) for (const s of scopes) s.delete(t);
  return value;
}

/** Disposes every tensor found in value (arrays, Maps, Sets and objects' own enumerable properties are searched). */
export function dispose(value: unknown): void {
  const ts = new Set<Tensor>();
  collect(value, ts);
  for (const t of ts) t.dispose();
}

/** Live native tensor handles and the bytes reported to V8, for leak tests. */
export function memoryStats(): { liveTensors: number; externalBytes: number } {
  return native.stats();
}

/** The caching CPU allocator's state (large blocks kept for reuse; see native/allocator.cc). */
export const allocatorStats = (): { caching: boolean; cachedBytes: number; capBytes: number; hits: number; misses: number } =>
  native.allocatorStats();
/** Returns every cached block to the system. */
export const emptyCache = (): void => native.emptyCache();
