// PLACEHOLDER: implemented by the routing work (normalize-path.ts, match.ts, router.ts).
import type { MatchInput, RouteEntry, RouteHit } from './types.js';

export class Router<R> {
  constructor(readonly entries: readonly RouteEntry<R>[]) {}
  match(_input: MatchInput): RouteHit<R> | undefined {
    throw new Error('not implemented');
  }
}
