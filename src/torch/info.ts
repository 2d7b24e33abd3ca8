// What engine is running: versions, where libtorch and BLAS were loaded from, threads.
import * as fs from 'node:fs';
import { native, addonPath } from './native.js';

export interface EngineInfo {
  streetseg: string;
  node: string;
  libtorch: { version: string; path: string | null };
  blas: { kind: 'openblas' | 'mkl' | 'reference' | 'unknown'; path: string | null; warning?: string };
  threads: number;
  parallel: string;
  cuda: boolean;
  addon: string;
}

function loadedLibraries(): string[] {
  try {
    const maps = fs.readFileSync('/proc/self/maps', 'utf8');
    return [...new Set(maps.split('\n').map((l) => l.trim().split(/\s+/)[5]).filter((p): p is string => !!p && p.startsWith('/')))];
  } catch {
    return [];
  }
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

export function engineInfo(version: string): EngineInfo {
  const libs = loadedLibraries();
  const b = native.buildInfo();
  return {
    streetseg: version,
    node: process.version,
    libtorch: { version: b.torchVersion, path: libs.find((p) => /libtorch_cpu\.so/.test(p)) ?? null },
    blas: detectBlas(libs),
    threads: native.getNumThreads(),
    parallel: b.parallelInfo.split('\n').filter((l) => /ATen parallel backend|OpenMP|MKL|intra-op/.test(l)).join('; '),
    cuda: b.cudaAvailable,
    addon: addonPath,
  };
}
