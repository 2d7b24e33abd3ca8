// Config validation shared by every family: zod 4 schemas for the common HF fields, element schemas
// with one plain message each, and one formatter that names the file and the field path
// ("config.json: depths[1]: expected a positive integer, got -2"; "…: depths is missing").
import { z } from 'zod';

const expected = (what: string) => ({ error: `expected ${what}` });

export const positiveInt = z.number(expected('a positive integer')).int(expected('a positive integer')).positive(expected('a positive integer'));
export const positiveNumber = z.number(expected('a positive number')).positive(expected('a positive number'));
/** A probability-like rate in [0, 1). */
export const rate = z.number(expected('a number in [0, 1)')).min(0, expected('a number in [0, 1)')).lt(1, expected('a number in [0, 1)'));

/** The fields of BaseSegConfig (model_type is each family's literal). */
export const baseConfigShape = {
  num_channels: positiveInt.default(3),
  initializer_range: positiveNumber.default(0.02),
  semantic_loss_ignore_index: z.number(expected('an integer')).int(expected('an integer')).default(255),
  id2label: z.record(z.string(), z.string(expected('a class name (string)')), expected('an object {"0": name, …}')),
  label2id: z.record(z.string(), z.number(expected('an integer id')).int(expected('an integer id')), expected('an object {name: id, …}')).optional(),
};

/** Checks that id2label has the ids 0…n-1 and fills label2id from it when absent. */
export function checkLabels(c: { id2label: Record<string, string>; label2id?: Record<string, number> }, ctx: z.RefinementCtx): void {
  if (typeof c.id2label !== 'object' || c.id2label === null) return;
  const ids = Object.keys(c.id2label);
  if (ids.length === 0) ctx.addIssue({ code: 'custom', path: ['id2label'], message: 'expected at least one label', input: c.id2label });
  const want = ids.map((_, i) => String(i));
  if (ids.some((k) => !want.includes(k))) {
    ctx.addIssue({ code: 'custom', path: ['id2label'], message: `expected the ids 0…${ids.length - 1} as keys`, input: ids });
  }
}

export function withLabel2id<T extends { id2label: Record<string, string>; label2id?: Record<string, number> }>(c: T): T & { label2id: Record<string, number> } {
  return { ...c, label2id: c.label2id ?? Object.fromEntries(Object.entries(c.id2label).map(([i, l]) => [l, Number(i)])) };
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}…` : s;
};

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** Parses raw with schema; every problem is listed, each as "field: what was expected, got what". */
export function parseWithSchema<S extends z.ZodType>(schema: S, raw: unknown, where: string): z.output<S> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError(`${where}: expected a JSON object, got ${show(raw)}`);
  const r = schema.safeParse(raw, { reportInput: true });
  if (r.success) return r.data;
  const lines = r.error.issues.map((iss) => {
    const field = fieldPath(iss.path);
    if (iss.code === 'invalid_type' && iss.input === undefined) return `${field} is missing`;
    const msg = iss.message;
    return `${field ? `${field}: ` : ''}${msg}${'input' in iss ? `, got ${show(iss.input)}` : ''}`;
  });
  throw new TypeError(`${where}: ${lines.join('; ')}`);
}
