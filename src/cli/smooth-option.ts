// The --smooth option of eval, predict and bench smooth: `--smooth` alone is the measured best
// (DEFAULT_SMOOTH), `--smooth METHOD[:PARAM=V,…]` a chosen one.
import { DEFAULT_SMOOTH, parseSmoothSpec, SMOOTH_METHODS, SmoothSpecError, type SmoothSpec } from '../temporal/index.js';
import { UsageError, type OptionSpec } from './command.js';

export function smoothOption(what: string): OptionSpec {
  return {
    name: 'smooth',
    type: 'string',
    bare: DEFAULT_SMOOTH,
    // a method name, with or without parameters; anything else after a bare --smooth is an input
    valuePattern: /^[A-Za-z]+(:|$)/,
    help: `smooth ${what} over time: METHOD[:PARAM=V,…] with METHOD one of ${Object.keys(SMOOTH_METHODS).join(', ')}; alone: ${DEFAULT_SMOOTH} (the measured best, docs/temporal.md)`,
  };
}

/** The parsed --smooth value (undefined: not given), or a usage error naming the command. */
export function smoothSpecOf(command: string, value: unknown): SmoothSpec | undefined {
  if (value === undefined) return undefined;
  try {
    return parseSmoothSpec(String(value));
  } catch (e) {
    if (e instanceof SmoothSpecError) throw new UsageError(`streetseg ${command}: --smooth: ${e.message}`);
    throw e;
  }
}
