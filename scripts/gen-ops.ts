// Writes src/torch/generated/aten.ts: typed wrappers for the ATen operators listed below, from the
// schemas of the libtorch the addon is linked against. `--check` only compares (for CI): exit 1 when
// the committed file differs from what would be written. `--out FILE` writes or checks another file.
//
//   npx tsc -p . && node dist/scripts/gen-ops.js [--check] [--out FILE]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native, repoRoot } from '../src/torch/native.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { emitModule } from './op-codegen.js';

/** Every operator the code base calls, as "name" or "name.overload" (sorted). */
const OPS = [
  '_upsample_bilinear2d_aa.vec', 'abs', 'adaptive_avg_pool2d', 'add.Scalar', 'add.Tensor', 'add_.Scalar', 'add_.Tensor', 'addcdiv_', 'addcmul_',
  'addmm', 'amax', 'amin', 'arange.start_step', 'argmax', 'avg_pool2d', 'batch_norm', 'bincount', 'bmm', 'cat',
  'chunk', 'clamp', 'clamp_max_', 'clone', 'constant_pad_nd', 'contiguous', 'conv2d', 'copy_', 'cross_entropy_loss', 'div.Scalar',
  'div.Tensor', 'div_.Scalar', 'dropout', 'empty.memory_format', 'empty_like', 'eq.Scalar', 'eq.Tensor', 'exp',
  'expand', 'eye', 'feature_dropout', 'fill_.Scalar', 'flatten.using_ints', 'flip', 'floor', 'full', 'gather', 'ge_.Scalar', 'gelu', 'gt.Scalar',
  'hardtanh', 'hardtanh_', 'index_select', 'layer_norm', 'lerp_.Scalar', 'linalg_vector_norm', 'linear', 'log', 'log_softmax.int', 'lt.Scalar',
  'masked_fill.Scalar', 'matmul', 'max', 'max_pool2d', 'maximum', 'mean', 'mean.dim', 'min', 'mse_loss', 'mul.Scalar',
  'mul.Tensor', 'mul_.Scalar', 'mul_.Tensor', 'narrow', 'ne.Scalar', 'neg', 'nll_loss_nd', 'normal_', 'one_hot',
  'ones', 'ones_like', 'permute', 'pow.Tensor_Scalar', 'pow.Tensor_Tensor', 'rand', 'randint.low', 'randn', 'relu',
  'relu_', 'reshape', 'rsqrt', 'select.int', 'sigmoid', 'silu', 'silu_', 'slice.Tensor', 'softmax.int', 'split.Tensor', 'sqrt',
  'sqrt_', 'squeeze.dim', 'stack', 'sub.Scalar', 'sub.Tensor', 'sub_.Tensor', 'sum', 'sum.dim_IntList', 'tanh',
  'to.device', 'to.dtype', 'transpose.int', 'uniform_', 'unsqueeze', 'upsample_bilinear2d.vec',
  'upsample_nearest2d.vec', 'view', 'where.self', 'zero_', 'zeros', 'zeros_like',
];

const DEFAULT_OUT = path.join(repoRoot, 'src', 'torch', 'generated', 'aten.ts');
const USAGE = 'usage: node dist/scripts/gen-ops.js [--check] [--out FILE]';

function schemaOf(op: string): string {
  const dot = op.indexOf('.');
  const id = dot >= 0 ? native.resolveOp(op.slice(0, dot), op.slice(dot + 1)) : native.resolveOp(op, '');
  return native.opSchema(id);
}

/** Where two texts first differ, for the --check message. */
function firstDifference(a: string, b: string): string {
  const la = a.split('\n');
  const lb = b.split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return `line ${i + 1}: committed ${JSON.stringify(la[i] ?? '<end of file>')}, expected ${JSON.stringify(lb[i] ?? '<end of file>')}`;
  }
  return 'no line differs';
}

function main(argv: string[]): number {
  let check = false;
  let out = DEFAULT_OUT;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--check') check = true;
    else if (argv[i] === '--out' && argv[i + 1] !== undefined) out = path.resolve(argv[++i]!);
    else {
      process.stderr.write(`gen-ops: unexpected argument '${argv[i]}'; ${USAGE}\n`);
      return 2;
    }
  }
  const text = emitModule(OPS.map(schemaOf));
  const rel = out === DEFAULT_OUT ? path.relative(repoRoot, out) : out;
  if (check) {
    const committed = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : null;
    if (committed === text) {
      process.stdout.write(`gen-ops: ${rel} is up to date (${OPS.length} ops)\n`);
      return 0;
    }
    const why = committed === null ? 'is missing' : `differs from what scripts/gen-ops.ts generates (${firstDifference(committed, text)})`;
    process.stderr.write(`gen-ops: ${rel} ${why}. Regenerate it: npx tsc -p . && node dist/scripts/gen-ops.js\n`);
    return 1;
  }
  writeFileAtomic(out, text);
  process.stdout.write(`gen-ops: wrote ${rel} (${OPS.length} ops)\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
