// One rank of the native c10d tests (test/distributed-native.test.ts): runs a scenario named in argv
// against a TCPStore at 127.0.0.1:PORT and prints one JSON line with what it saw.
import { initProcessGroup } from '../../src/torch/distributed.js';
import { tensor, zeros } from '../../src/torch/index.js';

const [scenario, portArg, rankArg, timeoutArg] = process.argv.slice(2);
// node --test also runs every file under test/ (helpers included): without arguments, do nothing.
if (!scenario) process.exit(0);
const rank = Number(rankArg);
const out = (v: unknown) => process.stdout.write(JSON.stringify(v) + '\n');
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

const pg = initProcessGroup({ masterAddr: '127.0.0.1', masterPort: Number(portArg), rank, worldSize: 2, timeoutMs: Number(timeoutArg ?? 5000) });
try {
  if (scenario === 'ops') {
    // rank r holds [r+1, 10(r+1), -r] and an int64 [3r]: sums [3, 30, -1] / [3], averages [1.5, 15, -0.5].
    const a = tensor([rank + 1, 10 * (rank + 1), -rank]);
    const b = tensor([3 * rank], undefined, { dtype: 'int64' });
    pg.allreduce([a, b], 'sum');
    const c = tensor([rank + 1, 10 * (rank + 1), -rank]);
    pg.allreduce([c], 'avg');
    const m = tensor([rank, -rank]);
    pg.allreduce([m], 'max');
    const bc = rank === 1 ? tensor([7, 8, 9]) : zeros([3]);
    pg.broadcast([bc], 1);
    pg.barrier();
    pg.store.set(`k${rank}`, `v${rank}`);
    const other = pg.store.get(`k${1 - rank}`);
    let avgInt = '';
    try {
      pg.allreduce([tensor([1], undefined, { dtype: 'int64' })], 'avg');
    } catch (e) {
      avgInt = (e as Error).message;
    }
    out({ sum: [...a.toArray()], sumInt: [...b.toArray()].map(Number), avg: [...c.toArray()], max: [...m.toArray()], bcast: [...bc.toArray()], other, avgInt });
  } else if (scenario === 'stall') {
    // rank 0 never joins the collective: rank 1 must fail within the group's timeout.
    if (rank === 0) {
      sleep(Number(timeoutArg) * 3);
      out({ slept: true });
    } else {
      const t0 = Date.now();
      try {
        pg.allreduce([tensor([1])]);
        out({ error: null });
      } catch (e) {
        const err = e as Error & { code?: string };
        let again = '';
        try {
          pg.barrier();
        } catch (e2) {
          again = (e2 as Error).message;
        }
        out({ error: err.message, code: err.code, ms: Date.now() - t0, again });
      }
    }
  } else if (scenario === 'kill') {
    // rank 1 is SIGKILLed by the test after 'ready'; rank 0 keeps reducing until it notices.
    out({ ready: true });
    const t0 = Date.now();
    try {
      for (let i = 0; ; i++) {
        pg.allreduce([tensor([i])]);
        if (rank === 1) sleep(20);
      }
    } catch (e) {
      out({ error: (e as Error).message, ms: Date.now() - t0 });
    }
  }
} finally {
  pg.destroy();
}
