// TensorBoard event files written directly, so training logs open in TensorBoard with no Python in the loop.
//
// Format (TFRecord framing around tensorflow.Event protos), each record:
//   u64le length | u32le masked_crc32c(length bytes) | Event bytes | u32le masked_crc32c(Event bytes)
// masked(crc) = ((crc >>> 15) | (crc << 17)) + 0xa282ead8 mod 2^32. The first record's Event carries
// file_version "brain.Event:2"; later ones carry a Summary of scalars or images.
//
// Field numbers follow tensorboard/compat/proto/event.proto and summary.proto (oneofs kept, so that a
// simple_value of 0 is still written: members of a oneof have presence).
import { crc32c } from '@aws-crypto/crc32c';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import protobuf from 'protobufjs';

const root = protobuf.Root.fromJSON({
  nested: {
    tensorboard: {
      nested: {
        Event: {
          oneofs: { what: { oneof: ['fileVersion', 'summary'] } },
          fields: {
            wallTime: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            fileVersion: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 },
          },
        },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
          nested: {
            Image: {
              fields: {
                height: { type: 'int32', id: 1 },
                width: { type: 'int32', id: 2 },
                colorspace: { type: 'int32', id: 3 },
                encodedImageString: { type: 'bytes', id: 4 },
              },
            },
            Value: {
              oneofs: { value: { oneof: ['simpleValue', 'image'] } },
              fields: {
                tag: { type: 'string', id: 1 },
                simpleValue: { type: 'float', id: 2 },
                image: { type: 'Image', id: 4 },
              },
            },
          },
        },
      },
    },
  },
});
const EventType = root.lookupType('tensorboard.Event');

export const FILE_VERSION = 'brain.Event:2';
/** Summary.Image colorspace: 3 = RGB. */
const COLORSPACE_RGB = 3;
const HEADER_BYTES = 12; // u64 length + u32 masked CRC of it
const FOOTER_BYTES = 4;

