// Policy variables: `${key}`, `${key, 'default'}`, and the escapes `${*}` `${?}` `${$}` that
// write a wildcard character literally. Parsing happens once; requests only substitute.
import { resolveKey, type KeyRef } from './keys.js';

export type Token =
  | { readonly t: 'text'; readonly s: string } // may hold wildcards, when the context has them
  | { readonly t: 'literal'; readonly s: string } // never a wildcard
  | { readonly t: 'var'; readonly key: KeyRef; readonly fallback: string | undefined };

const ESCAPES: Record<string, string> = { '*': '*', '?': '?', $: '$' };

/** Splits a template into tokens, or returns an error message. */
export function parseTemplate(src: string): Token[] | string {
  const out: Token[] = [];
  let text = '';
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('${', i);
    if (open < 0) {
      text += src.slice(i);
      break;
    }
    text += src.slice(i, open);
    const close = findClose(src, open + 2);
    if (close < 0) return `unterminated policy variable at ${JSON.stringify(src.slice(open))}`;
    const inner = src.slice(open + 2, close);
    i = close + 1;
    const escaped = ESCAPES[inner];
    if (escaped !== undefined) {
      if (text) out.push({ t: 'text', s: text });
      text = '';
      out.push({ t: 'literal', s: escaped });
      continue;
    }
    const v = parseVariable(inner);
    if (typeof v === 'string') return v;
    if (text) out.push({ t: 'text', s: text });
    text = '';
    out.push(v);
  }
  if (text) out.push({ t: 'text', s: text });
  return out;
}

// The closing brace, skipping one inside a quoted default (`${k, 'a}b'}`).
function findClose(src: string, from: number): number {
  let quoted = false;
  for (let i = from; i < src.length; i++) {
    const c = src[i];
    if (c === "'") quoted = !quoted;
    else if (c === '}' && !quoted) return i;
  }
  return -1;
}

function parseVariable(inner: string): Token | string {
  const m = /^\s*([^,\s]+)\s*(?:,\s*'([^']*)'\s*)?$/.exec(inner);
  if (!m) return `malformed policy variable \${${inner}} (expected \${key} or \${key, 'default'})`;
  const key = resolveKey(m[1]!);
  if (typeof key === 'string') return key.replace('condition key', 'policy variable');
  if (key.kind === 'multi') return `policy variable \${${m[1]}} is multi-valued and cannot be substituted into a string`;
  return { t: 'var', key, fallback: m[2] };
}

export const hasVariables = (tokens: readonly Token[]): boolean => tokens.some((t) => t.t === 'var');

/** The string value of a variable for this request; undefined means "no value". */
export function variableValue(tok: Extract<Token, { t: 'var' }>, req: Parameters<KeyRef['get']>[0]): string | undefined {
  const v = tok.key.get(req);
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return tok.key.kind === 'time' ? new Date(v).toISOString() : String(v);
    case 'boolean':
      return String(v);
    default:
      // Arrays and objects have no single string form; they count as "no value".
      return tok.fallback;
  }
}
