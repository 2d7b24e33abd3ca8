// Parses ATen function schema strings, as libtorch prints them (c10::toString(FunctionSchema)), into
// the small model the op generator needs. Only the schema grammar libtorch emits is accepted; anything
// else is an error that quotes the schema, so a libtorch upgrade with new syntax fails loudly.

export type SchemaType =
  | { kind: 'base'; name: string } // Tensor, int, SymInt, float, Scalar, bool, str, ScalarType, ...
  | { kind: 'optional'; elem: SchemaType } // T?
  | { kind: 'list'; elem: SchemaType; size: number | null }; // T[] or T[N]

export interface SchemaArg {
  name: string;
  type: SchemaType;
  /** The default as written in the schema ("1", "None", "[]", "\"none\""), or null when required. */
  defaultValue: string | null;
  kwargOnly: boolean;
}

export interface OpSchema {
  /** Operator name without namespace ("add_"), overload ("Tensor" or ""). */
  name: string;
  overload: string;
  args: SchemaArg[];
  returns: SchemaType[];
  /** The schema string it was parsed from. */
  text: string;
}

class SchemaError extends Error {
  constructor(schema: string, msg: string) {
    super(`op schema '${schema}': ${msg}`);
    this.name = 'SchemaError';
  }
}

/** Index of the bracket closing the one opened at `open`, honouring nesting and quoted strings. */
function closing(s: string, open: number, schema: string): number {
  let depth = 0;
  let quote = '';
  for (let i = open; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '(' || c === '[') {
      depth++;
    } else if (c === ')' || c === ']') {
      if (--depth === 0) return i;
    }
  }
  throw new SchemaError(schema, `unbalanced '${s[open]}' at offset ${open}`);
}

/** Splits on commas that are outside brackets and strings. */
function splitTopLevel(s: string, schema: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '(' || c === '[' || c === '"' || c === "'") {
      i = c === '"' || c === "'" ? closingQuote(s, i, schema) : closing(s, i, schema);
    } else if (c === ',') {
      parts.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = s.slice(start).trim();
  if (last || parts.length) parts.push(last);
  return parts;
}

function closingQuote(s: string, open: number, schema: string): number {
  for (let i = open + 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === s[open]) return i;
  }
  throw new SchemaError(schema, `unterminated string at offset ${open}`);
}

/** Parses a type such as "Tensor(a!)", "int[2]", "SymInt[]?", "Tensor?[]" or "Tensor(a)[]". */
export function parseType(text: string, schema = text): SchemaType {
  const m = /^([A-Za-z_]\w*)/.exec(text);
  if (!m) throw new SchemaError(schema, `cannot read a type from '${text}'`);
  let t: SchemaType = { kind: 'base', name: m[1]! };
  let i = m[0].length;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '(') {
      i = closing(text, i, schema) + 1; // alias annotation: Tensor(a!), Tensor(a -> *)
    } else if (c === '?') {
      t = { kind: 'optional', elem: t };
      i++;
    } else if (c === '[') {
      const end = closing(text, i, schema);
      const inner = text.slice(i + 1, end).trim();
      if (inner !== '' && !/^\d+$/.test(inner)) throw new SchemaError(schema, `bad list size '[${inner}]' in '${text}'`);
      t = { kind: 'list', elem: t, size: inner === '' ? null : Number(inner) };
      i = end + 1;
    } else {
      throw new SchemaError(schema, `unexpected '${c}' in type '${text}'`);
    }
  }
  return t;
}

/** Splits "TYPE NAME" (the type may hold spaces inside its alias annotation: "Tensor(a -> *) self"). */
function splitTypeAndName(decl: string, schema: string): [string, string] {
  for (let i = 0; i < decl.length; i++) {
    const c = decl[i]!;
    if (c === '(' || c === '[') i = closing(decl, i, schema);
    else if (/\s/.test(c)) return [decl.slice(0, i), decl.slice(i).trim()];
  }
  return [decl, ''];
}

function parseArg(decl: string, kwargOnly: boolean, schema: string): SchemaArg {
  const [typeText, rest] = splitTypeAndName(decl, schema);
  const eq = rest.indexOf('=');
  const name = (eq >= 0 ? rest.slice(0, eq) : rest).trim();
  if (!/^[A-Za-z_]\w*$/.test(name)) throw new SchemaError(schema, `argument '${decl}' has no valid name`);
  return {
    name,
    type: parseType(typeText, schema),
    defaultValue: eq >= 0 ? rest.slice(eq + 1).trim() : null,
    kwargOnly,
  };
}

function parseReturns(text: string, schema: string): SchemaType[] {
  const t = text.trim();
  const decls = t.startsWith('(') && closing(t, 0, schema) === t.length - 1 ? splitTopLevel(t.slice(1, -1), schema) : [t];
  return decls.filter((d) => d !== '').map((d) => parseType(splitTypeAndName(d, schema)[0], schema));
}

/** Parses "aten::name.overload(args) -> returns". */
export function parseSchema(text: string): OpSchema {
  const head = /^\s*(?:[A-Za-z_]\w*::)?([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?\(/.exec(text);
  if (!head) throw new SchemaError(text, "expected 'namespace::name.overload(arguments) -> returns'");
  const open = head[0].length - 1;
  const close = closing(text, open, text);
  const arrow = /^\s*->\s*/.exec(text.slice(close + 1));
  if (!arrow) throw new SchemaError(text, "expected '->' after the argument list");
  const args: SchemaArg[] = [];
  let kwargOnly = false;
  for (const decl of splitTopLevel(text.slice(open + 1, close), text)) {
    if (decl === '*') kwargOnly = true;
    else if (decl === '') throw new SchemaError(text, 'empty argument');
    else args.push(parseArg(decl, kwargOnly, text));
  }
  return {
    name: head[1]!,
    overload: head[2] ?? '',
    args,
    returns: parseReturns(text.slice(close + 1 + arrow[0].length), text),
    text: text.trim(),
  };
}
