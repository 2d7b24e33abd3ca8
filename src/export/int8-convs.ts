// Which convolutions `--int8` runs as integer QLinearConv, for the runtime the file is for. Integer convs
// pay where the kernels multiply u8·s8 without saturating: in browsers (onnxruntime-web's WASM SIMD
// kernels widen to int16 before they multiply) and on x86 CPUs with VNNI (vpdpbusd). Without VNNI,
// MLAS's AVX2 kernel sums u8·s8 pairs in int16 (vpmaddubsw), which saturates, and it is no faster than the
// fp32 conv, so the convs stay fp32 there unless asked, and then with 7-bit weights that cannot saturate.
import { readCpuinfo, type CpuInfo } from '../torch/blas-core.js';

/** 'auto': by target and CPU (int8ConvChoice); 'int8' / 'fp32' force it. */
export type ConvMode = 'auto' | 'int8' | 'fp32';
export const CONV_MODES: readonly ConvMode[] = ['auto', 'int8', 'fp32'];
/** Where the file will run: onnxruntime-node on this CPU, or onnxruntime-web's WASM in a browser. */
export type Int8Target = 'cpu' | 'wasm';

/** The CPU flags that give u8·s8 dot products into int32 without saturation. */
export const VNNI_FLAGS = ['avx512_vnni', 'avx_vnni', 'amx_int8'] as const;

/** A CPU's VNNI flags (this one's by default, from /proc/cpuinfo; none where it cannot be read). */
export function cpuVnniFlags(cpu: CpuInfo | null = readCpuinfo()): string[] {
  const flags = cpu?.flags ?? new Set<string>();
  return VNNI_FLAGS.filter((f) => flags.has(f));
}

export interface ConvChoice {
  int8: boolean;
  /** Weights in [-63, 63] (Int8Options.reduceRange). */
  reduceRange: boolean;
  /** Why, in a sentence (export's JSON). */
  reason: string;
}

export function int8ConvChoice(o: { mode: ConvMode; target: Int8Target; calibrated: boolean; vnni: readonly string[] }): ConvChoice {
  const fp32 = (reason: string): ConvChoice => ({ int8: false, reduceRange: false, reason });
  if (o.mode === 'fp32') return fp32('asked for (--int8-convs fp32)');
  if (!o.calibrated) {
    if (o.mode === 'int8') throw new Error('--int8-convs int8 needs calibration images (--calibrate DIR): QLinearConv needs the range of every conv input and output');
    return fp32('no calibration images (--calibrate DIR): integer convolutions need the activation ranges');
  }
  if (o.target === 'wasm') return { int8: true, reduceRange: false, reason: "for onnxruntime-web's WASM integer kernels" };
  if (o.vnni.length) return { int8: true, reduceRange: false, reason: `this CPU has ${o.vnni.join(', ')}: integer convolutions in VNNI kernels` };
  if (o.mode === 'int8') return { int8: true, reduceRange: true, reason: 'asked for on a CPU without VNNI: 7-bit weights, so the u8·s8 pair sums cannot saturate' };
  return fp32(`no VNNI (${VNNI_FLAGS.join(', ')}) in this CPU's flags: x86 u8·s8 kernels without it saturate and are not faster than fp32`);
}
