// What `streetseg predict` reads: image files, folders of images (sorted by name), and videos. Images are
// recognised by extension (their decoding reports a bad one, naming the file); any other file is probed
// with ffprobe, so a video is a video by content whatever its extension. Each input gets an output stem
// (its base name without the extension); two inputs with the same stem are an error, not an overwrite.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { probeMedia } from './video.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.tif', '.tiff', '.gif', '.avif'];

export interface PredictInput {
  kind: 'image' | 'video';
  file: string;
  /** Output stem: NAME of NAME.png, NAME_color.png, NAME_overlay.mp4. */
  name: string;
}

/** Whether `f` names an image file, by extension. */
export const isImageName = (f: string): boolean => IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase());

function classify(file: string): PredictInput['kind'] {
  if (isImageName(file)) return 'image';
  const probe = probeMedia(file);
  if (probe.kind === 'video') return 'video';
  if (probe.kind === 'image') return 'image';
  throw new Error(`${file}: not an image (${IMAGE_EXTENSIONS.join(' ')}) nor a video ffprobe can read${probe.reason ? `: ${probe.reason}` : ''}`);
}

/**
 * Expands the command's INPUT arguments in order: a file is one input, a folder its image files (sorted,
 * not recursive; other files are skipped, but a folder with no image is an error).
 */
export function expandInputs(args: readonly string[]): PredictInput[] {
  if (args.length === 0) throw new Error('predict: no INPUT given (image files, folders of images, or videos)');
  const out: PredictInput[] = [];
  for (const arg of args) {
    let st: fs.Stats;
    try {
      st = fs.statSync(arg);
    } catch {
      throw new Error(`${arg}: no such file or folder`);
    }
    if (st.isDirectory()) {
      const names = fs.readdirSync(arg).filter((f) => isImageName(f) && fs.statSync(path.join(arg, f)).isFile()).sort();
      if (names.length === 0) throw new Error(`${arg}: folder has no images (${IMAGE_EXTENSIONS.join(' ')})`);
      for (const f of names) out.push({ kind: 'image', file: path.join(arg, f), name: stem(f) });
    } else if (st.isFile()) {
      out.push({ kind: classify(arg), file: arg, name: stem(arg) });
    } else {
      throw new Error(`${arg}: not a regular file or folder`);
    }
  }
  const seen = new Map<string, string>();
  for (const i of out) {
    const prev = seen.get(i.name);
    if (prev !== undefined) throw new Error(`predict: ${prev} and ${i.file} would both write outputs named ${i.name}; predict them into different --out folders`);
    seen.set(i.name, i.file);
  }
  return out;
}

function stem(file: string): string {
  const b = path.basename(file);
  const e = path.extname(b);
  return e ? b.slice(0, -e.length) : b;
}
