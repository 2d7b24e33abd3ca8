// The CLI's one idea of a command: a name, its options as data, and run(). main.ts dispatches and prints --help.
export type OptionType = 'string' | 'number' | 'boolean' | 'list';

export interface OptionSpec {
  name: string; // long name without dashes, e.g. "data"
  type: OptionType;
  help: string;
  default?: string | number | boolean;
  choices?: string[];
  required?: boolean;
}

export interface ParsedArgs {
  /** Options by name, typed per spec (numbers parsed, booleans true/false, lists split on commas). */
  opts: Record<string, string | number | boolean | string[] | undefined>;
  /** Positional arguments after the command name (and subcommand, if any). */
  positional: string[];
}

export interface Command {
  name: string; // e.g. "stats" or "bench data"
  summary: string;
  usage?: string;
  options: OptionSpec[];
  run(args: ParsedArgs): Promise<number | void>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses argv (after the command words) against a command's option specs. Unknown options are errors. */
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
    if (!spec) throw new UsageError(`${cmd.name}: unknown option --${key} (see 'streetseg ${cmd.name} --help')`);
    if (spec.type === 'boolean') {
      opts[key] = val === undefined ? true : !['false', '0', 'no'].includes(val);
      continue;
    }
    if (val === undefined) {
      val = argv[++i];
      if (val === undefined) throw new UsageError(`${cmd.name}: option --${key} needs a value`);
    }
    if (spec.choices && !spec.choices.includes(val)) {
      throw new UsageError(`${cmd.name}: --${key} ${val}: expected one of ${spec.choices.join(', ')}`);
    }
    if (spec.type === 'number') {
      const n = Number(val);
      if (!Number.isFinite(n)) throw new UsageError(`${cmd.name}: --${key} ${val}: expected a number`);
      opts[key] = n;
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
      throw new UsageError(`${cmd.name}: --${spec.name} is required`);
    }
  }
  return { opts, positional };
}

export function formatHelp(cmd: Command): string {
  const lines = [`streetseg ${cmd.name} — ${cmd.summary}`, '', `usage: streetseg ${cmd.name} ${cmd.usage ?? '[options]'}`];
  if (cmd.options.length) {
    lines.push('', 'options:');
    for (const o of cmd.options) {
      const arg = o.type === 'boolean' ? '' : ` <${o.choices ? o.choices.join('|') : o.type}>`;
      const def = o.default !== undefined ? ` (default: ${o.default})` : o.required ? ' (required)' : '';
      lines.push(`  --${o.name}${arg}`.padEnd(34) + ` ${o.help}${def}`);
    }
  }
  lines.push('  --help'.padEnd(34) + ' show this help');
  return lines.join('\n');
}
