// Weighted round-robin by a precomputed interleaved schedule: per pick, one index increment.
import { firstNotExcluded, type Balancer, type BalancerFactory } from './balancer.js';
import type { Endpoint } from '../endpoint.js';

export const roundRobin: BalancerFactory = (hosts) => {
  const schedule: Endpoint[] = [];
  let maxW = 0;
  for (const h of hosts) maxW = Math.max(maxW, h.weight);
  for (let round = 1; round <= maxW; round++) for (const h of hosts) if (h.weight >= round) schedule.push(h);
  let next = 0;
  const b: Balancer = {
    pick(_hash, exclude) {
      const n = schedule.length;
      if (n === 0) return undefined;
      const i = next;
      next = i + 1 === n ? 0 : i + 1;
      return exclude === undefined || exclude.length === 0 ? schedule[i]! : firstNotExcluded(schedule, i, exclude);
    },
  };
  return b;
};
