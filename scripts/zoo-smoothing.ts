// The model card's "Video smoothing" section, from the model's `bench smooth --record` JSON
// (docs/temporal/NAME.json): the smoother a bare --smooth uses and what it does on CamVid val. Written
// only while the checkpoint's config.json records that same smoother: a freshly published copy records
// none until `bench smooth --record` has measured it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../src/util/paths.js';

interface SmoothRow {
  smooth: string;
  msPerFrame: number;
  eval: { meanIou: number; flicker: number; consistency: number };
}

export function smoothingSection(name: string, checkpointDir: string): string {
  const file = path.join(repoRoot, 'docs', 'temporal', `${name}.json`);
  if (!fs.existsSync(file)) return '';
  const r = JSON.parse(fs.readFileSync(file, 'utf8')).result as { best: string; modelMsPerFrame: number; rows: SmoothRow[] };
  const recorded = (JSON.parse(fs.readFileSync(path.join(checkpointDir, 'config.json'), 'utf8')) as { streetseg_smooth?: string }).streetseg_smooth;
  if (recorded !== r.best) return '';
  const none = r.rows.find((x) => x.smooth === 'none');
  const best = r.rows.find((x) => x.smooth === r.best);
  if (!none || !best) throw new Error(`${file}: no 'none' row or no row for the chosen smoother '${r.best}'`);
  const pct = (v: number) => (100 * v).toFixed(2);
  const what =
    r.best === 'none'
      ? 'a bare `--smooth` leaves its output as it is: no candidate kept mIoU within 0.5 points on the tuning drives.'
      : `on val (101 consecutive frames, 15 fps): flicker ${pct(none.eval.flicker)}% → ${pct(best.eval.flicker)}% ` +
        `(${Math.round((100 * (best.eval.flicker - none.eval.flicker)) / none.eval.flicker)}%), mIoU ${pct(none.eval.meanIou)} → ${pct(best.eval.meanIou)}, ` +
        `consistency ${pct(none.eval.consistency)}% → ${pct(best.eval.consistency)}%, ${best.msPerFrame.toFixed(1)} ms per frame beside the model's ${r.modelMsPerFrame.toFixed(0)} ms.`;
  return `## Video smoothing

\`config.json\` records \`streetseg_smooth: "${r.best}"\`, chosen by \`streetseg bench smooth --record\` on CamVid
train drives 0001TP and 0006R0 (never val); ${what} Every candidate: [docs/temporal.md](../../docs/temporal.md),
raw JSON [docs/temporal/${name}.json](../../docs/temporal/${name}.json).

`;
}
