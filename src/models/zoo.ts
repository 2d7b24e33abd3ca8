// The model zoo: trained HF checkpoint directories shipped under models/NAME/, each with a README.md model
// card. The card's YAML header holds the headline evaluation as `streetseg eval` prints it, so the card
// can be checked against a fresh evaluation of the shipped files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { repoRoot } from '../util/paths.js';

export const ZOO_CARD = { file: 'README.md', headerKey: 'streetseg' } as const;
export const zooRoot = (): string => path.join(repoRoot, 'models');

const metric = z.string().regex(/^\d\.\d{4}$/, 'a metric printed with 4 decimals, e.g. "0.5987"');
const headlineSchema = z.object({
  model: z.string(),
  split: z.string(),
  epoch: z.number().int().positive(),
  mean_iou: metric,
  mean_accuracy: metric,
  overall_accuracy: metric,
  scales: z.array(z.number().positive()).min(1),
});
export type ZooHeadline = Omit<z.infer<typeof headlineSchema>, 'model'>;

/** The headline of models/NAME/README.md's YAML header; errors name the card and the field. */
export function readZooCard(dir: string): z.infer<typeof headlineSchema> {
  const file = path.join(dir, ZOO_CARD.file);
  const text = fs.readFileSync(file, 'utf8');
  const m = /^---\n([\s\S]*?)\n---\n/.exec(text);
  if (!m) throw new Error(`${file}: expected a YAML header between --- lines`);
  const header = parseYaml(m[1]!) as Record<string, unknown> | null;
  const r = headlineSchema.safeParse(header?.[ZOO_CARD.headerKey]);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`${file}: ${ZOO_CARD.headerKey}.${issue.path.join('.')}: ${issue.message}`);
  }
  return r.data;
}

/** The zoo's model directories (those holding a config.json), sorted by name. */
export function zooModels(root = zooRoot()): string[] {
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).sort().map((n) => path.join(root, n)).filter((d) => fs.existsSync(path.join(d, 'config.json')));
}