const MASK_DELTA = 0xa282ead8;
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** One framed record around a payload. */
export function frameRecord(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + payload.length + FOOTER_BYTES);
  out.writeBigUInt64LE(BigInt(payload.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(payload, HEADER_BYTES);
  out.writeUInt32LE(maskedCrc32c(payload), HEADER_BYTES + payload.length);
  return out;
}

function checkStep(what: string, step: number): void {
  if (!Number.isSafeInteger(step) || step < 0) throw new RangeError(`${what}: step must be a non-negative integer, got ${step}`);
}

export class TfEventsWriter {
  readonly path: string;
  private fd: number | null;

  /** Creates logDir and a new file events.out.tfevents.<unix secs>.<hostname>[suffix] in it (never overwrites one). */
  constructor(logDir: string, opts: { filenameSuffix?: string } = {}) {
    fs.mkdirSync(logDir, { recursive: true });
    const name = `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${os.hostname()}${opts.filenameSuffix ?? ''}`;
    this.path = path.join(logDir, name);
    try {
      this.fd = fs.openSync(this.path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new Error(`TfEventsWriter: ${this.path} already exists (another writer started in the same second in this directory; give each a filenameSuffix)`);
      }
      throw e;
    }
    this.writeEvent({ wallTime: Date.now() / 1000, step: 0, fileVersion: FILE_VERSION });
  }

  addScalar(tag: string, value: number, step: number, wallTime = Date.now() / 1000): void {
    checkStep(`addScalar(${tag})`, step);
    if (typeof value !== 'number') throw new TypeError(`addScalar(${tag}): value must be a number, got ${typeof value}`);
    this.writeEvent({ wallTime, step, summary: { value: [{ tag, simpleValue: value }] } });
  }

  /** An encoded image (PNG) shown in TensorBoard's Images tab; height/width are the image's pixel size. */
  addImage(tag: string, png: Buffer, height: number, width: number, step: number, wallTime = Date.now() / 1000): void {
    checkStep(`addImage(${tag})`, step);
    for (const [k, v] of [['height', height], ['width', width]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 0x7fffffff) throw new RangeError(`addImage(${tag}): ${k} must be a positive int32, got ${v}`);
    }
    if (!(png instanceof Uint8Array) || png.length === 0) throw new TypeError(`addImage(${tag}): png must be a non-empty Buffer`);
    this.writeEvent({
      wallTime,
      step,
      summary: { value: [{ tag, image: { height, width, colorspace: COLORSPACE_RGB, encodedImageString: png } }] },
    });
  }

  /** Forces written records to disk. */
  flush(): void {
    fs.fsyncSync(this.open());
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  private open(): number {
    if (this.fd === null) throw new Error(`TfEventsWriter: ${this.path} is closed`);
    return this.fd;
  }

  // One synchronous write per record: a process killed between calls leaves only whole records, and one
  // killed inside a write leaves at most the last record torn (which readTfEvents reports as truncated).
  private writeEvent(ev: Record<string, unknown>): void {
    const fd = this.open();
    const rec = frameRecord(EventType.encode(EventType.fromObject(ev)).finish());
    let off = 0;
    while (off < rec.length) off += fs.writeSync(fd, rec, off, rec.length - off);
  }
}

export interface TfEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** simple_value summaries by tag (float32 values, as stored). */
  scalars: Record<string, number>;
  /** image summaries by tag; bytes = length of the encoded image. */
  images: Record<string, { height: number; width: number; bytes: number }>;
}

/** The events read; `truncated` is set when the file ends inside a record (a writer killed mid-append). */
export type TfEvents = TfEvent[] & { truncated?: { offset: number; message: string } };

interface DecodedEvent {
  wallTime?: number;
  step?: number;
  fileVersion?: string;
  summary?: { value?: { tag?: string; simpleValue?: number; image?: { height?: number; width?: number; encodedImageString?: Uint8Array } }[] };
}

/**
 * Reads an event file, verifying both CRCs of every record. A record cut short at the end of the file is
 * not an error: the events before it are returned and `truncated` says where. A CRC mismatch or an
 * undecodable Event inside the file is an error naming the file and byte offset.
 */
export function readTfEvents(file: string): TfEvents {
  const buf = fs.readFileSync(file);
  const events: TfEvents = [];
  let off = 0;
  while (off < buf.length) {
    const at = `${file}: record at byte ${off}`;
    if (buf.length - off < HEADER_BYTES) {
      events.truncated = { offset: off, message: `${at} is truncated (${buf.length - off} of ${HEADER_BYTES} header bytes)` };
      break;
    }
    const lenBytes = buf.subarray(off, off + 8);
    if (buf.readUInt32LE(off + 8) !== maskedCrc32c(lenBytes)) throw new Error(`${at}: length CRC mismatch (corrupt file, or not a tfevents file)`);
    const len = buf.readBigUInt64LE(off);
    const end = BigInt(off + HEADER_BYTES) + len + BigInt(FOOTER_BYTES);
    if (end > BigInt(buf.length)) {
      events.truncated = { offset: off, message: `${at} is truncated (needs ${len + BigInt(HEADER_BYTES + FOOTER_BYTES)} bytes, ${buf.length - off} left)` };
      break;
    }
    const start = off + HEADER_BYTES;
    const payload = buf.subarray(start, start + Number(len));
    if (buf.readUInt32LE(start + payload.length) !== maskedCrc32c(payload)) throw new Error(`${at}: data CRC mismatch (corrupt record)`);
    let ev: DecodedEvent;
    try {
      ev = EventType.toObject(EventType.decode(payload), { longs: Number, defaults: false }) as DecodedEvent;
    } catch (e) {
      throw new Error(`${at}: not a valid Event message (${(e as Error).message})`);
    }
    const out: TfEvent = { wallTime: ev.wallTime ?? 0, step: ev.step ?? 0, scalars: {}, images: {} };
    if (ev.fileVersion !== undefined) out.fileVersion = ev.fileVersion;
    for (const v of ev.summary?.value ?? []) {
      const tag = v.tag ?? '';
      if (v.simpleValue !== undefined) out.scalars[tag] = v.simpleValue;
      if (v.image) out.images[tag] = { height: v.image.height ?? 0, width: v.image.width ?? 0, bytes: v.image.encodedImageString?.length ?? 0 };
    }
    events.push(out);
    off = Number(end);
  }
  return events;
}
