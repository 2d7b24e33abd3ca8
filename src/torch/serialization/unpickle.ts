// The restricted unpickler (protocols 2-5) for torch.save's data.pkl: it builds plain Python values
// (pickle-values.ts), resolves storages through the caller's persistentLoad, and names only the
// allowlisted globals, whose "calls" pickle-globals.ts interprets. Any other global is refused the
// moment it is named, before any REDUCE.
import { PickleBytes } from './pickle-bytes.js';
import { ALLOWED_GLOBALS, callGlobal } from './pickle-globals.js';
import { PyDict, PyGlobal, PyTuple, TensorValue, describe } from './pickle-values.js';

export interface UnpickleContext {
  /** for error messages */
  file: string;
  /** resolves a persistent id (BINPERSID) */
  persistentLoad(pid: unknown): unknown;
}

/**
 * Restricted unpickler for protocols 2-5 (and the protocol-0/1 opcodes torch never emits are
 * rejected). Exported for testing.
 */
export function restrictedUnpickle(data: Uint8Array, ctx: UnpickleContext): unknown {
  const file = ctx.file;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const r = new PickleBytes(data, file);
  const fail = (msg: string): never => r.fail(msg);
  const pop = (): unknown => {
    if (stack.length === 0) fail(`stack underflow at offset ${r.pos - 1}`);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail(`stack underflow at offset ${r.pos - 1}`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (prev === undefined) fail(`MARK expected at offset ${r.pos - 1}`);
    stack = prev!;
    return items;
  };
  const memoPut = (idx: number): void => {
    memo.set(idx, top());
  };
  const memoGet = (idx: number): void => {
    if (!memo.has(idx)) fail(`memo key ${idx} not found`);
    stack.push(memo.get(idx));
  };
  const global = (module: string, name: string): PyGlobal => {
    const q = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(q)) {
      throw new Error(`refusing to unpickle global ${q} in ${file}: only tensor rebuilds and plain containers are allowed`);
    }
    return new PyGlobal(module, name);
  };
  const dictKey = (k: unknown): unknown => {
    if (k instanceof PyDict || Array.isArray(k)) fail(`unhashable dict key (${describe(k)})`);
    return k;
  };
  const setItems = (target: unknown, kv: unknown[]): void => {
    if (!(target instanceof PyDict)) fail(`SETITEM(S) on ${describe(target)}, expected a dict`);
    if (kv.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < kv.length; i += 2) (target as PyDict).map.set(dictKey(kv[i]), kv[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target)) fail(`APPEND(S) on ${describe(target)}, expected a list`);
    (target as unknown[]).push(...items);
  };
  const signedLE = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    const opPos = r.pos;
    const op = r.u8();
    switch (op) {
      case 0x80: { // PROTO
        const p = r.u8();
        if (p > 5) fail(`unsupported pickle protocol ${p}`);
        break;
      }
      case 0x95: // FRAME
        r.u64();
        break;
      case 0x2e: { // STOP '.'
        const v = pop();
        return v;
      }
      case 0x28: // MARK '('
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP '0'
        if (stack.length > 0) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK '1'
        popMark();
        break;
      case 0x32: // DUP '2'
        stack.push(top());
        break;
      case 0x7d: // EMPTY_DICT '}'
        stack.push(new PyDict(false));
        break;
      case 0x5d: // EMPTY_LIST ']'
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE ')'
        stack.push(new PyTuple([]));
        break;
      case 0x64: { // DICT 'd'
        const items = popMark();
        const d = new PyDict(false);
        setItems(d, items);
        stack.push(d);
        break;
      }
      case 0x6c: { // LIST 'l'
        const items = popMark(); // (popMark replaces `stack`: evaluate before stack.push)
        stack.push(items);
        break;
      }
      case 0x74: { // TUPLE 't'
        const items = popMark();
        stack.push(new PyTuple(items));
        break;
      }
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case 0x71: // BINPUT 'q'
        memoPut(r.u8());
        break;
      case 0x72: // LONG_BINPUT 'r'
        memoPut(r.u32());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size);
        break;
      case 0x70: { // PUT 'p'
        const n = Number(r.line());
        if (!Number.isSafeInteger(n)) fail('bad PUT index');
        memoPut(n);
        break;
      }
      case 0x68: // BINGET 'h'
        memoGet(r.u8());
        break;
      case 0x6a: // LONG_BINGET 'j'
        memoGet(r.u32());
        break;
      case 0x67: { // GET 'g'
        const n = Number(r.line());
        if (!Number.isSafeInteger(n)) fail('bad GET index');
        memoGet(n);
        break;
      }
      case 0x4a: // BININT 'J'
        stack.push(r.i32());
        break;
      case 0x4b: // BININT1 'K'
        stack.push(r.u8());
        break;
      case 0x4d: // BININT2 'M'
        stack.push(r.u16());
        break;
      case 0x8a: // LONG1
        stack.push(signedLE(r.bytes(r.u8())));
        break;
      case 0x8b: { // LONG4
        const n = r.i32();
        if (n < 0) fail('negative LONG4 length');
        stack.push(signedLE(r.bytes(n)));
        break;
      }
      case 0x49: { // INT 'I' (protocol 0; "01"/"00" are True/False)
        const s = r.line();
        if (s === '01') stack.push(true);
        else if (s === '00') stack.push(false);
        else {
          if (!/^[+-]?\d+$/.test(s)) fail(`bad INT literal ${JSON.stringify(s)}`);
          const b = BigInt(s);
          stack.push(b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b);
        }
        break;
      }
      case 0x4c: { // LONG 'L'
        const s = r.line().replace(/L$/, '');
        if (!/^[+-]?\d+$/.test(s)) fail(`bad LONG literal ${JSON.stringify(s)}`);
        const b = BigInt(s);
        stack.push(b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b);
        break;
      }
      case 0x47: // BINFLOAT 'G' (big-endian double)
        stack.push(r.f64be());
        break;
      case 0x46: { // FLOAT 'F'
        const s = r.line();
        const f = Number(s);
        if (s.trim() === '' || Number.isNaN(f) && !/nan/i.test(s)) fail(`bad FLOAT literal ${JSON.stringify(s)}`);
        stack.push(f);
        break;
      }
      case 0x8c: // SHORT_BINUNICODE
        stack.push(r.str(r.bytes(r.u8())));
        break;
      case 0x58: // BINUNICODE 'X'
        stack.push(r.str(r.bytes(r.u32())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(r.str(r.bytes(r.u64())));
        break;
      case 0x54: { // BINSTRING 'T' (py2 str; torch/numpy write these as latin-1)
        const n = r.i32();
        if (n < 0) fail('negative BINSTRING length');
        stack.push(r.latin1(r.bytes(n)));
        break;
      }
      case 0x55: // SHORT_BINSTRING 'U'
        stack.push(r.latin1(r.bytes(r.u8())));
        break;
      case 0x42: // BINBYTES 'B'
        stack.push(r.bytes(r.u32()));
        break;
      case 0x43: // SHORT_BINBYTES 'C'
        stack.push(r.bytes(r.u8()));
        break;
      case 0x8e: // BINBYTES8
        stack.push(r.bytes(r.u64()));
        break;
      case 0x96: // BYTEARRAY8
        stack.push(r.bytes(r.u64()).slice());
        break;
      case 0x73: { // SETITEM 's'
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS 'u'
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND 'a'
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS 'e'
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4e: // NONE 'N'
        stack.push(null);
        break;
      case 0x63: { // GLOBAL 'c'
        const module = r.line();
        const name = r.line();
        stack.push(global(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE 'R'
        const args = pop();
        const fn = pop();
        if (!(args instanceof PyTuple)) fail(`REDUCE arguments are ${describe(args)}, expected a tuple`);
        stack.push(callGlobal(fn, (args as PyTuple).items, file));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const cls = pop();
        if (!(args instanceof PyTuple)) fail('NEWOBJ arguments are not a tuple');
        if (!(cls instanceof PyGlobal) || cls.qualname !== 'collections.OrderedDict') {
          fail(`NEWOBJ of ${describe(cls)} is not supported`);
        }
        stack.push(new PyDict(true));
        break;
      }
      case 0x62: { // BUILD 'b'
        const state = pop();
        const obj = top();
        if (obj instanceof PyDict) obj.attrs = state; // e.g. OrderedDict._metadata: ignored
        else if (obj instanceof TensorValue) {
          // state from _rebuild_from_type_v2 / parameter subclasses (requires_grad etc.): ignored
        } else fail(`BUILD on ${describe(obj)} is not supported`);
        break;
      }
      case 0x51: { // BINPERSID 'Q'
        const pid = pop();
        stack.push(ctx.persistentLoad(pid));
        break;
      }
      case 0x50: // PERSID 'P' (text persistent id; torch never writes it)
        fail('text persistent ids (PERSID) are not supported');
        break;
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at offset ${opPos}` +
          (op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : ''));
    }
  }
}
