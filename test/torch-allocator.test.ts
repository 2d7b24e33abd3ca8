// The caching CPU allocator: large blocks are reused, values stay correct, the cache can be emptied.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { allocatorStats, emptyCache, F, full, ones, tidy, zeros } from '../src/torch/index.js';

it('large blocks are cached and reused; small ones are not; emptyCache releases them', () => {
  assert.equal(allocatorStats().caching, true);
  emptyCache();
  assert.equal(allocatorStats().cachedBytes, 0);
  const n = 3 * 1024 * 1024; // 12 MiB of float32
  const a = full([n], 2);
  a.dispose();
  const s1 = allocatorStats();
  assert.ok(s1.cachedBytes >= n * 4 && s1.cachedBytes <= n * 4 * 1.125, `cached ${s1.cachedBytes}`);
  const b = zeros([n]); // same size class: served from the cache, and zeroed
  const s2 = allocatorStats();
  assert.equal(s2.hits, s1.hits + 1);
  assert.equal(s2.cachedBytes, s1.cachedBytes - n * 4); // 12 MiB is its own size class
  assert.equal(b.sum().item(), 0);
  b.dispose();
  const small = ones([100]);
  small.dispose();
  assert.equal(allocatorStats().cachedBytes, s1.cachedBytes);
  // oneDNN allocates through the raw interface: a conv big enough to use it must work on cached memory
  const y = tidy(() => F.conv2d(ones([2, 3, 360, 480]), ones([32, 3, 7, 7]), null, { stride: 4, padding: 3 }).sum().item());
  // interior outputs see the full 3x7x7 window: 147 each; check the total against a direct count
  let total = 0;
  for (let oy = 0; oy < 90; oy++) for (let ox = 0; ox < 120; ox++) {
    let cnt = 0;
    for (let ky = 0; ky < 7; ky++) for (let kx = 0; kx < 7; kx++) {
      const iy = oy * 4 - 3 + ky, ix = ox * 4 - 3 + kx;
      if (iy >= 0 && iy < 360 && ix >= 0 && ix < 480) cnt++;
    }
    total += cnt * 3;
  }
  assert.equal(y, total * 32 * 2);
  emptyCache();
  assert.equal(allocatorStats().cachedBytes, 0);
});
