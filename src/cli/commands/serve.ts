// `streetseg serve SITE`: serves a site folder with the headers WASM threads need (COOP/COEP) until
// Ctrl-C (SIGINT) or SIGTERM, which close the server and its connections and exit 0.
import { serveSite } from '../../app/serve.js';
import { UsageError, type Command } from '../command.js';

export const serveCommand: Command = {
  name: 'serve',
  usage: 'SITE [--port 0] [--host 127.0.0.1]',
  options: [
    { name: 'port', type: 'int', min: 0, max: 65535, help: 'TCP port (0: any free port)', default: 0 },
    { name: 'host', type: 'string', help: 'address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface)', default: '127.0.0.1' },
    { name: 'quiet', type: 'boolean', help: 'do not log refused or failed requests' },
  ],
  async run({ opts, positional }) {
    if (positional.length !== 1) throw new UsageError(`streetseg serve: give one SITE folder (the --out of streetseg app), got ${positional.length}`);
    const site = positional[0]!;
    const server = await serveSite({
      root: site,
      host: opts.host as string,
      port: opts.port as number,
      log: opts.quiet === true ? undefined : (l) => console.error(`serve: ${l}`),
    });
    console.log(`serving ${site} at ${server.url}`);
    console.error('serve: Ctrl-C stops');
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    await server.close();
    console.error(`serve: stopped (${signal})`);
  },
};
