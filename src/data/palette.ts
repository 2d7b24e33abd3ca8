// CamVid colour palettes: the 32-class `label_colors.txt` ("R G B<TAB>Name"), the 11-class grouping file
// `label_colors11.txt` ("R G B <spaces> Group", 12 groups with Void), and the colour -> class-id lookup
// used to decode colour labels (a 2^24-entry table indexed by the 24-bit colour key).
import type { ClassInfo, LabelDecoding, RGB } from './types.js';

export const IGNORE_INDEX = 255;

export interface PaletteEntry {
  color: RGB;
  name: string;
}

/** 24-bit key of a colour: r<<16 | g<<8 | b. */
export function colorKey(r: number, g: number, b: number): number {
  return (r << 16) | (g << 8) | b;
}

export function formatColor(c: readonly number[]): string {
  return `(${c[0]},${c[1]},${c[2]})`;
}

/**
 * Parses "R G B<whitespace>Name" lines (label_colors.txt, label_colors11.txt, or a folder dataset's palette
 * file). Any run of spaces/tabs separates the fields; names may contain spaces. Blank lines and lines
 * starting with '#' are skipped. `file` is used in error messages.
 */
export function parsePaletteText(text: string, file: string): PaletteEntry[] {
  const out: PaletteEntry[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(\d+)[ \t,]+(\d+)[ \t,]+(\d+)[ \t]+(\S.*)$/.exec(line);
    if (!m) throw new Error(`${file}:${i + 1}: expected "R G B Name", got "${line}"`);
    const color = [Number(m[1]), Number(m[2]), Number(m[3])] as RGB;
    if (color.some((v) => v > 255)) throw new Error(`${file}:${i + 1}: colour component above 255 in "${line}"`);
    out.push({ color, name: m[4]!.trim() });
  });
  if (out.length === 0) throw new Error(`${file}: no palette entries`);
  return out;
}

/** The 32 CamVid classes as in the original `label_colors.txt` (used when a CamSeq01 folder lacks the file). */
export const CAMVID32: readonly PaletteEntry[] = [
  [64, 128, 64, 'Animal'], [192, 0, 128, 'Archway'], [0, 128, 192, 'Bicyclist'], [0, 128, 64, 'Bridge'],
  [128, 0, 0, 'Building'], [64, 0, 128, 'Car'], [64, 0, 192, 'CartLuggagePram'], [192, 128, 64, 'Child'],
  [192, 192, 128, 'Column_Pole'], [64, 64, 128, 'Fence'], [128, 0, 192, 'LaneMkgsDriv'], [192, 0, 64, 'LaneMkgsNonDriv'],
  [128, 128, 64, 'Misc_Text'], [192, 0, 192, 'MotorcycleScooter'], [128, 64, 64, 'OtherMoving'], [64, 192, 128, 'ParkingBlock'],
  [64, 64, 0, 'Pedestrian'], [128, 64, 128, 'Road'], [128, 128, 192, 'RoadShoulder'], [0, 0, 192, 'Sidewalk'],
  [192, 128, 128, 'SignSymbol'], [128, 128, 128, 'Sky'], [64, 128, 192, 'SUVPickupTruck'], [0, 0, 64, 'TrafficCone'],
  [0, 64, 64, 'TrafficLight'], [192, 64, 128, 'Train'], [128, 128, 0, 'Tree'], [192, 128, 192, 'Truck_Bus'],
  [64, 0, 64, 'Tunnel'], [192, 192, 0, 'VegetationMisc'], [0, 0, 0, 'Void'], [64, 192, 0, 'Wall'],
].map(([r, g, b, name]) => ({ color: [r, g, b] as RGB, name: name as string }));

