// Picks OpenBLAS's best GEMM kernels for this CPU before libopenblas initialises.
//
// Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) chooses its kernels from CPUID family/model tables; a CPU
// newer than the release (e.g. Intel family 6 model 207, Emerald Rapids) matches no entry and lands
// on the SSE3 "Prescott" kernels, 4-5x slower for GEMM (OpenBLAS fixed the fallback later:
// OpenMathLib/OpenBLAS#3485, #4268). libopenblas reads OPENBLAS_CORETYPE in its constructor, which
// runs when the addon is dlopen'ed, so native.ts calls applyBlasCore() just before loading it.
// The choice goes by instruction-set flags only, so it can never name kernels the CPU cannot run.
import * as fs from 'node:fs';

/** The x86-64 cores of OpenBLAS 0.3.21 worth forcing, best first (names as its corename[] spells them). */
export const BLAS_CORES = ['Cooperlake', 'SkylakeX', 'Zen', 'Haswell', 'Sandybridge'] as const;
export type BlasCore = (typeof BLAS_CORES)[number];

const SSE = ['sse', 'sse2', 'pni', 'ssse3', 'sse4_1', 'sse4_2'];
const AVX2 = [...SSE, 'avx', 'avx2', 'fma'];
const AVX512 = [...AVX2, 'avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'];

/** /proc/cpuinfo flags each core's kernels execute (cumulative), and the vendors it is meant for. */
export const CORE_REQUIREMENTS: Record<BlasCore, { flags: readonly string[]; vendors?: readonly string[] }> = {
  Cooperlake: { flags: [...AVX512, 'avx512_bf16'] },
  SkylakeX: { flags: AVX512 },
  // OpenBLAS itself gives AMD and Hygon Zen-family parts without AVX-512 the Zen kernels.
  Zen: { flags: AVX2, vendors: ['AuthenticAMD', 'HygonGenuine'] },
  Haswell: { flags: AVX2 },
  Sandybridge: { flags: [...SSE, 'avx'] },
};

export interface CpuInfo {
  /** vendor_id, e.g. GenuineIntel, AuthenticAMD; null on non-x86 (ARM reports "CPU implementer"). */
  vendor: string | null;
  family: number | null;
  model: number | null;
  modelName: string | null;
  /** Flags every listed processor has (the intersection: a thread may run on any of them). */
  flags: ReadonlySet<string>;
}

/** Parses /proc/cpuinfo text. x86 lists `flags`; ARM lists `Features`, which no x86 core needs. */
export function parseCpuinfo(text: string): CpuInfo {
  const blocks = text.split(/\n\s*\n/).filter((b) => /\S/.test(b));
  let flags = null as Set<string> | null;
  const first: Record<string, string> = {};
  for (const block of blocks) {
    const fields: Record<string, string> = {};
    for (const line of block.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) fields[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    if (fields.flags === undefined) continue;
    if (Object.keys(first).length === 0) Object.assign(first, fields);
    const f = new Set(fields.flags.split(/\s+/).filter(Boolean));
    flags = flags === null ? f : new Set([...flags].filter((x) => f.has(x)));
  }
  const num = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : null);
  return {
    vendor: first.vendor_id ?? null,
    family: num(first['cpu family']),
    model: num(first.model),
    modelName: first['model name'] ?? null,
    flags: flags ?? new Set(),
  };
}

/** The flags `core` needs that `cpu` lacks (empty: the core can run here). */
export function missingFlags(core: BlasCore, cpu: CpuInfo): string[] {
  return CORE_REQUIREMENTS[core].flags.filter((f) => !cpu.flags.has(f));
}

/** Whether OpenBLAS's `core` kernels can run on `cpu` and are meant for its vendor. */
export function coreFits(core: BlasCore, cpu: CpuInfo): boolean {
  const vendors = CORE_REQUIREMENTS[core].vendors;
  return missingFlags(core, cpu).length === 0 && (!vendors || (cpu.vendor !== null && vendors.includes(cpu.vendor)));
}

/** The best OpenBLAS core for `cpu`, or null to leave OpenBLAS's own choice alone (no AVX, non-x86). */
export function bestBlasCore(cpu: CpuInfo): BlasCore | null {
  return BLAS_CORES.find((c) => coreFits(c, cpu)) ?? null;
}

