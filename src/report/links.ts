// Links from a training report to pages made later about the same run (e.g. `streetseg compare`'s
// comparison). They live in links.json beside index.html, so every rewrite of the report during training
// keeps them, and addReportLink also patches the current index.html in place (between two markers), so a
// finished run's report shows the link without re-rendering it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { escapeXml as esc } from './format.js';

export interface ReportLink {
  /** Relative to the report's folder (or absolute). */
  href: string;
  text: string;
}

export const LINKS_FILE = 'links.json';
const START = '<!--links-->';
const END = '<!--/links-->';

/** The links of the report in `dir` (none when links.json is absent); a malformed file is an error naming it. */
export function readReportLinks(dir: string): ReportLink[] {
  const file = path.join(dir, LINKS_FILE);
  if (!fs.existsSync(file)) return [];
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: invalid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(v) || !v.every((l) => typeof l?.href === 'string' && typeof l?.text === 'string')) {
    throw new Error(`${file}: expected an array of {"href": string, "text": string}`);
  }
  return v as ReportLink[];
}

/** The page's links section, between the markers addReportLink looks for (markers only when there are none). */
export function linksSectionHtml(links: readonly ReportLink[]): string {
  if (links.length === 0) return START + END;
  const items = links.map((l) => `<li><a href="${esc(l.href)}">${esc(l.text)}</a></li>`).join('');
  return `${START}<section id="links"><h2>See also</h2><ul>${items}</ul></section>${END}`;
}

/**
 * Adds `link` to the report in `dir` (replacing one with the same href) and updates its index.html, if
 * there is one. A page from before links existed (no markers) gets the section before its summary.
 */
export function addReportLink(dir: string, link: ReportLink): void {
  const links = readReportLinks(dir).filter((l) => l.href !== link.href);
  links.push(link);
  writeJsonAtomic(path.join(dir, LINKS_FILE), links);
  const index = path.join(dir, 'index.html');
  if (!fs.existsSync(index)) return;
  const html = fs.readFileSync(index, 'utf8');
  const section = linksSectionHtml(links);
  const a = html.indexOf(START);
  const b = html.indexOf(END, a);
  let out: string;
  if (a >= 0 && b >= 0) out = html.slice(0, a) + section + html.slice(b + END.length);
  else {
    const at = html.indexOf('<section id="summary">');
    if (at < 0) throw new Error(`${index}: not a streetseg training report (no summary section), so the link cannot be added`);
    out = html.slice(0, at) + section + '\n' + html.slice(at);
  }
  writeFileAtomic(index, out);
}
