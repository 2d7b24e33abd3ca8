// A bounds-checked cursor over a pickle's bytes: the little-endian integers, length-prefixed byte
// strings, newline-terminated text arguments and UTF-8 / latin-1 strings that opcodes carry. Running
// past the end is an error naming the file and the offset, never a silent short read.
const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

export class PickleBytes {
  /** Offset of the next unread byte. */
  pos = 0;
  private readonly dv: DataView;

  constructor(private readonly data: Uint8Array, private readonly file: string) {
    this.dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  fail(msg: string): never {
    throw new Error(`${this.file}: cannot unpickle: ${msg}`);
  }

  private need(n: number): void {
    const left = this.data.length - this.pos;
    if (n > left) this.fail(`truncated pickle (needed ${n} bytes at offset ${this.pos}, only ${left} left)`);
  }

  u8(): number {
    this.need(1);
    return this.data[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.dv.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.dv.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** An 8-byte length; beyond Number.MAX_SAFE_INTEGER it is an error. */
  u64(): number {
    this.need(8);
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${v} is too large`);
    return Number(v);
  }
  /** BINFLOAT's big-endian double. */
  f64be(): number {
    this.need(8);
    const v = this.dv.getFloat64(this.pos, false);
    this.pos += 8;
    return v;
  }
  /** The next n bytes, a view of the input (no copy). */
  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** A protocol-0 text argument up to the next newline (latin-1), the newline consumed. */
  line(): string {
    const nl = this.data.indexOf(0x0a, this.pos);
    if (nl < 0) this.fail(`truncated pickle (unterminated text line at offset ${this.pos})`);
    const s = latin1.decode(this.data.subarray(this.pos, nl));
    this.pos = nl + 1;
    return s;
  }
  /** Strict UTF-8 (unicode opcodes). */
  str(b: Uint8Array): string {
    try {
      return utf8.decode(b);
    } catch {
      return this.fail('invalid UTF-8 in a string');
    }
  }
  /** Latin-1 (py2 str opcodes: torch and numpy write these as latin-1). */
  latin1(b: Uint8Array): string {
    return latin1.decode(b);
  }
}
