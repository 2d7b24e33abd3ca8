// Videos through Debian's ffmpeg: ffprobe for the stream's size, frame rate and frame count; frames
// decoded through a pipe (raw RGB24, one frame = width·height·3 bytes) and the result encoded through a
// pipe into a temporary file that is renamed only when ffmpeg has finished it. No file per frame.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface VideoInfo {
  width: number;
  height: number;
  /** ffprobe's r_frame_rate, e.g. "30000/1001": passed to the encoder as given. */
  rate: string;
  fps: number;
  /** The container's frame count (nb_frames), or an estimate from the duration; null if neither is known. */
  frames: number | null;
  /** Whether `frames` is the container's own count (then fewer decoded frames means a truncated file). */
  exactFrames: boolean;
}

export type MediaProbe = { kind: 'video'; info: VideoInfo } | { kind: 'image' | 'none'; reason?: string };

function tool(name: 'ffmpeg' | 'ffprobe', e: NodeJS.ErrnoException): Error {
  return new Error(e.code === 'ENOENT' ? `${name} not found: predict needs Debian's ffmpeg package for videos (apt-get install ffmpeg)` : `${name}: ${e.message}`);
}

const lastLines = (s: string, n = 3): string => s.trim().split('\n').slice(-n).join(' | ');

/** What ffprobe makes of a file: a video (first video stream), an image (an image2/pipe format), or neither. */
export function probeMedia(file: string): MediaProbe {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_type,width,height,r_frame_rate,nb_frames,duration:format=format_name,duration', '-of', 'json', file], { encoding: 'utf8' });
  if (r.error) throw tool('ffprobe', r.error as NodeJS.ErrnoException);
  if (r.status !== 0) return { kind: 'none', reason: lastLines(r.stderr) || `ffprobe exited with ${r.status}` };
  let j: { streams?: Record<string, string | number>[]; format?: { format_name?: string; duration?: string } };
  try {
    j = JSON.parse(r.stdout);
  } catch {
    return { kind: 'none', reason: 'ffprobe printed no JSON' };
  }
  const s = j.streams?.[0];
  if (!s || s.codec_type !== 'video') return { kind: 'none', reason: 'no video stream' };
  const format = j.format?.format_name ?? '';
  if (/(^|,)image2|_pipe$/.test(format)) return { kind: 'image' };
  const width = Number(s.width);
  const height = Number(s.height);
  const rate = String(s.r_frame_rate ?? '');
  const [num, den] = rate.split('/').map(Number);
  const fps = den ? num! / den : Number(rate);
  if (!(width > 0 && height > 0) || !(fps > 0 && Number.isFinite(fps))) {
    return { kind: 'none', reason: `ffprobe gives no usable size or frame rate (${width}x${height}, r_frame_rate ${rate || 'missing'})` };
  }
  const nb = Number(s.nb_frames);
  const duration = Number(s.duration ?? j.format?.duration);
  const exactFrames = Number.isInteger(nb) && nb > 0;
  const frames = exactFrames ? nb : duration > 0 ? Math.round(duration * fps) : null;
  return { kind: 'video', info: { width, height, rate: den ? `${num}/${den}` : rate, fps, frames, exactFrames } };
}

/** The video's stream info, or an error naming the file. */
export function probeVideo(file: string): VideoInfo {
  const p = probeMedia(file);
  if (p.kind !== 'video') throw new Error(`${file}: not a video ffprobe can read${p.kind === 'none' && p.reason ? `: ${p.reason}` : ''}`);
  return p.info;
}

/**
 * The frames of `file` as RGB24 (HWC, info.width × info.height), in order. A decoder failure, a partial
 * last frame, or fewer frames than the container declares is an error naming the file (truncated video).
 */
