// The one reading of a checkpoint argument (train --model; eval, predict, export, compare, forward
// --checkpoint): an existing path is used as it is; ORG/NAME that is no path is a Hub model repo, resolved
// into the huggingface_hub cache (downloaded when needed) and used from its snapshot directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HubError } from './errors.js';
import { isRepoId } from './repo.js';
import { resolveHubCheckpoint, type CheckpointFiles, type HubCheckpoint } from './resolve.js';

export interface CheckpointRef {
  /** The directory to load: the argument itself, or the Hub snapshot. */
  dir: string;
  hub: HubCheckpoint | null;
}

export interface CheckpointArgOptions {
  /** --revision, when given (default main for a Hub id; refused with a local path). */
  revision?: string | undefined;
  files?: CheckpointFiles;
  /** No progress bar or log lines (warnings still go to stderr). */
  quiet?: boolean;
  log?: (line: string) => void;
}

/** True when `arg` names a Hub repo rather than a local path. */
export const isHubCheckpoint = (arg: string): boolean => isRepoId(arg) && !fs.existsSync(arg);

export async function resolveCheckpoint(arg: string, o: CheckpointArgOptions = {}): Promise<CheckpointRef> {
  if (!isHubCheckpoint(arg)) {
    if (o.revision !== undefined) throw new Error(`--revision ${o.revision}: ${arg} is ${fs.existsSync(arg) ? 'a local path' : 'not a Hub repo id (ORG/NAME)'}; --revision applies to Hub repo ids only`);
    return { dir: arg, hub: null };
  }
  const log = o.log ?? ((l: string) => console.error(l));
  let hub: HubCheckpoint;
  try {
    hub = await resolveHubCheckpoint(arg, {
      ...(o.revision !== undefined ? { revision: o.revision } : {}),
      ...(o.files ? { files: o.files } : {}),
      progress: o.quiet ? 'none' : process.stderr.isTTY ? 'bar' : 'log',
      log: o.quiet ? () => undefined : log,
      warn: (l) => console.error(l),
    });
  } catch (e) {
    // ORG/NAME might have been meant as a relative path: say that it is not one either.
    if (e instanceof HubError && ['RepoNotFound', 'Unauthorized', 'NotCached'].includes(e.code)) {
      const err = new HubError(e.code, `${arg}: no such local directory (${path.resolve(arg)}); as a Hub repo id: ${e.message}`);
      throw err;
    }
    throw e;
  }
  if (!o.quiet) log(`${arg}: revision ${hub.revision} = commit ${hub.commit}${hub.fromCache ? ' (from the cache)' : ''}: ${hub.dir}`);
  return { dir: hub.dir, hub };
}

/** A folder for what a command writes about a Hub checkpoint (never inside the shared cache): runs/hub/ORG--NAME. */
export const hubOutputDir = (hub: HubCheckpoint): string => path.join('runs', 'hub', hub.repo.replace('/', '--'));
