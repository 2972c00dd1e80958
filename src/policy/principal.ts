// Principal / NotPrincipal. `"*"` is anyone, anonymous callers included; the object form lists
// Role, Subject, Issuer, AuthMethod (OR across keys, as AWS's Principal map) and never matches an
// anonymous caller.
import type { IssueSink } from './errors.js';
import { Pattern } from './pattern.js';
import { isPlainObject } from './shape.js';
import { didYouMean } from './suggest.js';
import type { PolicyIdentity } from './types.js';

const KEYS = ['Role', 'Subject', 'Issuer', 'AuthMethod'] as const;
const METHODS = ['jwt', 'sigv4', 'api_key', 'mtls'];

export class PrincipalMatcher {
  readonly anyone: boolean;
  readonly #roles: readonly Pattern[];
  readonly #subjects: readonly Pattern[];
  readonly #issuers: readonly Pattern[];
  readonly #methods: readonly Pattern[];

  constructor(anyone: boolean, byKey: Partial<Record<(typeof KEYS)[number], Pattern[]>>) {
    this.anyone = anyone;
    this.#roles = byKey.Role ?? [];
    this.#subjects = byKey.Subject ?? [];
    this.#issuers = byKey.Issuer ?? [];
    this.#methods = byKey.AuthMethod ?? [];
  }

  matches(id: PolicyIdentity | undefined): boolean {
    if (this.anyone) return true;
    if (id === undefined) return false;
    // Principal patterns have no variables, so no request is needed to test them.
    const none = undefined as never;
    for (const p of this.#subjects) if (p.test(id.subject, none)) return true;
    if (id.issuer !== undefined) for (const p of this.#issuers) if (p.test(id.issuer, none)) return true;
    for (const p of this.#methods) if (p.test(id.kind, none)) return true;
    for (const p of this.#roles) for (const r of id.roles) if (p.test(r, none)) return true;
    return false;
  }
}

/** Compiles a Principal or NotPrincipal value; `sink` is at that member. */
export function compilePrincipal(raw: unknown, sink: IssueSink): PrincipalMatcher | undefined {
  if (raw === '*') return new PrincipalMatcher(true, {});
  if (!isPlainObject(raw)) {
    sink.report('must be "*" or an object with Role, Subject, Issuer or AuthMethod');
    return undefined;
  }
  const before = sink.count;
  const byKey: Partial<Record<(typeof KEYS)[number], Pattern[]>> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!(KEYS as readonly string[]).includes(k)) {
      sink.report(`unknown principal key ${JSON.stringify(k)}${didYouMean(k, KEYS)}`, k);
      continue;
    }
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0) sink.report('needs at least one value', k);
    const patterns: Pattern[] = [];
    list.forEach((s, i) => {
      const at = Array.isArray(v) ? [k, i] : [k];
      if (typeof s !== 'string' || s === '') return sink.report('must be a non-empty string', ...at);
      if (k === 'AuthMethod' && !/[*?]/.test(s) && !METHODS.includes(s)) {
        return sink.report(`unknown auth method ${JSON.stringify(s)} (one of ${METHODS.join(', ')})`, ...at);
      }
      patterns.push(new Pattern([{ t: 'text', s }], s, { wildcards: true, ignoreCase: false }));
    });
    byKey[k as (typeof KEYS)[number]] = patterns;
  }
  if (Object.keys(raw).length === 0) sink.report('must list at least one of Role, Subject, Issuer, AuthMethod');
  return sink.count === before ? new PrincipalMatcher(false, byKey) : undefined;
}
