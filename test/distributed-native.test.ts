// c10d through the addon between two child processes over loopback: hand-checked allreduce / broadcast /
// barrier / store values, a stalled peer ending in a timeout error, and a SIGKILLed peer named in the
// survivor's error (both for a worker and for rank 0, which hosts the store).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { availableBackends, Store } from '../src/torch/distributed.js';
import { repoRoot } from '../src/util/paths.js';
import { freePort } from '../src/util/net.js';

const worker = path.join(repoRoot, 'dist', 'test', 'helpers', 'dist-native-worker.js');

interface Rank {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  done: Promise<number | null>;
  ready: Promise<void>;
}

function startRank(scenario: string, port: number, rank: number, timeoutMs: number): Rank {
  // One thread each: two ranks share the test machine's cores.
  const child = spawn(process.execPath, [worker, scenario, String(port), String(rank), String(timeoutMs)], {
    env: { ...process.env, STREETSEG_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const v = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
      buf = buf.slice(nl + 1);
      lines.push(v);
      if (v.ready) onReady();
    }
  });
  const done = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, lines, done, ready };
}

describe('c10d process group (Gloo over loopback)', () => {
  it('is built with Gloo', () => {
    assert.ok(availableBackends().includes('gloo'));
  });

  it('allreduce sum/avg/max, broadcast, barrier and the store agree with hand-computed values', async () => {
    const port = await freePort();
    const ranks = [0, 1].map((r) => startRank('ops', port, r, 10_000));
    assert.deepEqual(await Promise.all(ranks.map((r) => r.done)), [0, 0]);
    for (const [r, { lines }] of ranks.entries()) {
      const v = lines.at(-1)!;
      assert.deepEqual(v.sum, [3, 30, -1]); // [1,10,0] + [2,20,-1]
      assert.deepEqual(v.sumInt, [3]); // 0 + 3, int64 stays exact
      assert.deepEqual(v.avg, [1.5, 15, -0.5]);
      assert.deepEqual(v.max, [1, 0]); // max([0,0], [1,-1])
      assert.deepEqual(v.bcast, [7, 8, 9]); // root 1's values everywhere
      assert.equal(v.other, `v${1 - r}`);
      assert.match(String(v.avgInt), /'avg' needs floating-point tensors, got int64/);
    }
  });

  it('a peer that never joins ends the collective with an error after the timeout, and the group refuses further use', async () => {
    const port = await freePort();
    const ranks = [0, 1].map((r) => startRank('stall', port, r, 1000));
    await ranks[1]!.done;
    const v = ranks[1]!.lines.at(-1)!;
    assert.equal(v.code, 'ERR_DIST_PEER');
    assert.match(String(v.error), /^distAllreduce: rank 0 lost .*timed out/i);
    // Gloo's 1000 ms timeout, then the 500 ms liveness probe (half the timeout).
    assert.ok((v.ms as number) >= 1000 && (v.ms as number) < 4000, `failed after ${v.ms} ms`);
    assert.match(String(v.again), /^distBarrier: the process group is broken by an earlier failure \(rank 0 lost/);
    ranks[0]!.child.kill('SIGKILL');
  });

  for (const victim of [1, 0]) {
    it(`SIGKILL of rank ${victim} surfaces in the survivor as an error naming rank ${victim}`, async () => {
      const port = await freePort();
      const ranks = [0, 1].map((r) => startRank('kill', port, r, 2000));
      await Promise.all(ranks.map((r) => r.ready));
      await new Promise((r) => setTimeout(r, 300));
      ranks[victim]!.child.kill('SIGKILL');
      const survivor = ranks[1 - victim]!;
      assert.equal(await survivor.done, 0);
      const v = survivor.lines.at(-1)!;
      assert.match(String(v.error), new RegExp(`^distAllreduce: rank ${victim} lost`));
      if (victim === 0) assert.match(String(v.error), /the store at tcp:\/\/127\.0\.0\.1:\d+ is unreachable/);
      assert.ok((v.ms as number) < 2000, `noticed after ${v.ms} ms (timeout 2000)`);
    });
  }

  it('bad arguments are clear errors, not crashes', () => {
    assert.throws(() => Store.tcp({ host: '127.0.0.1', port: 70000, isServer: true, worldSize: 1 }), /'port' to be an integer in \[1, 65535\]/);
    assert.throws(() => Store.file({ path: '', worldSize: 1 }), /'path' to be a non-empty string/);
  });
});
