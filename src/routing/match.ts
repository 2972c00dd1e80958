// One route's match, compiled once at config load into sets, strings and segment arrays that the
// request path only reads.
import type { RouteMatchConfig } from '../config/schema.js';
import type { MatchInput } from './types.js';
import { normalizeHost } from './host.js';
import { compilePath, matchPath, type Params, type PathMatcher } from './path-match.js';
import { compileStringMatch, LazyQuery, testString, type StringMatcher } from './string-match.js';

export interface HostMatcher {
  readonly exact: ReadonlySet<string>;
  /** '*.example.com' is kept as '.example.com'. */
  readonly suffixes: readonly string[];
}

export interface CompiledMatch {
  /** undefined: any host. */
  readonly hosts: HostMatcher | undefined;
  /** undefined: any method. */
  readonly methods: ReadonlySet<string> | undefined;
  /** undefined: any path. */
  readonly path: PathMatcher | undefined;
  readonly headers: readonly StringMatcher[];
  readonly query: readonly StringMatcher[];
}

/** Compiles a route's match. Throws (with a message naming the value) on an invalid host or path. */
export function compileMatch(config: RouteMatchConfig | undefined): CompiledMatch {
  // An empty host or method list means "no constraint", as in the Gateway API: "any of nothing"
  // would silently make the route dead.
  return {
    hosts: config?.host?.length ? compileHosts(config.host) : undefined,
    methods: config?.methods?.length ? new Set(config.methods) : undefined,
    path: config?.path ? compilePath(config.path) : undefined,
    headers: (config?.headers ?? []).map((h) => compileStringMatch(h, true)),
    query: (config?.query ?? []).map((q) => compileStringMatch(q, false)),
  };
}

function compileHosts(patterns: readonly string[]): HostMatcher | undefined {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const pattern of patterns) {
    if (pattern === '*') return undefined;
    const wildcard = pattern.startsWith('*.');
    const name = hostPattern(wildcard ? pattern.slice(2) : pattern);
    if (name === undefined || (wildcard && name.startsWith('['))) {
      throw new Error(`invalid host ${JSON.stringify(pattern)}: expected example.com, *.example.com or *`);
    }
    if (wildcard) suffixes.push('.' + name);
    else exact.add(name);
  }
  return { exact, suffixes };
}

/** Config hosts go through the request normalizer so both sides have one spelling; no ports. */
function hostPattern(name: string): string | undefined {
  const hasPort = name.startsWith('[') ? !name.endsWith(']') : name.includes(':');
  return hasPort ? undefined : normalizeHost(name);
}

/** Envoy semantics: '*.example.com' matches one or more labels before it, never 'example.com'. */
export function hostMatches(m: HostMatcher, host: string): boolean {
  if (m.exact.has(host)) return true;
  for (const suffix of m.suffixes) {
    if (host.length > suffix.length && host.endsWith(suffix)) return true;
  }
  return false;
}

/**
 * null: no match; undefined: match without parameters; otherwise the template parameters.
 * Pass the request's LazyQuery when trying several routes, so the query is parsed at most once.
 */
export function matchRoute(m: CompiledMatch, input: MatchInput, query: LazyQuery | undefined): Params | undefined | null {
  // Cheapest and most selective checks first; header lookups and query parsing come last.
  if (m.methods !== undefined && !m.methods.has(input.method)) return null;
  if (m.hosts !== undefined && !hostMatches(m.hosts, input.host)) return null;
  const params = m.path === undefined ? undefined : matchPath(m.path, input.path);
  if (params === null) return null;
  for (const h of m.headers) if (!testString(h, input.header(h.name))) return null;
  if (m.query.length > 0) {
    const q = query ?? new LazyQuery(input.query);
    if (!q.valid) return null;
    for (const qm of m.query) if (!testString(qm, q.get(qm.name))) return null;
  }
  return params;
}
