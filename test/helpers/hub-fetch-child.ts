// One process fetching a Hub repo (test/hub-cache.test.ts runs two at once): HF_* from the environment,
// prints one JSON line with what it resolved and what it logged.
import { resolveHubCheckpoint } from '../../src/hub/index.js';

const repo = process.argv[2];
// node --test also runs every file under test/ (helpers included): without arguments, do nothing.
if (repo) {
  const lines: string[] = [];
  const r = await resolveHubCheckpoint(repo, { log: (l) => lines.push(l), retryDelayMs: 1 });
  process.stdout.write(JSON.stringify({ dir: r.dir, commit: r.commit, files: r.files, lines }) + '\n');
}
