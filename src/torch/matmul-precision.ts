// Which matmul precision a run gets on this CPU ('auto'): bfloat16 inputs only where the hardware has bfloat16
// dot products. libtorch 1.13 sends a bfloat16 mm/bmm/linear to oneDNN only when the CPU has AVX-512 BW, VL
// and DQ (its mkldnn_bf16_device_check), else to ATen's own bfloat16 GEMM, which is not vectorised; and
// oneDNN is fast at it only with AVX512-BF16 or AMX-BF16 dot products (elsewhere it converts to float32).
import { readCpuinfo, type CpuInfo } from './blas-core.js';
import type { MatmulPrecision } from './modes.js';

export type MatmulPrecisionSetting = MatmulPrecision | 'auto';

const ONEDNN_BF16 = ['avx512bw', 'avx512vl', 'avx512dq'];
const BF16_DOT = ['avx512_bf16', 'amx_bf16'];

export interface MatmulPrecisionChoice {
  precision: MatmulPrecision;
  /** why, in words, for the run's log */
  reason: string;
}

export function chooseMatmulPrecision(setting: MatmulPrecisionSetting, cpu: CpuInfo | null = readCpuinfo()): MatmulPrecisionChoice {
  const flags = cpu?.flags ?? new Set<string>();
  const dot = BF16_DOT.filter((f) => flags.has(f));
  const missing = ONEDNN_BF16.filter((f) => !flags.has(f));
  const fast = missing.length === 0 && dot.length > 0;
  if (setting === 'highest') return { precision: 'highest', reason: 'float32 (matmulPrecision highest)' };
  if (setting === 'bf16') {
    return { precision: 'bf16', reason: fast ? `bfloat16 inputs (matmulPrecision bf16; the CPU has ${dot.join(', ')})` : `bfloat16 inputs as asked (matmulPrecision bf16), but this CPU lacks ${[...missing, ...(dot.length ? [] : ['avx512_bf16 or amx_bf16'])].join(', ')}: expect matrix products slower than float32` };
  }
  if (fast) return { precision: 'bf16', reason: `bfloat16 inputs (matmulPrecision auto: the CPU has ${dot.join(', ')})` };
  return { precision: 'highest', reason: `float32 (matmulPrecision auto: no ${missing.length ? missing.join(', ') : 'avx512_bf16 or amx_bf16'} on this CPU, so bfloat16 products would not be faster)` };
}
