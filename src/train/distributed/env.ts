// The torchrun environment of one data-parallel worker: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE,
// LOCAL_RANK. `streetseg train --nproc N` sets them for its local workers; on many machines each host
// runs the same command with its own values (docs/distributed.md).
export interface DistEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  masterAddr: string;
  masterPort: number;
  /** processes on this host (torchrun's LOCAL_WORLD_SIZE), when given: they share its cores */
  localWorldSize: number | null;
}

export class DistEnvError extends Error {
  override name = 'DistEnvError';
}

const VARS = ['MASTER_ADDR', 'MASTER_PORT', 'RANK', 'WORLD_SIZE', 'LOCAL_RANK'] as const;

function intVar(env: NodeJS.ProcessEnv, name: string, lo: number, hi: number, what: string): number {
  const raw = env[name]!;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < lo || n > hi) throw new DistEnvError(`${name}=${JSON.stringify(raw)}: expected ${what}`);
  return n;
}

/**
 * The worker's place in the group, or null when none of the variables is set (a single process).
 * RANK and WORLD_SIZE need MASTER_ADDR and MASTER_PORT; LOCAL_RANK defaults to RANK (one host).
 */
export function readDistEnv(env: NodeJS.ProcessEnv = process.env): DistEnv | null {
  const set = VARS.filter((v) => env[v] !== undefined);
  if (set.length === 0 || (set.length === 1 && set[0] === 'LOCAL_RANK')) return null;
  const missing = (['MASTER_ADDR', 'MASTER_PORT', 'RANK', 'WORLD_SIZE'] as const).filter((v) => env[v] === undefined || env[v] === '');
  if (missing.length) {
    throw new DistEnvError(`distributed training: ${set.join(', ')} set but ${missing.join(', ')} missing (torchrun style: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK)`);
  }
  const worldSize = intVar(env, 'WORLD_SIZE', 1, 1 << 20, 'an integer >= 1');
  const rank = intVar(env, 'RANK', 0, worldSize - 1, `an integer in [0, WORLD_SIZE=${worldSize})`);
  const masterPort = intVar(env, 'MASTER_PORT', 1, 65535, 'a TCP port in [1, 65535]');
  const localRank = env.LOCAL_RANK === undefined ? rank : intVar(env, 'LOCAL_RANK', 0, worldSize - 1, `an integer in [0, WORLD_SIZE=${worldSize})`);
  const masterAddr = env.MASTER_ADDR!.trim();
  if (/\s/.test(masterAddr)) throw new DistEnvError(`MASTER_ADDR=${JSON.stringify(env.MASTER_ADDR)}: expected a host name or address`);
  const localWorldSize = env.LOCAL_WORLD_SIZE === undefined ? null : intVar(env, 'LOCAL_WORLD_SIZE', 1, worldSize, `an integer in [1, WORLD_SIZE=${worldSize}]`);
  return { rank, worldSize, localRank, masterAddr, masterPort, localWorldSize };
}