/** OpenBLAS's name for one of our cores, case-insensitively (it compares with strncasecmp). */
export function knownBlasCore(name: string): BlasCore | null {
  return BLAS_CORES.find((c) => c.toLowerCase() === name.trim().toLowerCase()) ?? null;
}

export type BlasCoreMode = 'auto' | 'user' | 'keep';

export interface BlasCoreDecision {
  /** auto: streetseg sets OPENBLAS_CORETYPE (unless best is null); user: the user's own value; keep: OpenBLAS detects by itself. */
  mode: BlasCoreMode;
  /** The CPU's best core (null: none to force, e.g. an SSE-only or ARM machine). */
  best: BlasCore | null;
  /** OPENBLAS_CORETYPE as libopenblas will see it (null: unset, OpenBLAS detects). */
  coretype: string | null;
  /** Flags the CPU lacks for `coretype` (only a user's value can have any: auto never picks such a core). */
  missingFlags: string[];
  /** One line for `streetseg info`. */
  cpu: string;
}

/**
 * What OPENBLAS_CORETYPE should be, given the environment and the CPU (pure; applyBlasCore acts on it).
 * The user's OPENBLAS_CORETYPE always wins; STREETSEG_BLAS_CORE=keep turns the fix off.
 */
export function decideBlasCore(env: Readonly<Record<string, string | undefined>>, cpu: CpuInfo | null): BlasCoreDecision {
  const setting = (env.STREETSEG_BLAS_CORE ?? '').trim().toLowerCase();
  if (setting !== '' && setting !== 'auto' && setting !== 'keep') {
    throw new Error(`STREETSEG_BLAS_CORE=${JSON.stringify(env.STREETSEG_BLAS_CORE)}: expected 'auto' (the default) or 'keep'`);
  }
  const best = cpu ? bestBlasCore(cpu) : null;
  const cpuLine = cpu
    ? `${cpu.modelName ?? cpu.vendor ?? 'unknown CPU'}${cpu.vendor ? ` (${cpu.vendor} family ${cpu.family ?? '?'} model ${cpu.model ?? '?'})` : ''}`
    : '/proc/cpuinfo unreadable';
  const user = env.OPENBLAS_CORETYPE;
  if (user !== undefined && user !== '') {
    const known = knownBlasCore(user);
    return { mode: 'user', best, coretype: user, missingFlags: known && cpu ? missingFlags(known, cpu) : [], cpu: cpuLine };
  }
  if (setting === 'keep') return { mode: 'keep', best, coretype: null, missingFlags: [], cpu: cpuLine };
  // Nothing to force (no AVX, not x86): auto leaves OPENBLAS_CORETYPE unset.
  return { mode: 'auto', best, coretype: best, missingFlags: [], cpu: cpuLine };
}

/** /proc/cpuinfo parsed, or null where there is none (not Linux). */
export function readCpuinfo(file = '/proc/cpuinfo'): CpuInfo | null {
  try {
    return parseCpuinfo(fs.readFileSync(file, 'utf8'));
  } catch {
    return null; // not Linux: nothing to read, nothing to force
  }
}

let applied: BlasCoreDecision | null = null;

/**
 * Decides once per process and sets process.env.OPENBLAS_CORETYPE in auto mode (Node calls setenv,
 * so libopenblas's constructor and every child process see it). Later calls return the first decision.
 */
export function applyBlasCore(env: NodeJS.ProcessEnv = process.env, cpuinfoFile = '/proc/cpuinfo'): BlasCoreDecision {
  if (applied) return applied;
  const d = decideBlasCore(env, readCpuinfo(cpuinfoFile));
  if (d.mode === 'auto' && d.coretype) env.OPENBLAS_CORETYPE = d.coretype;
  applied = d;
  return d;
}

/** The environment for a child process that should run the same BLAS kernels as this one (Python references). */
export function blasChildEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const d = applyBlasCore();
  return d.coretype ? { ...base, OPENBLAS_CORETYPE: d.coretype } : { ...base };
}