/** The 32 -> 12 grouping of `label_colors11.txt` (CamVid 32-class name -> group), in that file's order. */
export const CAMVID11_GROUPING: readonly PaletteEntry[] = [
  ['Sky', 'Sky'], ['Bridge', 'Building'], ['Building', 'Building'], ['Wall', 'Building'], ['Tunnel', 'Building'],
  ['Archway', 'Building'], ['Column_Pole', 'Pole'], ['TrafficCone', 'Pole'], ['Road', 'Road'], ['LaneMkgsDriv', 'Road'],
  ['LaneMkgsNonDriv', 'Road'], ['Sidewalk', 'Sidewalk'], ['ParkingBlock', 'Sidewalk'], ['RoadShoulder', 'Sidewalk'],
  ['Tree', 'Tree'], ['VegetationMisc', 'Tree'], ['SignSymbol', 'SignSymbol'], ['Misc_Text', 'SignSymbol'],
  ['TrafficLight', 'SignSymbol'], ['Fence', 'Fence'], ['Car', 'Car'], ['SUVPickupTruck', 'Car'], ['Truck_Bus', 'Car'],
  ['Train', 'Car'], ['OtherMoving', 'Car'], ['Pedestrian', 'Pedestrian'], ['Child', 'Pedestrian'],
  ['CartLuggagePram', 'Pedestrian'], ['Animal', 'Pedestrian'], ['Bicyclist', 'Bicyclist'], ['MotorcycleScooter', 'Bicyclist'],
  ['Void', 'Void'],
].map(([cls, group]) => ({ color: CAMVID32.find((e) => e.name === cls)!.color, name: group! }));

/**
 * The 11 CamVid benchmark classes (SegNet order, ids 0..10) plus Void (11), with the 32-class palette
 * colour each one is painted with in CamVid colour labels (camvid/classes.tsv, 4th column).
 */
export const CAMVID11: readonly PaletteEntry[] = [
  [128, 128, 128, 'Sky'], [128, 0, 0, 'Building'], [192, 192, 128, 'Pole'], [128, 64, 128, 'Road'],
  [0, 0, 192, 'Pavement'], [128, 128, 0, 'Tree'], [192, 128, 128, 'SignSymbol'], [64, 64, 128, 'Fence'],
  [64, 0, 128, 'Car'], [64, 64, 0, 'Pedestrian'], [0, 128, 192, 'Bicyclist'], [0, 0, 0, 'Void'],
].map(([r, g, b, name]) => ({ color: [r, g, b] as RGB, name: name as string }));

/** Whether a class name means "unlabelled / void". */
export function isVoidName(name: string): boolean {
  return /^(void|unlabell?ed|unknown)$/i.test(name.replace(/[\s(].*$/, ''));
}

export type VoidMode = 'class' | 'ignore';

/** Result of applying a class list + void policy: the classes and the colour decoding. */
export interface ColorClasses {
  classes: ClassInfo;
  label: Extract<LabelDecoding, { kind: 'color' }>;
}

/**
 * Classes straight from a palette (one class per colour, e.g. the 32 CamVid classes). With void 'ignore'
 * the void entry is removed from the class list and its colour decodes to the ignore index.
 */
export function paletteClasses(
  entries: readonly PaletteEntry[],
  file: string,
  voidMode: VoidMode,
  unknown: 'error' | 'ignore',
  ignoreIndex = IGNORE_INDEX,
): ColorClasses {
  return groupedClasses(entries, entries, file, voidMode, unknown, ignoreIndex);
}

/**
 * Classes from a palette plus a grouping (colour -> group name). Groups are numbered in order of first
 * appearance in the grouping, with a void group moved to the end (so the CamVid grouping yields the SegNet
 * order with Void = 11). A group's display colour is that of the palette entry with the same name if any
 * (Building -> 128,0,0), else its first colour. Every grouping colour becomes decodable; palette colours the
 * grouping does not mention stay unknown (so they raise or are ignored per `unknown`).
 */
export function groupedClasses(
  palette: readonly PaletteEntry[],
  grouping: readonly PaletteEntry[],
  file: string,
  voidMode: VoidMode,
  unknown: 'error' | 'ignore',
  ignoreIndex = IGNORE_INDEX,
): ColorClasses {
  const seen = new Map<number, string>();
  for (const e of grouping) {
    const k = colorKey(...e.color);
    const prev = seen.get(k);
    if (prev !== undefined && prev !== e.name) {
      throw new Error(`${file}: colour ${formatColor(e.color)} is assigned to both "${prev}" and "${e.name}"`);
    }
    seen.set(k, e.name);
  }
  const order: string[] = [];
  for (const e of grouping) if (!order.includes(e.name)) order.push(e.name);
  const voids = order.filter(isVoidName);
  const groups = [...order.filter((g) => !isVoidName(g)), ...(voidMode === 'class' ? voids : [])];
  if (groups.length === 0) throw new Error(`${file}: no classes left after removing void`);
  if (groups.length > 255 || (groups.length > ignoreIndex && ignoreIndex >= 0)) {
    throw new Error(`${file}: ${groups.length} classes do not fit below the ignore index ${ignoreIndex}`);
  }
  const palByName = new Map(palette.map((e) => [e.name, e.color] as const));
  const paletteOut: RGB[] = groups.map((g) => {
    const c = palByName.get(g) ?? grouping.find((e) => e.name === g)!.color;
    return [c[0], c[1], c[2]];
  });
  const colors: RGB[] = [];
  const ids: number[] = [];
  for (const [k, name] of seen) {
    colors.push([(k >> 16) & 255, (k >> 8) & 255, k & 255]);
    const id = groups.indexOf(name);
    ids.push(id >= 0 ? id : ignoreIndex);
  }
  return {
    classes: { names: groups, palette: paletteOut, ignoreIndex },
    label: { kind: 'color', colors, ids, unknown },
  };
}

/**
 * A 2^24-entry lookup from 24-bit colour key to (slot + 1), 0 = unknown colour, with `slotIds[slot]` the
 * class id (or ignore index). 16 MiB, built once per decoding and cached (per thread).
 */
export interface ColorLut {
  table: Uint8Array;
  slotIds: Uint8Array;
}

const lutCache = new Map<string, ColorLut>();

export function colorLut(colors: readonly RGB[], ids: readonly number[]): ColorLut {
  if (colors.length !== ids.length) throw new Error(`colour decoding: ${colors.length} colours but ${ids.length} ids`);
  if (colors.length > 255) throw new Error(`colour decoding: at most 255 colours are supported, got ${colors.length}`);
  const key = colors.map((c, i) => `${colorKey(c[0], c[1], c[2])}:${ids[i]}`).join(',');
  let lut = lutCache.get(key);
  if (lut) return lut;
  const table = new Uint8Array(1 << 24);
  const slotIds = new Uint8Array(colors.length);
  colors.forEach((c, i) => {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id > 255) throw new Error(`colour decoding: id ${id} for ${formatColor(c)} is not a byte`);
    table[colorKey(c[0], c[1], c[2])] = i + 1;
    slotIds[i] = id;
  });
  lut = { table, slotIds };
  if (lutCache.size >= 4) lutCache.delete(lutCache.keys().next().value!);
  lutCache.set(key, lut);
  return lut;
}

