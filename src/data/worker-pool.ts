// Where the DataLoader's batch jobs run: a fixed pool of worker threads (loader-worker.ts is their entry
// point) with crash recovery, or the calling thread. Each job is one batch; results come back by transfer.
import { Worker } from 'node:worker_threads';
import { createBatchProcessor, WORKER_MARK, type BatchJob, type BatchOutput, type FromWorker, type ToWorker, type WorkerConfig } from './loader-worker.js';

/** Where the loader's batch jobs run: a WorkerPool, or the calling thread (InlineRunner). */
export type Runner = {
  run(job: BatchJob): Promise<BatchOutput>;
  close(): Promise<void>;
};

interface Pending {
  id: number;
  job: BatchJob;
  resolve: (o: BatchOutput) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Pending>;
  dead: boolean;
  /** the worker has started (sent 'ready') */
  ready: boolean;
}

/** Jobs a worker holds at once: the next batch's files decode (off-thread, in sharp) while one augments. */
const JOBS_PER_WORKER = 2;

/** Workers in a row that may die before starting before the pool stops replacing them. */
export const MAX_START_FAILURES = 3;

/**
 * A fixed-size pool of loader workers; a crashed or exited worker fails its job and is replaced. Workers that
 * die before they have started (a module that fails to load, no memory) are replaced at most
 * MAX_START_FAILURES times in a row; then the pool gives up and fails every pending and later job with that
 * error, instead of respawning threads in a tight loop. (Exported for tests.)
 */
export class WorkerPool implements Runner {
  private slots: Slot[] = [];
  private queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private startFailures = 0;
  private broken: Error | null = null;
  /** threads started so far */
  spawned = 0;

  constructor(
    size: number,
    private readonly config: WorkerConfig,
    private readonly script: URL = new URL('./loader-worker.js', import.meta.url),
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(this.script, { workerData: { mark: WORKER_MARK, config: this.config } });
    this.spawned++;
    const slot: Slot = { worker, jobs: new Map(), dead: false, ready: false };
    worker.unref(); // idle workers never keep the process alive; busy ones are ref'd
    worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
    worker.on('error', (e: Error) => this.onDeath(slot, `loader worker crashed: ${e.message}`));
    worker.on('messageerror', (e: Error) => this.onDeath(slot, `loader worker sent an unreadable message: ${e.message}`));
    worker.on('exit', (code: number) => this.onDeath(slot, `loader worker exited unexpectedly (code ${code})`));
    return slot;
  }

  run(job: BatchJob): Promise<BatchOutput> {
    if (this.closed) return Promise.reject(new Error('DataLoader is closed'));
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (let round = 0; round < JOBS_PER_WORKER; round++) {
      for (const slot of this.slots) {
        if (slot.dead || slot.jobs.size > round) continue;
        const p = this.queue.shift();
        if (!p) return;
        slot.jobs.set(p.id, p);
        slot.worker.ref();
        const msg: ToWorker = { type: 'batch', id: p.id, job: p.job };
        try {
          slot.worker.postMessage(msg);
        } catch (e) {
          slot.jobs.delete(p.id);
          if (slot.jobs.size === 0) slot.worker.unref();
          p.reject(new Error(`cannot send a batch to a loader worker: ${(e as Error).message}`));
        }
      }
    }
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === 'ready') {
      slot.ready = true;
      this.startFailures = 0;
      return;
    }
    const p = slot.jobs.get(m.id);
    if (!p) return;
    slot.jobs.delete(m.id);
    if (slot.jobs.size === 0) slot.worker.unref();
    if (m.type === 'result') p.resolve(m.out);
    else {
      const err = new Error(m.message);
      if (m.stack) err.stack = `${err.name}: ${m.message}\n    [in loader worker] ${m.stack.split('\n').slice(1).join('\n')}`;
      p.reject(err);
    }
    this.pump();
  }

  private onDeath(slot: Slot, why: string): void {
    if (slot.dead) return;
    slot.dead = true;
    const jobs = [...slot.jobs.values()];
    slot.jobs.clear();
    const i = this.slots.indexOf(slot);
    if (this.closed) return;
    for (const p of jobs) p.reject(new Error(why));
    void slot.worker.terminate().catch(() => undefined);
    if (!slot.ready && ++this.startFailures >= MAX_START_FAILURES) {
      this.broken ??= new Error(`${why} (loader workers fail to start: gave up after ${this.startFailures} attempts in a row)`);
      for (const p of this.queue.splice(0)) p.reject(this.broken);
      return;
    }
    if (i >= 0) this.slots[i] = this.spawn();
    this.pump();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('DataLoader closed while a batch was being prepared');
    for (const p of this.queue.splice(0)) p.reject(err);
    for (const s of this.slots) {
      for (const p of s.jobs.values()) p.reject(err);
      s.jobs.clear();
      s.dead = true;
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate().catch(() => 0)));
  }
}

/** Runs jobs on the calling thread (workers: 0). */
export class InlineRunner implements Runner {
  private readonly processJob: (job: BatchJob) => Promise<BatchOutput>;
  private closed = false;
  constructor(config: WorkerConfig) {
    this.processJob = createBatchProcessor(config);
  }
  async run(job: BatchJob): Promise<BatchOutput> {
    if (this.closed) throw new Error('DataLoader is closed');
    await new Promise<void>((r) => setImmediate(r)); // never starve the consumer
    return this.processJob(job);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}
