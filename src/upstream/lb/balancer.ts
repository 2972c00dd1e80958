// The balancer contract: one policy per file (round-robin.ts, least-request.ts, random.ts,
// ring-hash.ts). A balancer is built over the endpoints that take traffic right now (the cluster
// rebuilds it when health or membership changes) and picks one per attempt.
import type { Endpoint } from '../endpoint.js';

export interface Balancer {
  /**
   * `hash`: the request's key hash (ring_hash only; undefined: no key). `exclude`: endpoints this
   * request already tried; avoided when another endpoint is available, used when none is.
   */
  pick(hash: number | undefined, exclude: readonly Endpoint[] | undefined): Endpoint | undefined;
}

export type Random = () => number;
export type BalancerFactory = (hosts: readonly Endpoint[], random: Random) => Balancer;

export const EMPTY: Balancer = { pick: () => undefined };

/** Walks from `start` to the first endpoint not in `exclude`; `start`'s own when all are excluded. */
export function firstNotExcluded(hosts: readonly Endpoint[], start: number, exclude: readonly Endpoint[]): Endpoint {
  const n = hosts.length;
  for (let i = 0; i < n; i++) {
    const e = hosts[(start + i) % n]!;
    if (!exclude.includes(e)) return e;
  }
  return hosts[start % n]!;
}

/** Weighted random index via cumulative weights (binary search). */
export function weightedIndex(cumulative: readonly number[], r: number): number {
  const target = r * cumulative[cumulative.length - 1]!;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function cumulativeWeights(hosts: readonly Endpoint[]): number[] | undefined {
  let equal = true;
  const out: number[] = [];
  let sum = 0;
  for (const h of hosts) {
    if (h.weight !== hosts[0]!.weight) equal = false;
    sum += h.weight;
    out.push(sum);
  }
  return equal ? undefined : out;
}