export async function* decodeFrames(file: string, info: VideoInfo): AsyncGenerator<Uint8Array> {
  // -noautorotate keeps ffprobe's stored size; passthrough keeps every decoded frame (no duplicates/drops)
  const args = ['-nostdin', '-v', 'error', '-noautorotate', '-i', file, '-map', '0:v:0', '-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
  const proc = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    proc.on('error', (e) => resolve({ code: null, error: tool('ffmpeg', e as NodeJS.ErrnoException) }));
    proc.on('close', (code) => resolve({ code }));
  });
  const frameBytes = info.width * info.height * 3;
  let buf = Buffer.alloc(frameBytes);
  let fill = 0;
  let count = 0;
  let finished = false;
  try {
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(frameBytes - fill, chunk.length - off);
        chunk.copy(buf, fill, off, off + n);
        fill += n;
        off += n;
        if (fill === frameBytes) {
          const frame = new Uint8Array(buf.buffer, buf.byteOffset, frameBytes);
          buf = Buffer.alloc(frameBytes);
          fill = 0;
          count++;
          yield frame;
        }
      }
    }
    const { code, error } = await exited;
    finished = true;
    if (error) throw error;
    if (code !== 0) throw new Error(`${file}: ffmpeg could not decode the video (truncated or corrupt?) after ${count} frames: ${lastLines(stderr) || `exit code ${code}`}`);
    if (fill !== 0) throw new Error(`${file}: the decoded video ends in a partial frame (${fill} of ${frameBytes} bytes) after ${count} frames; truncated?`);
    if (info.exactFrames && info.frames !== null && count < info.frames) {
      throw new Error(`${file}: decoded ${count} of the ${info.frames} frames the container declares; the video is truncated${stderr.trim() ? ` (${lastLines(stderr)})` : ''}`);
    }
  } finally {
    if (!finished) {
      proc.kill('SIGKILL');
      await exited;
    }
  }
}

let encoderArgs: string[] | null = null;

/** libx264 when this ffmpeg has it (Debian's does), else its built-in mpeg4. */
function videoCodec(): string[] {
  if (encoderArgs) return encoderArgs;
  const r = spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' });
  if (r.error) throw tool('ffmpeg', r.error as NodeJS.ErrnoException);
  encoderArgs = /\blibx264\b/.test(r.stdout) ? ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18'] : ['-c:v', 'mpeg4', '-q:v', '2'];
  return encoderArgs;
}

/**
 * An MP4 written by ffmpeg from RGB24 frames on its stdin, at the input's frame rate. yuv420p needs even
 * sizes, so an odd width or height is padded with one black column/row (right/bottom). The file appears
 * under its name only after finish(); abort() (or any failure) deletes the temporary file.
 */
export class VideoEncoder {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly tmp: string;
  private stderr = '';
  private readonly exited: Promise<{ code: number | null; error?: Error }>;
  private pipeError: Error | null = null;
  readonly frameBytes: number;
  frames = 0;

  constructor(
    readonly file: string,
    readonly width: number,
    readonly height: number,
    rate: string,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
    this.frameBytes = width * height * 3;
    const pad = width % 2 || height % 2 ? ['-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2'] : [];
    const args = ['-nostdin', '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', rate, '-i', 'pipe:0', ...pad, ...videoCodec(), '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-f', 'mp4', this.tmp];
    this.proc = spawn('ffmpeg', args, { stdio: ['pipe', 'ignore', 'pipe'] }) as unknown as ChildProcessWithoutNullStreams;
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-4000)));
    this.proc.stdin.on('error', (e) => (this.pipeError ??= e));
    this.exited = new Promise((resolve) => {
      this.proc.on('error', (e) => resolve({ code: null, error: tool('ffmpeg', e as NodeJS.ErrnoException) }));
      this.proc.on('close', (code) => resolve({ code }));
    });
  }

  private failure(what: string, code: number | null): Error {
    return new Error(`${this.file}: ffmpeg failed ${what} (${lastLines(this.stderr) || this.pipeError?.message || `exit code ${code}`})`);
  }

  /** Queues one RGB24 frame; waits while ffmpeg's stdin is full. */
  async write(frame: Uint8Array): Promise<void> {
    if (frame.length !== this.frameBytes) throw new RangeError(`${this.file}: frame has ${frame.length} bytes, expected ${this.width}x${this.height}x3`);
    if (this.pipeError || this.proc.exitCode !== null) throw this.failure(`after ${this.frames} frames`, this.proc.exitCode);
    this.frames++;
    if (!this.proc.stdin.write(frame)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.proc.stdin.off('drain', done);
          this.proc.off('close', done);
          resolve();
        };
        this.proc.stdin.on('drain', done);
        this.proc.on('close', done);
      });
    }
  }

  /** Closes the stream, waits for ffmpeg, and moves the finished file into place. */
  async finish(): Promise<void> {
    this.proc.stdin.end();
    const { code, error } = await this.exited;
    if (error || code !== 0 || this.pipeError) {
      fs.rmSync(this.tmp, { force: true });
      throw error ?? this.failure('to encode the video', code);
    }
    fs.renameSync(this.tmp, this.file);
  }

  /** Stops ffmpeg and deletes the partial file. */
  async abort(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    await this.exited;
    fs.rmSync(this.tmp, { force: true });
  }
}
