// ${...} in config string values (DESIGN.md, Configuration):
//   ${NAME}                 environment variable; unset is an error
//   ${NAME:-default}        default when unset or empty, as in sh
//   ${secret:provider:ref}  a secret reference; the key path is remembered for redaction
//   $${                     a literal ${
// Anything else, such as the policy variable ${identity.sub}, is kept exactly as written, so
// policies can use the same ${} syntax without escaping.
import type { Env, SecretResolver } from './secrets.js';

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const ENV_DEFAULT = /^([A-Z_][A-Z0-9_]*):-(.*)$/s;
/** Other sh expansions (${X-d}, ${X:=d}, ${X:?msg}, ${X:+alt}): surely meant, but not supported. */
const SH_OPERATOR = /^[A-Z_][A-Z0-9_]*:?[-=?+]/;

export interface InterpolationIssue {
  /** Index of the `${` in the input string. */
  index: number;
  message: string;
  severity: 'error' | 'warning';
}

export interface Interpolated {
  value: string;
  /** True when any part came from a secret reference. */
  secret: boolean;
  /** The resolved secret values, so messages can be scrubbed of them. */
  secretValues: string[];
  /** True when the string changed (an env var or secret was substituted, or $${ unescaped). */
  changed: boolean;
  issues: InterpolationIssue[];
}

export interface InterpolateOptions {
  env: Env;
  secrets: SecretResolver;
}

export async function interpolate(input: string, opts: InterpolateOptions): Promise<Interpolated> {
  const result: Interpolated = { value: input, secret: false, secretValues: [], changed: false, issues: [] };
  if (!input.includes('${')) return result;

  let out = '';
  let i = 0;
  for (;;) {
    const start = input.indexOf('${', i);
    if (start < 0) break;
    if (start > 0 && input[start - 1] === '$') {
      out += input.slice(i, start - 1) + '${';
      i = start + 2;
      result.changed = true;
      continue;
    }
    const end = input.indexOf('}', start + 2);
    if (end < 0) break; // unterminated: not ours, keep as written
    out += input.slice(i, start);
    i = end + 1;
    const expr = input.slice(start, end + 1);
    const body = input.slice(start + 2, end);
    const issue = (message: string, severity: InterpolationIssue['severity'] = 'error') =>
      result.issues.push({ index: start, message, severity });

    if (ENV_NAME.test(body)) {
      const v = opts.env[body];
      if (v === undefined) issue(`environment variable ${body} is not set (use \${${body}:-default} for a default)`);
      out += v ?? '';
      result.changed = true;
    } else if (ENV_DEFAULT.test(body)) {
      const [, name, fallback] = ENV_DEFAULT.exec(body)!;
      const v = opts.env[name!];
      out += v === undefined || v === '' ? fallback! : v;
      result.changed = true;
    } else if (body.startsWith('secret:')) {
      const ref = body.slice('secret:'.length);
      const colon = ref.indexOf(':');
      result.changed = true;
      result.secret = true;
      if (colon <= 0 || colon === ref.length - 1) {
        issue(`malformed secret reference ${expr} (expected \${secret:provider:ref})`);
        continue;
      }
      try {
        const v = await opts.secrets.resolve(ref.slice(0, colon), ref.slice(colon + 1));
        result.secretValues.push(v);
        out += v;
      } catch (err) {
        issue(`secret ${expr}: ${(err as Error).message}`);
      }
    } else {
      if (SH_OPERATOR.test(body)) {
        issue(`${expr} is kept as written: only \${NAME} and \${NAME:-default} are expanded`, 'warning');
      }
      out += expr;
    }
  }
  result.value = out + input.slice(i);
  return result;
}
