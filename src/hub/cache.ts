// One model repo in huggingface_hub's cache layout (shared with Python):
//   <cache>/models--ORG--NAME/
//     blobs/<etag>                    file contents, named by the Hub's etag (sha256 for LFS, git sha1 otherwise)
//     snapshots/<commit>/<file>       relative symlinks into ../../blobs/
//     refs/<revision>                 the commit a branch or tag pointed at (no newline)
//     .no_exist/<commit>/<file>       empty: the file is known not to exist at that commit
//   <cache>/.locks/models--ORG--NAME/ lock files
// Every write is atomic (a temp name, then rename), so a reader never sees half a file or link.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { COMMIT_RE, repoFolderName } from './repo.js';

export class RepoCache {
  readonly root: string;
  readonly lockDir: string;

  constructor(
    readonly cacheDir: string,
    readonly repo: string,
  ) {
    this.root = path.join(cacheDir, repoFolderName(repo));
    this.lockDir = path.join(cacheDir, '.locks', repoFolderName(repo));
  }

  blob(etag: string): string {
    return path.join(this.root, 'blobs', etag);
  }

  /** Where a download in progress is kept (resumed from, by a later run): not a name Python writes. */
  partial(etag: string): string {
    return path.join(this.root, 'blobs', `${etag}.streetseg.incomplete`);
  }

  lock(etag: string): string {
    return path.join(this.lockDir, `${etag}.streetseg.lock`);
  }

  snapshot(commit: string): string {
    return path.join(this.root, 'snapshots', commit);
  }

  /** The file in the snapshot, if it is there and its link resolves. */
  cachedFile(commit: string, file: string): string | null {
    const p = path.join(this.snapshot(commit), ...file.split('/'));
    try {
      return fs.statSync(p).isFile() ? p : null;
    } catch {
      return null;
    }
  }

  knownMissing(commit: string, file: string): boolean {
    return fs.existsSync(path.join(this.root, '.no_exist', commit, ...file.split('/')));
  }

  markMissing(commit: string, file: string): void {
    writeFileAtomic(path.join(this.root, '.no_exist', commit, ...file.split('/')), '');
  }

  /** The commit `revision` is (a commit hash itself, or what refs/<revision> holds), or null. */
  commitOf(revision: string): string | null {
    if (COMMIT_RE.test(revision)) return revision;
    const ref = path.join(this.root, 'refs', ...revision.split('/'));
    if (!fs.existsSync(ref)) return null;
    const c = fs.readFileSync(ref, 'utf8').trim();
    return COMMIT_RE.test(c) ? c : null;
  }

  writeRef(revision: string, commit: string): void {
    if (revision === commit) return;
    const ref = path.join(this.root, 'refs', ...revision.split('/'));
    // Left alone when already right: the cache may be read-only to this user.
    if (fs.existsSync(ref) && fs.readFileSync(ref, 'utf8').trim() === commit) return;
    writeFileAtomic(ref, commit);
  }

  /** Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink (a copy where links fail). */
  link(commit: string, file: string, etag: string): string {
    const dst = path.join(this.snapshot(commit), ...file.split('/'));
    const blob = this.blob(etag);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    const rel = path.relative(path.dirname(dst), blob);
    try {
      if (fs.readlinkSync(dst) === rel) return dst;
    } catch {
      // not a link yet
    }
    const tmp = path.join(path.dirname(dst), `.${path.basename(dst)}.${randomUUID()}.tmp`);
    try {
      try {
        fs.symlinkSync(rel, tmp);
      } catch {
        fs.copyFileSync(blob, tmp);
      }
      fs.renameSync(tmp, dst);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    return dst;
  }
}
