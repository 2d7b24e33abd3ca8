// Errors of the Hub client. `code` is the Hub's X-Error-Code where it sent one, else what went wrong here.
export type HubErrorCode =
  | 'RepoNotFound'
  | 'RevisionNotFound'
  | 'EntryNotFound'
  | 'GatedRepo'
  | 'Unauthorized'
  | 'NotCached'
  | 'Integrity'
  | 'Unreachable'
  | 'BadResponse';

export class HubError extends Error {
  override name = 'HubError';
  /** The commit the Hub named in its answer (X-Repo-Commit), where it sent one. */
  commit?: string;
  constructor(
    readonly code: HubErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Text from a server header for a message: control characters removed, at most 200 characters. */
export function serverText(v: string | string[] | undefined): string {
  const s = (Array.isArray(v) ? v.join(' ') : (v ?? '')).replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
