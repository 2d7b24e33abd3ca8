// Colours for a model's classes, and the overlay blend.
//
// Palette 'auto' looks each label up by name (case and punctuation ignored) in the CamVid palettes of
// src/data/palette.ts: the 11 benchmark classes + Void (CamVid's own names: Pavement, Pole…), the 32
// original classes, and the CamSeq01 12-group names (Sidewalk…), which is how a CamVid or CamSeq01
// model's id2label maps to the colours its dataset paints. A label with no such name gets the first
// colour of the PASCAL VOC colormap (defaultPalette) that no other class uses, in id order, so the
// fallback is deterministic and never repeats a colour. An explicit palette (camvid, camvid32, or a
// "R G B Name" file) is taken by id and must have exactly one colour per label.
import * as fs from 'node:fs';
import { CAMVID11, CAMVID11_GROUPING, CAMVID32, colorKey, defaultPalette, parsePaletteText } from '../data/palette.js';
import type { RGB } from '../data/types.js';

const norm = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Name → colour of every CamVid / CamSeq01 class name (CamVid 11 first, so its colours win). */
function namedColors(): Map<string, RGB> {
  const m = new Map<string, RGB>();
  for (const e of [...CAMVID11, ...CAMVID32, ...CAMVID11_GROUPING]) if (!m.has(norm(e.name))) m.set(norm(e.name), e.color);
  return m;
}

export interface LabelPalette {
  colors: RGB[];
  /** Labels that got a fallback colour (for the log). */
  fallback: string[];
}

/**
 * One colour per label. `spec`: 'auto' (by name, fallback colours), 'camvid' (the 11 classes, + Void as
 * the 12th), 'camvid32', or a palette file. A count mismatch is an error naming both counts.
 */
export function labelPalette(labels: readonly string[], spec = 'auto'): LabelPalette {
  if (spec === 'auto') {
    const named = namedColors();
    const colors: (RGB | null)[] = labels.map((l) => named.get(norm(l)) ?? null);
    const used = new Set(colors.filter((c): c is RGB => c !== null).map((c) => colorKey(...c)));
    const fallback: string[] = [];
    // enough VOC colours that, after skipping the used ones, every unnamed label gets one
    const voc = defaultPalette(Math.min(256, labels.length + used.size + 1));
    let next = 0;
    const out = colors.map((c, i) => {
      if (c) return c;
      fallback.push(labels[i]!);
      while (next < voc.length && used.has(colorKey(...voc[next]!))) next++;
      const v = voc[next++] ?? ([(i * 67) & 255, (i * 131) & 255, (i * 197) & 255] as RGB);
      used.add(colorKey(...v));
      return v;
    });
    return { colors: out, fallback };
  }
  let entries: readonly { color: RGB; name: string }[];
  let what: string;
  if (spec === 'camvid') {
    // without Void (void ignored in training) the model has the 11 benchmark classes
    entries = labels.length === 11 ? CAMVID11.slice(0, 11) : CAMVID11;
    what = 'the CamVid palette (11 classes, or 12 with Void)';
  } else if (spec === 'camvid32') {
    entries = CAMVID32;
    what = 'the CamVid 32-class palette';
  } else {
    let text: string;
    try {
      text = fs.readFileSync(spec, 'utf8');
    } catch (e) {
      throw new Error(`${spec}: cannot read the palette file (expected auto, camvid, camvid32 or a file of "R G B Name" lines): ${(e as Error).message}`);
    }
    entries = parsePaletteText(text, spec);
    what = `palette file ${spec}`;
  }
  if (entries.length !== labels.length) {
    throw new Error(`${what} has ${entries.length} colours but the model predicts ${labels.length} classes (${labels.join(', ')}); use --palette auto or a palette with one colour per class`);
  }
  return { colors: entries.map((e) => [e.color[0], e.color[1], e.color[2]] as RGB), fallback: [] };
}

/**
 * The overlay: round((1 − alpha)·image + alpha·mask) per channel (alpha = the mask's weight), HWC RGB.
 */
export function blendOverlay(image: Uint8Array, mask: Uint8Array, alpha: number): Uint8Array {
  if (image.length !== mask.length) throw new RangeError(`blendOverlay: image has ${image.length} values, mask ${mask.length}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`blendOverlay: alpha ${alpha} is not in [0, 1]`);
  const out = new Uint8Array(image.length);
  const a = alpha;
  const b = 1 - alpha;
  for (let i = 0; i < image.length; i++) out[i] = Math.round(b * image[i]! + a * mask[i]!);
  return out;
}
