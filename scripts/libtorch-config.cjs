// Locates libtorch for binding.gyp: the system (Debian libtorch-dev) by default, or LIBTORCH=/dir.
// Prints a clear message and fails the build when headers or libraries are missing.
'use strict';
const fs = require('fs');
const path = require('path');

const root = process.env.LIBTORCH;
const incCandidates = root ? [path.join(root, 'include')] : ['/usr/include'];
const libCandidates = root
  ? [path.join(root, 'lib')]
  : ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];

function fail(msg) {
  process.stderr.write(`\nstreetseg: ${msg}\n` +
    'Install the system libtorch (Debian/Ubuntu: apt-get install libtorch-dev libopenblas0-openmp),\n' +
    'or point LIBTORCH at an unpacked libtorch directory (with include/ and lib/).\n\n');
  process.exit(1);
}

const inc = incCandidates.find((d) => fs.existsSync(path.join(d, 'ATen', 'core', 'dispatch', 'Dispatcher.h')));
if (!inc) fail(`libtorch headers not found (looked for ATen/core/dispatch/Dispatcher.h in ${incCandidates.join(', ')}).`);
const lib = libCandidates.find((d) => fs.existsSync(path.join(d, 'libtorch_cpu.so')) || fs.existsSync(path.join(d, 'libtorch.so')));
if (!lib) fail(`libtorch libraries not found (looked for libtorch_cpu.so in ${libCandidates.join(', ')}).`);

const what = process.argv[2];
if (what === 'include') {
  const dirs = [inc];
  const api = path.join(inc, 'torch', 'csrc', 'api', 'include');
  if (fs.existsSync(api)) dirs.push(api);
  console.log(dirs.join(' '));
} else if (what === 'libs') {
  const names = ['c10', 'torch_cpu', 'torch'].filter((n) => fs.existsSync(path.join(lib, `lib${n}.so`)));
  const extra = fs.existsSync(path.join(lib, 'libtorch_cuda.so')) ? ['-Wl,--no-as-needed', '-ltorch_cuda', '-lc10_cuda', '-Wl,--as-needed'] : [];
  console.log([`-L${lib}`, `-Wl,-rpath,${lib}`, ...names.map((n) => `-l${n}`), ...extra].join(' '));
} else if (what === 'defines') {
  // Debian builds with the C++11 ABI; official pip/zip builds may not (set TORCH_CXX11_ABI=0).
  const abi = process.env.TORCH_CXX11_ABI ?? '1';
  console.log(`_GLIBCXX_USE_CXX11_ABI=${abi}`);
} else if (what === 'version') {
  const v = path.join(inc, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h');
  console.log(fs.existsSync(v) ? fs.readFileSync(v, 'utf8').match(/TORCH_VERSION\s+"([^"]+)"/)?.[1] ?? 'unknown' : 'unknown');
} else {
  fail(`unknown query ${what}`);
}