/** Distinct, deterministic colours for classes that have none (the PASCAL VOC bit-interleaved colormap). */
export function defaultPalette(n: number): RGB[] {
  const out: RGB[] = [];
  for (let i = 0; i < n; i++) {
    let r = 0, g = 0, b = 0, c = i;
    for (let j = 0; j < 8; j++) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    out.push([r, g, b]);
  }
  return out;
}

/**
 * RGB (HWC) picture of a class-id map: id c is painted palette[c], the ignore index ignoreColor. Any other
 * value is an error naming `what` (e.g. the sample) and the offending pixel, so a bad map is never drawn wrong.
 */
export function colorizeLabel(
  ids: Uint8Array,
  palette: readonly (readonly number[])[],
  ignoreIndex: number = IGNORE_INDEX,
  ignoreColor: readonly number[] = [0, 0, 0],
  what = 'label',
): Uint8Array {
  // 256-entry lookup (3 bytes per id) plus a validity mask: one table read per pixel.
  const lut = new Uint8Array(256 * 3);
  const valid = new Uint8Array(256);
  const n = Math.min(palette.length, 256);
  for (let c = 0; c < n; c++) {
    lut.set([palette[c]![0]!, palette[c]![1]!, palette[c]![2]!], c * 3);
    valid[c] = 1;
  }
  if (ignoreIndex >= 0 && ignoreIndex < 256) {
    lut.set([ignoreColor[0]!, ignoreColor[1]!, ignoreColor[2]!], ignoreIndex * 3);
    valid[ignoreIndex] = 1;
  }
  const out = new Uint8Array(ids.length * 3);
  for (let p = 0; p < ids.length; p++) {
    const v = ids[p]!;
    if (!valid[v]) {
      throw new Error(`${what}: value ${v} at pixel ${p} is neither a class id (0..${palette.length - 1}) nor the ignore index ${ignoreIndex}`);
    }
    out[p * 3] = lut[v * 3]!;
    out[p * 3 + 1] = lut[v * 3 + 1]!;
    out[p * 3 + 2] = lut[v * 3 + 2]!;
  }
  return out;
}
