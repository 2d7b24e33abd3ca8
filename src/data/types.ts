// The data layer's contract. Everything here is plain data (structured-clone safe), so a dataset can be
// described on the main thread and decoded in worker threads.

export type RGB = [number, number, number];

export interface ClassInfo {
  names: string[];
  palette: RGB[]; // one colour per class id, for visualisation and colour labels
  ignoreIndex: number; // label value excluded from loss and metrics (255 by convention)
}

/** One frame on disk: absolute paths of the image and its label. */
export interface SampleRef {
  id: string;
  image: string;
  label: string;
}

/** How a label file becomes class ids. */
export type LabelDecoding =
  // 8-bit index PNG (grayscale, or palette PNG read as raw indices); optional 256-entry remap (e.g. void 11 -> 255).
  // After the remap every value must be a class id or ignoreIndex; `unknown` says what other values do
  // (default 'error'; 'ignore' maps them to ignoreIndex and counts them in DecodedSample.unknownPixels).
  | { kind: 'index'; lut?: number[]; unknown?: 'error' | 'ignore' }
  | { kind: 'color'; colors: RGB[]; ids: number[]; unknown: 'error' | 'ignore' }; // colour PNG -> ids

export interface DatasetSpec {
  format: 'camseq01' | 'camvid' | 'folder';
  root: string;
  classes: ClassInfo;
  samples: SampleRef[];
  label: LabelDecoding;
}

/** A decoded frame: RGB HWC image and HW class ids (ignoreIndex where ignored). */
export interface DecodedSample {
  id: string;
  width: number;
  height: number;
  image: Uint8Array; // length height*width*3
  label: Uint8Array; // length height*width
  /** Pixels whose colour / id was unknown and mapped to ignoreIndex (only with unknown: 'ignore'; else 0). */
  unknownPixels?: number;
}
