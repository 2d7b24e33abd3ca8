// Loads the libtorch addon (build/Release/streetseg_torch.node) and types its surface.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyBlasCore, type BlasCoreDecision } from './blas-core.js';
import { resolveThreads } from './threads.js';
import { loadedLibraries } from '../util/proc.js';

export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export type TypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: DType;
  readonly device: string;
  readonly numel: number;
  readonly dim: number;
  readonly requiresGrad: boolean;
  readonly isDisposed: boolean;
  readonly isLeaf: boolean;
  readonly hasGradFn: boolean;
  readonly nbytes: number;
  setRequiresGrad(v: boolean): NativeTensor;
  grad(): NativeTensor | null;
  setGrad(g: NativeTensor | null): void;
  backward(grad?: NativeTensor | null, retainGraph?: boolean): void;
  detach(): NativeTensor;
  item(): number | boolean | bigint;
  toArray(): TypedArray;
  copyFromArray(a: TypedArray): NativeTensor;
  dispose(): void;
  isContiguous(format?: 'channels_last'): boolean;
  sameStorage(other: NativeTensor): boolean;
}

declare const storeBrand: unique symbol;
declare const groupBrand: unique symbol;
export type NativeStore = { readonly [storeBrand]: true };
export type NativeGroup = { readonly [groupBrand]: true };
export type NativeStoreOptions =
  | { kind: 'tcp'; host: string; port: number; isServer: boolean; worldSize: number; timeoutMs?: number }
  | { kind: 'file'; path: string; worldSize: number; timeoutMs?: number };
export interface NativeGroupOptions {
  backend: 'gloo' | 'nccl';
  rank: number;
  size: number;
  timeoutMs?: number;
  hostname?: string;
  interface?: string;
  prefix?: string;
}

export interface NativeAddon {
  NativeTensor: abstract new (...args: never[]) => NativeTensor;
  fromArray(a: TypedArray, shape: number[], dtype: DType): NativeTensor;
  resolveOp(name: string, overload: string): number;
  opSchema(id: number): string;
  callOp(id: number, args: unknown[], kwargs?: Record<string, unknown>): unknown;
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  enterInferenceMode(): number;
  exitInferenceMode(): number;
  isInferenceMode(): boolean;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number | bigint): void;
  /** The default CPU generator's state (opaque bytes, libtorch-version specific). */
  getRngState(): Uint8Array;
  /** Restores a state from getRngState(); other lengths are a RangeError. */
  setRngState(bytes: Uint8Array): void;
  stats(): { liveTensors: number; externalBytes: number; handles: number };
  allocatorStats(): { caching: boolean; cachedBytes: number; capBytes: number; hits: number; misses: number };
  emptyCache(): void;
  /** openblas_get_corename() / openblas_get_config(), "unknown" when the BLAS is not OpenBLAS. */
  blasProbe(): { corename: string; config: string };
  /** Starts the operator profiler (native/profiler.cc); an error if one is running. */
  profileStart(): void;
  /** Stops it: per operator / autograd node, calls and inclusive / self wall ms, by self time. */
  profileStop(): OpProfileRow[];
  /** c10d (native/distributed.cc); handles are opaque type-tagged externals. See src/torch/distributed.ts. */
  distCreateStore(o: NativeStoreOptions): NativeStore;
  distStoreSet(store: NativeStore, key: string, value: string): void;
  distStoreGet(store: NativeStore, key: string): string;
  distStoreAdd(store: NativeStore, key: string, n: number): number;
  distNewGroup(store: NativeStore, o: NativeGroupOptions): NativeGroup;
  distAllreduce(group: NativeGroup, tensors: NativeTensor[], op: string): void;
  distBroadcast(group: NativeGroup, tensors: NativeTensor[], root: number): void;
  distBarrier(group: NativeGroup): void;
  distDestroy(group: NativeGroup): void;
  distGroupInfo(group: NativeGroup): { backend: string; rank: number; size: number; timeoutMs: number; destroyed: boolean; broken: string | null };
  distBackends(): string[];
  buildInfo(): { torchVersion: string; parallelInfo: string; config: string; cudaAvailable: boolean; mklAvailable: boolean };
}

export interface OpProfileRow {
  name: string;
  calls: number;
  totalMs: number;
  selfMs: number;
}

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** True when streetseg (not the user) set OMP_WAIT_POLICY; benchmarks run the PyTorch peer without it. */
export let ompWaitPolicyInjected = false;

function load(): { addon: NativeAddon; blasCore: BlasCoreStartup } {
  const candidates = [
    process.env.STREETSEG_ADDON,
    path.join(repoRoot, 'build', 'Release', 'streetseg_torch.node'),
    path.join(repoRoot, 'build', 'Debug', 'streetseg_torch.node'),
  ].filter((p): p is string => !!p);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(
      `streetseg: the libtorch addon is not built (looked for ${candidates.join(', ')}). ` +
        "Run 'make setup' (installs libtorch-dev and builds it) or 'npx node-gyp rebuild'.",
    );
  }
  // Before the require: libopenblas picks its kernels in its constructor, which this dlopen runs.
  const decision = applyBlasCore();
  // Idle OpenMP threads sleep rather than spin between parallel regions (libgomp reads this when it
  // loads, with the addon). On a machine with as many cores as OpenMP threads, spinning threads take the
  // CPU from the data loader's thread, which then delays the next region: an epoch of the
  // camvid-scratch recipe on 2 cores ran 9% faster with PASSIVE (docs/benchmarks.md). A user's own
  // OMP_WAIT_POLICY wins.
  if (!process.env.OMP_WAIT_POLICY) {
    process.env.OMP_WAIT_POLICY = 'PASSIVE';
    ompWaitPolicyInjected = true;
  }
  const preloaded = loadedLibraries().some((p) => /openblas/i.test(p));
  const require = createRequire(import.meta.url);
  return { addon: require(found) as NativeAddon, blasCore: { ...decision, preloaded } };
}

export interface BlasCoreStartup extends BlasCoreDecision {
  /** libopenblas was already initialised before the addon loaded: this process's choice came too late. */
  preloaded: boolean;
}

const loaded = load();
export const native: NativeAddon = loaded.addon;
/** How OPENBLAS_CORETYPE was chosen for this process (see blas-core.ts); blasProbe() says what runs. */
export const blasCoreStartup: BlasCoreStartup = loaded.blasCore;

native.setNumThreads(resolveThreads());
export const addonPath = path.join(repoRoot, 'build', 'Release', 'streetseg_torch.node');
