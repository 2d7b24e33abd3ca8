#!/usr/bin/env node
// The streetseg CLI: finds the command (one or two words), parses its options, runs it.
// Commands are loaded lazily so that `streetseg --help` does not load libtorch.
import { formatHelp, parseArgs, UsageError, type Command } from './command.js';
import { VERSION } from './version.js';

type Loader = () => Promise<Command>;
const commands: Record<string, Loader> = {
  info: async () => (await import('./commands/info.js')).infoCommand,
  'bench engine': async () => (await import('./commands/bench-engine.js')).benchEngineCommand,
  'bench data': async () => (await import('./commands/bench-data.js')).benchDataCommand,
  'bench model': async () => (await import('./commands/bench-model.js')).benchModelCommand,
  forward: async () => (await import('./commands/forward.js')).forwardCommand,
  stats: async () => (await import('./commands/stats.js')).statsCommand,
  download: async () => (await import('./commands/download.js')).downloadCommand,
  synth: async () => (await import('./commands/synth.js')).synthCommand,
};

const summaries: Record<string, string> = {
  info: 'versions, libtorch and BLAS in use, threads',
  'bench engine': 'engine micro-benchmarks (JSON)',
  'bench data': 'data-loader throughput (JSON)',
  'bench model': 'SegFormer inference / training step speed (JSON)',
  forward: 'logits of a checkpoint for a raw float32 input',
  stats: 'class statistics and weights of a dataset',
  download: 'download CamSeq01 / CamVid',
  synth: 'write a synthetic driving-scene dataset',
};

function topHelp(): string {
  const lines = [`streetseg ${VERSION} — semantic segmentation for driving scenes on libtorch`, '', 'usage: streetseg <command> [options]', '', 'commands:'];
  for (const name of Object.keys(commands)) lines.push(`  ${name.padEnd(16)} ${summaries[name] ?? ''}`);
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
  const two = argv.length > 1 ? `${argv[0]} ${argv[1]}` : '';
  const name = commands[two] ? two : argv[0]!;
  const loader = commands[name];
  if (!loader) {
    const group = Object.keys(commands).filter((c) => c.startsWith(`${argv[0]} `));
    if (group.length) console.error(`streetseg ${argv[0]}: expected one of: ${group.map((g) => g.split(' ')[1]).join(', ')}`);
    else console.error(`streetseg: unknown command '${argv[0]}'\n\n${topHelp()}`);
    return 2;
  }
  const rest = argv.slice(name.split(' ').length);
  const cmd = await loader();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(formatHelp(cmd));
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
