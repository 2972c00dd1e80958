// Least-request, power of two choices (Envoy): draw two distinct endpoints at random (by weight
// when weights differ) and take the one with fewer attempts in flight; with unequal weights the
// score is weight / (active + 1), Envoy's formula with active_request_bias 1.
import { cumulativeWeights, firstNotExcluded, weightedIndex, type BalancerFactory } from './balancer.js';
import type { Endpoint } from '../endpoint.js';

export const leastRequest: BalancerFactory = (hosts, rand) => {
  const n = hosts.length;
  const cumulative = cumulativeWeights(hosts);
  const better = (a: Endpoint, b: Endpoint) =>
    cumulative === undefined ? (a.active <= b.active ? a : b) : a.weight / (a.active + 1) >= b.weight / (b.active + 1) ? a : b;
  return {
    pick(_hash, exclude) {
      if (n === 0) return undefined;
      if (n === 1) return hosts[0]!;
      let i: number;
      let j: number;
      if (cumulative === undefined) {
        i = (rand() * n) | 0;
        j = (i + 1 + ((rand() * (n - 1)) | 0)) % n;
      } else {
        i = weightedIndex(cumulative, rand());
        j = weightedIndex(cumulative, rand());
        if (j === i) j = (i + 1) % n;
      }
      let a = hosts[i]!;
      let b = hosts[j]!;
      if (exclude !== undefined && exclude.length > 0) {
        a = firstNotExcluded(hosts, i, exclude);
        b = firstNotExcluded(hosts, j, exclude);
      }
      return better(a, b);
    },
  };
};
