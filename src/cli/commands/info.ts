// `streetseg info`: versions, libtorch location, BLAS in use and its kernels (loud warnings for reference
// BLAS and for kernels below the CPU's best), threads.
import { engineInfo } from '../../torch/info.js';
import { VERSION } from '../version.js';
import type { Command } from '../command.js';

export const infoCommand: Command = {
  name: 'info',
  options: [{ name: 'json', type: 'boolean', help: 'print as JSON' }],
  async run({ opts }) {
    const i = engineInfo(VERSION);
    if (opts.json) {
      console.log(JSON.stringify(i, null, 2));
    } else {
      console.log(`streetseg ${i.streetseg} (node ${i.node})`);
      console.log(`libtorch  ${i.libtorch.version} at ${i.libtorch.path ?? '?'}${i.cuda ? ' (CUDA available)' : ' (CPU)'}`);
      console.log(`BLAS      ${i.blas.kind}${i.blas.path ? ` (${i.blas.path})` : ''}`);
      const c = i.blasCore;
      const how = c.mode === 'auto' ? (c.coretype ? `auto: OPENBLAS_CORETYPE=${c.coretype}` : 'auto: nothing to force') : c.mode === 'user' ? `user: OPENBLAS_CORETYPE=${c.coretype}` : 'keep: STREETSEG_BLAS_CORE=keep';
      console.log(`BLAS core ${c.inUse} (CPU's best: ${c.best ?? 'none to force'}; ${how})`);
      console.log(`CPU       ${c.cpu}`);
      console.log(`threads   ${i.threads} (set STREETSEG_THREADS to change)`);
      console.log(`parallel  ${i.parallel}`);
      console.log(`addon     ${i.addon}`);
    }
    if (i.blas.warning) console.error(`\nWARNING: ${i.blas.warning}\n`);
    if (i.blasCore.warning) console.error(`\nWARNING: ${i.blasCore.warning}\n`);
  },
};
