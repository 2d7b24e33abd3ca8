// torch.distributed for streetseg: libtorch's c10d stores and process groups (native/distributed.cc).
//
// Collectives block the JS thread until every rank has taken part (or the timeout passes): a
// data-parallel step cannot go on without its reduced gradients, and the store server and Gloo's I/O
// run on native threads, so nothing needs the event loop meanwhile. A failed collective throws an Error
// with code 'ERR_DIST_PEER' whose message names the lost rank(s), and the group refuses further use.
import * as os from 'node:os';
import { native, type NativeGroup, type NativeStore } from './native.js';
import type { Tensor } from './tensor.js';

export type ReduceOp = 'sum' | 'avg' | 'max' | 'min';
export type Backend = 'gloo' | 'nccl';

/** A c10d key-value store shared by the ranks (rendezvous, and the liveness probe after a failure). */
export class Store {
  private constructor(readonly handle: NativeStore, readonly describe: string) {}

  /** TCPStore: rank 0 hosts the server (`isServer`), every rank connects to host:port within timeoutMs. */
  static tcp(o: { host: string; port: number; isServer: boolean; worldSize: number; timeoutMs?: number }): Store {
    return new Store(native.distCreateStore({ kind: 'tcp', ...o }), `tcp://${o.host}:${o.port}`);
  }

  /** FileStore: a file on a filesystem every rank sees (one machine, or a shared mount). */
  static file(o: { path: string; worldSize: number; timeoutMs?: number }): Store {
    return new Store(native.distCreateStore({ kind: 'file', ...o }), `file://${o.path}`);
  }

  set(key: string, value: string): void {
    native.distStoreSet(this.handle, key, value);
  }

  /** Waits (up to the store's timeout) until the key exists. */
  get(key: string): string {
    return native.distStoreGet(this.handle, key);
  }

  /** Atomic counter: adds n and returns the new value. */
  add(key: string, n: number): number {
    return native.distStoreAdd(this.handle, key, n);
  }
}

export interface GroupOptions {
  rank: number;
  size: number;
  backend?: Backend;
  /** Bounds every collective and the rendezvous (ms); a stalled peer becomes an error after it. */
  timeoutMs?: number;
  /** The address this rank's Gloo device binds to (reachable by the other ranks). */
  hostname?: string;
  /** Or a network interface name (GLOO_SOCKET_IFNAME). */
  interface?: string;
}

export class ProcessGroup {
  readonly rank: number;
  readonly size: number;
  readonly backend: Backend;
  readonly timeoutMs: number;
  private readonly handle: NativeGroup;

  constructor(
    readonly store: Store,
    o: GroupOptions,
  ) {
    this.rank = o.rank;
    this.size = o.size;
    this.backend = o.backend ?? 'gloo';
    this.timeoutMs = o.timeoutMs ?? 300_000;
    const where = o.interface ? { interface: o.interface } : { hostname: o.hostname ?? '127.0.0.1' };
    this.handle = native.distNewGroup(store.handle, { backend: this.backend, rank: o.rank, size: o.size, timeoutMs: this.timeoutMs, ...where });
  }

  /** Reduces each tensor across ranks, in place (contiguous CPU tensors for Gloo). */
  allreduce(tensors: Tensor[], op: ReduceOp = 'sum'): void {
    native.distAllreduce(this.handle, tensors.map((t) => t.native), op);
  }

  /** Every tensor takes root's values, in place. */
  broadcast(tensors: Tensor[], root = 0): void {
    native.distBroadcast(this.handle, tensors.map((t) => t.native), root);
  }

  barrier(): void {
    native.distBarrier(this.handle);
  }

  /** The failure that broke the group, or null. */
  get broken(): string | null {
    return native.distGroupInfo(this.handle).broken;
  }

  /** Frees the group's threads and sockets now (idempotent). */
  destroy(): void {
    native.distDestroy(this.handle);
  }
}

export const availableBackends = (): string[] => native.distBackends();

/**
 * Where this rank's Gloo device listens: GLOO_SOCKET_IFNAME's interface when set (as PyTorch); the
 * master address when it is one of this machine's own addresses (loopback for local runs); otherwise
 * this machine's hostname, which the other hosts must be able to resolve.
 */
export function glooDeviceFor(masterAddr: string, env: NodeJS.ProcessEnv = process.env): { hostname: string } | { interface: string } {
  if (env.GLOO_SOCKET_IFNAME) return { interface: env.GLOO_SOCKET_IFNAME.split(',')[0]! };
  if (masterAddr === 'localhost' || masterAddr.startsWith('127.')) return { hostname: '127.0.0.1' };
  const own = Object.values(os.networkInterfaces())
    .flat()
    .some((a) => a?.address === masterAddr);
  return { hostname: own ? masterAddr : os.hostname() };
}

/** torch.distributed.init_process_group over a TCPStore hosted by rank 0. */
export function initProcessGroup(o: {
  masterAddr: string;
  masterPort: number;
  rank: number;
  worldSize: number;
  timeoutMs?: number;
  /** How long the ranks may take to all arrive (store connection and rendezvous); at least a minute by default. */
  initTimeoutMs?: number;
  backend?: Backend;
}): ProcessGroup {
  // Ranks start at different moments (loading libtorch alone takes seconds on a busy machine): the
  // store's timeout, which bounds the rendezvous, is not the per-collective one.
  const initTimeoutMs = o.initTimeoutMs ?? Math.max(o.timeoutMs ?? 300_000, 60_000);
  const store = Store.tcp({ host: o.masterAddr, port: o.masterPort, isServer: o.rank === 0, worldSize: o.worldSize, timeoutMs: initTimeoutMs });
  return new ProcessGroup(store, { rank: o.rank, size: o.worldSize, backend: o.backend, timeoutMs: o.timeoutMs, ...glooDeviceFor(o.masterAddr) });
}
