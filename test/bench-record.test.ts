import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kernelEnv, lastJsonLine, parseCpuinfo, relativePaths } from '../bench/record.js';

test('parseCpuinfo reads the first processor: model, family, the kernel-deciding extensions', () => {
  const text = [
    'processor\t: 0', 'vendor_id\t: AuthenticAMD', 'cpu family\t: 26', 'model\t\t: 2',
    'model name\t: AMD EPYC 9B45', 'flags\t\t: fpu sse avx2 fma avx512f avx512_vnni avx512_bf16', '',
    'processor\t: 1', 'cpu family\t: 6', 'model name\t: other', 'flags\t\t: amx_int8',
  ].join('\n');
  assert.deepEqual(parseCpuinfo(text), { cpu: 'AMD EPYC 9B45', family: 26, model: 2, extensions: ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16'] });
  const bare = parseCpuinfo('processor : 0\nflags : sse2 avx2\n');
  assert.equal(bare.family, null);
  assert.deepEqual(bare.extensions, ['avx2']);
});

test('lastJsonLine takes the last JSON object, skipping progress and arrays', () => {
  assert.deepEqual(lastJsonLine('{"a":1}\nstep 3/5\n{"b":2}\n[1,2]\n{not json\n'), { b: 2 });
  assert.equal(lastJsonLine('no json here\n[1]\n'), null);
  assert.deepEqual(lastJsonLine('progress\n{\n  "a": {\n    "b": 1\n  }\n}\n'), { a: { b: 1 } });
  assert.deepEqual(lastJsonLine('{\n  "x": 1\n}'), { x: 1 });
});

test('relativePaths makes the checkout\'s absolute paths relative, inside and beside it', () => {
  const out = relativePaths({ a: '/srv/x/repo/runs/b0', b: ['/srv/x/shared/data/camvid', 3], c: 'ok /srv/x/repo/m and /srv/x/repo/n' }, '/srv/x/repo');
  assert.deepEqual(out, { a: 'runs/b0', b: ['../shared/data/camvid', 3], c: 'ok m and n' });
});

test('kernelEnv keeps the set variables that choose kernels or threads, and nothing else', () => {
  assert.deepEqual(kernelEnv({ ATEN_CPU_CAPABILITY: 'avx2', OPENBLAS_CORETYPE: 'Haswell', HOME: '/root', PATH: '/bin' }), { ATEN_CPU_CAPABILITY: 'avx2', OPENBLAS_CORETYPE: 'Haswell' });
  assert.deepEqual(kernelEnv({ HOME: '/root' }), {});
});
