// Hub repo ids (ORG/NAME) and the URLs of their files.

/**
 * True for an `ORG/NAME` model repo id as the Hub allows them: two parts of letters, digits, '-', '_', '.',
 * each starting with a letter or digit, without '--' or '..', the name at most 96 characters.
 */
export function isRepoId(s: string): boolean {
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\/([A-Za-z0-9][A-Za-z0-9._-]*)$/.exec(s);
  if (!m) return false;
  return m[2]!.length <= 96 && !s.includes('--') && !s.includes('..') && !s.endsWith('.');
}

/** The cache folder of a model repo, as huggingface_hub names it: models--ORG--NAME. */
export const repoFolderName = (repo: string): string => ['models', ...repo.split('/')].join('--');

export const COMMIT_RE = /^[0-9a-f]{40}$/;

/** {endpoint}/{repo}/resolve/{revision}/{file}, each part URL-encoded (a revision's '/' too). */
export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

/** A revision as a refs/ file name and URL part: no empty, '.' or '..' parts, no control characters. */
export function checkRevision(rev: string): string {
  // eslint-disable-next-line no-control-regex
  const ok = rev.length > 0 && rev.length <= 255 && !/[\u0000-\u001f\u007f\\]/.test(rev) && rev.split('/').every((p) => p !== '' && p !== '.' && p !== '..');
  if (!ok) throw new Error(`--revision ${JSON.stringify(rev)}: expected a branch, tag or commit hash`);
  return rev;
}
