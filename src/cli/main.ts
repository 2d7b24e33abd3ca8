#!/usr/bin/env node
// The streetseg CLI: finds the command (one or two words), parses its options, runs it.
// Commands (registry.ts) are loaded lazily so that `streetseg --help` does not load libtorch.
import { formatHelp, parseArgs, UsageError } from './command.js';
import { COMMANDS, findCommand } from './registry.js';
import { closest } from '../util/suggest.js';
import { VERSION } from './version.js';

function topHelp(): string {
  const lines = [`streetseg ${VERSION} — semantic segmentation for driving scenes on libtorch`, '', 'usage: streetseg <command> [options]', '', 'commands:'];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(16)} ${c.summary}`);
  lines.push('', "Run 'streetseg <command> --help' for a command's options.");
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(topHelp());
    return 0;
  }
  if (argv[0] === '--version') {
    console.log(VERSION);
    return 0;
  }
  const two = argv.length > 1 ? findCommand(`${argv[0]} ${argv[1]}`) : undefined;
  const entry = two ?? findCommand(argv[0]!);
  if (!entry) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `)).map((c) => c.name.split(' ')[1]!);
    if (group.length) {
      const near = argv.length > 1 ? closest(argv[1]!, group) : undefined;
      console.error(`streetseg ${argv[0]}: expected one of: ${group.join(', ')}${near ? ` (did you mean '${argv[0]} ${near}'?)` : ''}`);
    } else {
      const near = closest(argv[0]!, COMMANDS.map((c) => c.name));
      console.error(`streetseg: unknown command '${argv[0]}'${near ? ` (did you mean '${near}'?)` : ''}\n\n${topHelp()}`);
    }
    return 2;
  }
  const rest = argv.slice(entry.name.split(' ').length);
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(formatHelp(cmd, entry.summary));
    return 0;
  }
  try {
    const args = parseArgs(cmd, rest);
    const code = await cmd.run(args);
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`streetseg: ${e instanceof Error ? e.message : String(e)}`);
    if (process.env.STREETSEG_DEBUG && e instanceof Error) console.error(e.stack);
    process.exitCode = 1;
  },
);
