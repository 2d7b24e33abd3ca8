// The operator profiler: where a step's time goes, per ATen operator and autograd node, in the same
// terms as torch.profiler's key_averages() on the PyTorch side (`bench model --profile`).
import { native, type OpProfileRow } from './native.js';
import { refuseAsync } from './memory.js';

export type { OpProfileRow };

/**
 * Runs fn with the profiler on; returns its value and the rows (by self time, largest first). Async
 * functions are refused: only their work up to the first await would be profiled.
 */
export function profileOps<T>(fn: () => T): { value: T; ops: OpProfileRow[] } {
  native.profileStart();
  let value: T;
  try {
    value = fn();
  } catch (e) {
    native.profileStop();
    throw e;
  }
  const ops = native.profileStop();
  refuseAsync(value, 'profileOps()');
  return { value, ops };
}
