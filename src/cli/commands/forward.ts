// `streetseg forward`: raw float32 NCHW in, logits out, for checking a conversion against a reference.
import * as fs from 'node:fs';
import { fromArray, inferenceMode, tidy } from '../../torch/index.js';
import { loadPretrained, openCheckpoint } from '../../models/index.js';
import { resolveCheckpoint } from '../../hub/index.js';
import { writeFileAtomic } from '../../util/fs.js';
import { checkpointHelp, revisionOption } from '../checkpoint-option.js';
import { UsageError, type Command } from '../command.js';

export const forwardCommand: Command = {
  name: 'forward',
  usage: '--checkpoint DIR|ORG/NAME [--revision REV] --input FILE --shape N,C,H,W --out FILE [--quiet]',
  options: [
    { name: 'checkpoint', type: 'string', help: checkpointHelp('HF checkpoint directory (config.json + weights)'), required: true },
    revisionOption,
    { name: 'input', type: 'string', help: 'raw little-endian float32, C order', required: true },
    { name: 'shape', type: 'list', help: 'N,C,H,W of the input', required: true },
    { name: 'out', type: 'string', help: 'where to write the logits (raw float32)', required: true },
    { name: 'quiet', type: 'boolean', help: 'no download progress or log lines; only the final JSON line' },
  ],
  async run({ opts }) {
    // A list option: its elements are checked here (specs type whole values, not list items).
    const shape = (opts.shape as string[]).map(Number);
    if (shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new UsageError(`streetseg forward: --shape ${(opts.shape as string[]).join(',')}: expected four positive integers N,C,H,W`);
    }
    const file = opts.input as string;
    if (!fs.existsSync(file)) throw new Error(`${file}: input file not found`);
    const buf = fs.readFileSync(file);
    const need = shape.reduce((a, b) => a * b, 1) * 4;
    if (buf.byteLength !== need) {
      throw new Error(`${file}: ${buf.byteLength} bytes, but shape ${shape.join('x')} of float32 needs ${need}`);
    }
    const quiet = opts.quiet === true;
    const { dir } = await resolveCheckpoint(opts.checkpoint as string, { revision: opts.revision as string | undefined, quiet });
    const { model } = loadPretrained(openCheckpoint(dir), quiet ? { log: () => undefined } : {});
    model.eval();
    const out = inferenceMode(() =>
      tidy(() => {
        const x = fromArray(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), shape, 'float32');
        const y = model.forward(x).logits;
        return { shape: y.shape, data: y.toArray() as Float32Array };
      }),
    );
    writeFileAtomic(opts.out as string, new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength));
    console.log(JSON.stringify({ out: opts.out, shape: out.shape, dtype: 'float32' }));
  },
};
