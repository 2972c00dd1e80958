// Weighted random.
import { cumulativeWeights, firstNotExcluded, weightedIndex, type BalancerFactory } from './balancer.js';

export const random: BalancerFactory = (hosts, rand) => {
  const cumulative = cumulativeWeights(hosts);
  const n = hosts.length;
  return {
    pick(_hash, exclude) {
      if (n === 0) return undefined;
      const i = cumulative === undefined ? (rand() * n) | 0 : weightedIndex(cumulative, rand());
      return exclude === undefined || exclude.length === 0 ? hosts[i]! : firstNotExcluded(hosts, i, exclude);
    },
  };
};
