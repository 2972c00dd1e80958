// Text for values written into log lines by hand (access log, decision log): JSON strings and
// the timestamp's second-resolution part.
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


let prefixSecond = -1;
let prefix = '';
/** "2026-11-30T03:26:01." for the second starting at `sec` (epoch ms, a whole second); formatted
 * once per second, since every line of that second shares it. */
export function isoSecondPrefix(sec: number): string {
  if (sec !== prefixSecond) {
    prefixSecond = sec;
    prefix = new Date(sec).toISOString().slice(0, 20);
  }
  return prefix;
}
