// The router: the first route, in declared order, whose match holds (DESIGN.md §3).
import type { MatchInput, RouteEntry, RouteHit } from './types.js';
import { compileMatch, hostMatches, matchRoute, type CompiledMatch } from './match.js';
import { LazyQuery } from './string-match.js';

export { findShadowedRoutes, type ShadowedRoute } from './shadow.js';

interface Compiled<R> {
  readonly match: CompiledMatch;
  readonly value: R;
}

export class Router<R> {
  // Routes are pre-filtered by host: for each host named exactly by some route, the routes that
  // can match it (that name, a wildcard over it, or any host); for every other host, the routes
  // with a wildcard or no host. Each list keeps declared order and only drops routes that cannot
  // match that host, so the first hit is the one a linear scan finds (router.test.ts checks this
  // against a linear scan on random configs).
  readonly #byHost = new Map<string, readonly Compiled<R>[]>();
  readonly #otherHosts: readonly Compiled<R>[];

  /** Compiles every match; throws on an invalid host or path pattern. */
  constructor(readonly entries: readonly RouteEntry<R>[]) {
    const all: Compiled<R>[] = entries.map((e) => ({ match: compileMatch(e.match), value: e.value }));
    // In a host's own list every route matches that host by construction, so the per-request
    // host check is dropped. One copy per route, shared by every list it appears in: the lists
    // are hosts x routes long, and should cost pointers, not objects.
    const hostChecked = all.map((c) => ({ match: { ...c.match, hosts: undefined }, value: c.value }));
    const names = new Set<string>();
    for (const c of all) for (const h of c.match.hosts?.exact ?? []) names.add(h);
    for (const name of names) {
      const list: Compiled<R>[] = [];
      all.forEach(({ match: { hosts } }, i) => {
        if (hosts === undefined || hostMatches(hosts, name)) list.push(hostChecked[i]!);
      });
      this.#byHost.set(name, list);
    }
    this.#otherHosts = all.filter((c) => c.match.hosts === undefined || c.match.hosts.suffixes.length > 0);
  }

  match(input: MatchInput): RouteHit<R> | undefined {
    const candidates = this.#byHost.get(input.host) ?? this.#otherHosts;
    let query: LazyQuery | undefined;
    for (const c of candidates) {
      // One parse per request at most, and none unless some route looks at the query.
      if (c.match.query.length > 0) query ??= new LazyQuery(input.query);
      const params = matchRoute(c.match, input, query);
      if (params !== null) return { value: c.value, params };
    }
    return undefined;
  }
}
