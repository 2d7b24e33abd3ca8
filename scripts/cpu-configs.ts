// The CPU-kernel configurations the tolerance sweeps run under (scripts/float32-noise.ts,
// scripts/tolerance-sweep.ts): the kernels other x86-64 machines get. OpenBLAS reads OPENBLAS_CORETYPE
// (src/torch/blas-core.ts: a user's value wins over streetseg's choice), oneDNN ONEDNN_MAX_CPU_ISA and
// ATen ATEN_CPU_CAPABILITY, all when libtorch loads, so each configuration needs its own process. The
// *-cpu ones cap oneDNN's and ATen's instruction set as an AVX2-only part (e.g. Zen 3) or a pre-AVX one
// would have it; the others change the GEMM kernels or the thread count only.
export const CONFIGS: Record<string, Record<string, string>> = {
  // '' leaves the choice to streetseg (the best core for this CPU)
  'openblas-auto': { OPENBLAS_CORETYPE: '' },
  'openblas-haswell': { OPENBLAS_CORETYPE: 'Haswell' },
  'openblas-sandybridge': { OPENBLAS_CORETYPE: 'Sandybridge' },
  'openblas-nehalem': { OPENBLAS_CORETYPE: 'Nehalem' },
  'threads-1': { OPENBLAS_CORETYPE: 'Haswell', STREETSEG_THREADS: '1' },
  'avx2-cpu': { OPENBLAS_CORETYPE: 'Zen', ONEDNN_MAX_CPU_ISA: 'AVX2', ATEN_CPU_CAPABILITY: 'avx2' },
  'avx2-cpu-threads-1': { OPENBLAS_CORETYPE: 'Haswell', ONEDNN_MAX_CPU_ISA: 'AVX2', ATEN_CPU_CAPABILITY: 'avx2', STREETSEG_THREADS: '1' },
  'sse4-cpu': { OPENBLAS_CORETYPE: 'Nehalem', ONEDNN_MAX_CPU_ISA: 'SSE41', ATEN_CPU_CAPABILITY: 'default' },
};
