// Header and query-parameter matchers, and the lazily parsed query they read.
import type { StringMatchConfig } from '../config/schema.js';

export interface StringMatcher {
  /** Lower-cased for headers; query names are case-sensitive and kept as written. */
  readonly name: string;
  readonly exact: string | undefined;
  readonly prefix: string | undefined;
  /** false: must be absent. Otherwise the field must be present (also when only exact/prefix is given). */
  readonly present: boolean;
}

export function compileStringMatch(config: StringMatchConfig, lowerCaseName: boolean): StringMatcher {
  return {
    name: lowerCaseName ? config.name.toLowerCase() : config.name,
    exact: config.exact,
    prefix: config.prefix,
    present: config.present !== false,
  };
}

/** Marks a query parameter given more than once. */
export const REPEATED = null;

/**
 * `value`: undefined when absent, REPEATED when a query parameter appears several times. Every
 * condition given must hold (a config with present: false and a value can never match).
 * A repeated parameter satisfies presence but never exact/prefix: backends disagree on whether
 * the first or the last one counts, so routing on either would be routing on a guess.
 */
export function testString(m: StringMatcher, value: string | typeof REPEATED | undefined): boolean {
  if (value === undefined) return !m.present && m.exact === undefined && m.prefix === undefined;
  if (!m.present) return false;
  if (m.exact === undefined && m.prefix === undefined) return true;
  if (value === REPEATED) return false;
  return (m.exact === undefined || value === m.exact) && (m.prefix === undefined || value.startsWith(m.prefix));
}

/**
 * The query of one request, parsed on first use only: most routes have no query matchers, and
 * the raw query is forwarded untouched either way.
 */
export class LazyQuery {
  #params: Map<string, string | typeof REPEATED> | undefined;
  #valid = true;

  constructor(readonly raw: string) {}

  /**
   * False when some name or value is not valid percent-encoding: then no query matcher can be
   * evaluated with certainty, and they all fail.
   */
  get valid(): boolean {
    this.#parse();
    return this.#valid;
  }

  get(name: string): string | typeof REPEATED | undefined {
    return this.#parse().get(name);
  }

  #parse(): Map<string, string | typeof REPEATED> {
    if (this.#params !== undefined) return this.#params;
    const params = new Map<string, string | typeof REPEATED>();
    this.#params = params;
    if (this.raw === '') return params;
    for (const pair of this.raw.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const name = decode(eq === -1 ? pair : pair.slice(0, eq));
      const value = eq === -1 ? '' : decode(pair.slice(eq + 1));
      if (name === undefined || value === undefined) {
        this.#valid = false;
        params.clear();
        return params;
      }
      params.set(name, params.has(name) ? REPEATED : value);
    }
    return params;
  }
}

/** application/x-www-form-urlencoded decoding, as the backends that read the query do it. */
function decode(s: string): string | undefined {
  const plus = s.includes('+') ? s.replaceAll('+', ' ') : s;
  if (!plus.includes('%')) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    return undefined;
  }
}
