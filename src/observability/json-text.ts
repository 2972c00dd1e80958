// JSON text for values written into log lines by hand (access log, decision log).
import type { DecisionRecord } from '../pipeline/context.js';

/** A JSON string literal; values without a quote, backslash, control or non-ASCII character are
 * only wrapped in quotes (the common case: no regex-driven escaping, no JSON.stringify). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;
export const quoted = (v: string) => (NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`);

const opt = (name: string, v: string | undefined) => (v === undefined ? '' : `,"${name}":${quoted(v)}`);

/** Edge decisions (authz, limits): which filter, policy and statement decided, and was it enforced. */
export function formatDecisions(ds: readonly DecisionRecord[]): string {
  let out = '[';
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    out +=
      `${i ? ',' : ''}{"filter":${quoted(d.filter)},"allowed":${d.allowed},"code":${d.code === undefined ? 'null' : quoted(d.code)}` +
      `${opt('auth_method', d.authMethod)}${opt('subject', d.subject)}` +
      `${opt('policy', d.policy)}${opt('statement', d.statement)}${opt('condition', d.condition)},"enforced":${d.enforced}}`;
  }
  return out + ']';
}

