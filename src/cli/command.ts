// The CLI's one idea of a command: a name, its options as data, and run(). main.ts dispatches and prints --help;
// each command's one-line summary lives in registry.ts.
import { closest } from '../util/suggest.js';

export type OptionType = 'string' | 'int' | 'number' | 'boolean' | 'list';

export interface OptionSpec {
  name: string; // long name without dashes, e.g. "data"
  type: OptionType;
  help: string;
  default?: string | number | boolean;
  choices?: string[];
  required?: boolean;
  /** Smallest allowed value ('int' and 'number'). */
  min?: number;
  /** Largest allowed value ('int' and 'number'). */
  max?: number;
  /**
   * A 'string' option that may also be given bare (`--smooth`): this is its value then. The next argument
   * is its value only if it does not start with "--" and matches `valuePattern` (so that a positional
   * argument after a bare flag stays positional); `--name=value` always works.
   */
  bare?: string;
  valuePattern?: RegExp;
}

export interface ParsedArgs {
  /** Options by name, typed per spec (numbers parsed, booleans true/false, lists split on commas). */
  opts: Record<string, string | number | boolean | string[] | undefined>;
  /** Positional arguments after the command name (and subcommand, if any). */
  positional: string[];
}

export interface Command {
  name: string; // e.g. "stats" or "bench data"; the same as its registry entry's
  usage?: string;
  options: OptionSpec[];
  run(args: ParsedArgs): Promise<number | void>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** The allowed range of an 'int' or 'number' spec in words ("" if unbounded): ">= 1", "from 0 to 1". */
function rangeText(spec: OptionSpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return `from ${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return `>= ${spec.min}`;
  if (spec.max !== undefined) return `<= ${spec.max}`;
  return '';
}

/** `value` checked against an 'int' or 'number' spec, or a UsageError saying what was expected. */
function parseNumber(cmd: Command, spec: OptionSpec, value: string): number {
  const n = Number(value);
  const int = spec.type === 'int';
  const ok = value.trim() !== '' && (int ? Number.isSafeInteger(n) : Number.isFinite(n)) &&
    (spec.min === undefined || n >= spec.min) && (spec.max === undefined || n <= spec.max);
  if (ok) return n;
  const expected = [int ? 'an integer' : 'a number', rangeText(spec)].filter(Boolean).join(' ');
  throw new UsageError(`streetseg ${cmd.name}: --${spec.name} ${value}: expected ${expected}`);
}

function unknownOption(cmd: Command, key: string): UsageError {
  const names = cmd.options.flatMap((o) => (o.type === 'boolean' ? [o.name, `no-${o.name}`] : [o.name]));
  const near = closest(key, [...names, 'help']);
  const hint = near ? ` (did you mean --${near}?)` : '';
  return new UsageError(`streetseg ${cmd.name}: unknown option --${key}${hint}; see 'streetseg ${cmd.name} --help'`);
}

/**
 * Parses argv (after the command words) against a command's option specs: numbers are parsed and
 * range-checked here, so commands receive valid values. Unknown options are errors.
 */
export function parseArgs(cmd: Command, argv: string[]): ParsedArgs {
  const specs = new Map(cmd.options.map((o) => [o.name, o]));
  const opts: ParsedArgs['opts'] = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    let key = a.slice(2);
    let val: string | undefined;
    const eq = key.indexOf('=');
    if (eq >= 0) {
      val = key.slice(eq + 1);
      key = key.slice(0, eq);
    }
    if (key.startsWith('no-') && specs.get(key.slice(3))?.type === 'boolean') {
      opts[key.slice(3)] = false;
      continue;
    }
    const spec = specs.get(key);
    if (!spec) throw unknownOption(cmd, key);
    if (spec.type === 'boolean') {
      opts[key] = val === undefined ? true : !['false', '0', 'no'].includes(val);
      continue;
    }
    if (val === undefined && spec.bare !== undefined) {
      const next = argv[i + 1];
      const takes = next !== undefined && !next.startsWith('--') && (spec.valuePattern?.test(next) ?? true);
      val = takes ? argv[++i]! : spec.bare;
    }
    if (val === undefined) {
      val = argv[++i];
      if (val === undefined) throw new UsageError(`streetseg ${cmd.name}: option --${key} needs a value`);
    }
    if (spec.choices && !spec.choices.includes(val)) {
      throw new UsageError(`streetseg ${cmd.name}: --${key} ${val}: expected one of ${spec.choices.join(', ')}`);
    }
    if (spec.type === 'number' || spec.type === 'int') {
      opts[key] = parseNumber(cmd, spec, val);
    } else if (spec.type === 'list') {
      opts[key] = val.split(',').filter((s) => s.length > 0);
    } else {
      opts[key] = val;
    }
  }
  for (const spec of cmd.options) {
    if (opts[spec.name] === undefined && spec.default !== undefined) {
      opts[spec.name] = spec.type === 'list' ? String(spec.default).split(',') : spec.default;
    }
    if (spec.required && opts[spec.name] === undefined) {
      throw new UsageError(`streetseg ${cmd.name}: --${spec.name} is required`);
    }
  }
  return { opts, positional };
}

/** `streetseg <cmd> --help`; `summary` is the command's registry entry's. */
export function formatHelp(cmd: Command, summary: string): string {
  const lines = [`streetseg ${cmd.name} — ${summary}`, '', `usage: streetseg ${cmd.name} ${cmd.usage ?? '[options]'}`];
  if (cmd.options.length) {
    lines.push('', 'options:');
    for (const o of cmd.options) {
      const shape = `<${o.choices ? o.choices.join('|') : o.type}>`;
      const arg = o.type === 'boolean' ? '' : o.bare !== undefined ? ` [${shape}]` : ` ${shape}`;
      const range = rangeText(o) ? ` (${rangeText(o)})` : '';
      const def = o.default !== undefined ? ` (default: ${o.default})` : o.required ? ' (required)' : '';
      lines.push(`  --${o.name}${arg}`.padEnd(34) + ` ${o.help}${range}${def}`);
    }
  }
  lines.push('  --help'.padEnd(34) + ' show this help');
  return lines.join('\n');
}
