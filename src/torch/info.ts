// What engine is running: versions, where libtorch and BLAS were loaded from, threads.
import { native, addonPath, blasCoreStartup } from './native.js';
import type { BlasCoreMode } from './blas-core.js';
import { loadedLibraries } from '../util/proc.js';

export interface EngineInfo {
  streetseg: string;
  node: string;
  libtorch: { version: string; path: string | null };
  blas: { kind: 'openblas' | 'mkl' | 'reference' | 'unknown'; path: string | null; warning?: string };
  blasCore: BlasCoreInfo;
  threads: number;
  parallel: string;
  cuda: boolean;
  addon: string;
}

/** Which BLAS libtorch actually uses, from the libraries mapped into this process. */
export function detectBlas(libs = loadedLibraries()): EngineInfo['blas'] {
  const blasLibs = libs.filter((p) => /blas|mkl/i.test(p));
  const open = blasLibs.find((p) => /openblas/i.test(p));
  if (open && /pthread/.test(open)) {
    return {
      kind: 'openblas',
      path: open,
      warning:
        "OpenBLAS's pthread build is loaded; libtorch parallelises with OpenMP, so the two thread pools compete. " +
        "Run 'make setup' (or update-alternatives --set libopenblas.so.0-<arch> …/openblas-openmp/libopenblas.so.0).",
    };
  }
  if (open) return { kind: 'openblas', path: open };
  const mkl = blasLibs.find((p) => /mkl/i.test(p));
  if (mkl || native.buildInfo().mklAvailable) return { kind: 'mkl', path: mkl ?? null };
  const ref = blasLibs.find((p) => /libblas\.so/.test(p));
  if (ref) {
    return {
      kind: 'reference',
      path: ref,
      warning:
        'libtorch is using the reference (netlib) BLAS, which is 6-13x slower. Install OpenBLAS: ' +
        'apt-get install libopenblas0-openmp (then update-alternatives points libblas.so.3 at it).',
    };
  }
  return { kind: 'unknown', path: null };
}

export interface BlasCoreInfo {
  /** openblas_get_corename(): the kernels running now ("unknown" for a BLAS other than OpenBLAS). */
  inUse: string;
  /** The best core OpenBLAS 0.3.21 has for this CPU (null: nothing to force). */
  best: string | null;
  /** auto: streetseg set OPENBLAS_CORETYPE; user: the user's OPENBLAS_CORETYPE; keep: STREETSEG_BLAS_CORE=keep. */
  mode: BlasCoreMode;
  coretype: string | null;
  cpu: string;
  /** openblas_get_config(), e.g. "OpenBLAS 0.3.21 … DYNAMIC_ARCH … Cooperlake MAX_THREADS=64". */
  config: string;
  warning?: string;
}

/** Compares the kernels OpenBLAS runs with the CPU's best and says loudly when they differ (pure). */
export function blasCoreInfo(s: typeof blasCoreStartup, probe: { corename: string; config: string }): BlasCoreInfo {
  const r: BlasCoreInfo = { inUse: probe.corename, best: s.best, mode: s.mode, coretype: s.coretype, cpu: s.cpu, config: probe.config };
  const slow = 'GEMM (every linear layer and most convolutions) can be several times slower';
  if (s.missingFlags.length > 0) {
    r.warning = `OPENBLAS_CORETYPE=${s.coretype} needs CPU instructions this CPU lacks (${s.missingFlags.join(', ')}): expect crashes (SIGILL). Unset it.`;
  } else if (probe.corename !== 'unknown' && s.best !== null && probe.corename.toLowerCase() !== s.best.toLowerCase()) {
    const what = `OpenBLAS runs its ${probe.corename} kernels but this CPU's best is ${s.best}: ${slow}.`;
    if (s.mode === 'keep') r.warning = `${what} STREETSEG_BLAS_CORE=keep turned streetseg's fix off; unset it.`;
    else if (s.mode === 'user') r.warning = `${what} OPENBLAS_CORETYPE=${s.coretype} is set in your environment; unset it to let streetseg pick.`;
    else if (s.preloaded) r.warning = `${what} libopenblas was initialised before streetseg loaded it; set OPENBLAS_CORETYPE=${s.best} before starting the process.`;
    else r.warning = `${what} streetseg set OPENBLAS_CORETYPE=${s.coretype} but this OpenBLAS did not take it (${probe.config}).`;
  }
  return r;
}

export function engineInfo(version: string): EngineInfo {
  const libs = loadedLibraries();
  const b = native.buildInfo();
  return {
    streetseg: version,
    node: process.version,
    libtorch: { version: b.torchVersion, path: libs.find((p) => /libtorch_cpu\.so/.test(p)) ?? null },
    blas: detectBlas(libs),
    blasCore: blasCoreInfo(blasCoreStartup, native.blasProbe()),
    threads: native.getNumThreads(),
    parallel: b.parallelInfo.split('\n').filter((l) => /ATen parallel backend|OpenMP|MKL|intra-op/.test(l)).join('; '),
    cuda: b.cudaAvailable,
    addon: addonPath,
  };
}
