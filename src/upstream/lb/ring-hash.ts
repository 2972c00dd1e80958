// Consistent hashing on a ring (ketama style): each endpoint owns POINTS_PER_WEIGHT points per unit
// of weight, placed by hashing "origin#i". A key goes to the owner of the first point at or after
// its hash. The points of an endpoint do not depend on the others, so when one leaves only the
// keys it owned move (bounded remapping); the rest stay where they were.
import type { BalancerFactory } from './balancer.js';
import type { Endpoint } from '../endpoint.js';

/** Points per unit of weight; scaled down only when the ring would exceed MAX_POINTS. */
const POINTS_PER_WEIGHT = 160;
const MAX_POINTS = 1 << 17;

/** FNV-1a over UTF-16 code units, finished with murmur3's fmix32 for avalanche. */
export function hashKey(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const ringHash: BalancerFactory = (hosts, rand) => {
  let total = 0;
  for (const h of hosts) total += h.weight;
  const per = total * POINTS_PER_WEIGHT > MAX_POINTS ? Math.max(1, Math.floor(MAX_POINTS / total)) : POINTS_PER_WEIGHT;
  const points: { hash: number; host: Endpoint }[] = [];
  for (const h of hosts) for (let i = 0; i < h.weight * per; i++) points.push({ hash: hashKey(`${h.origin}#${i}`), host: h });
  points.sort((a, b) => a.hash - b.hash || (a.host.origin < b.host.origin ? -1 : 1));
  const hashes = new Uint32Array(points.map((p) => p.hash));
  const owners = points.map((p) => p.host);
  const n = owners.length;
  return {
    pick(hash, exclude) {
      if (n === 0) return undefined;
      let i: number;
      if (hash === undefined) i = (rand() * n) | 0;
      else {
        let lo = 0;
        let hi = n;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (hashes[mid]! < hash) lo = mid + 1;
          else hi = mid;
        }
        i = lo === n ? 0 : lo;
      }
      if (exclude === undefined || exclude.length === 0) return owners[i]!;
      // Walk clockwise to the next owner not tried yet (bounded by the number of points).
      for (let k = 0; k < n; k++) {
        const e = owners[(i + k) % n]!;
        if (!exclude.includes(e)) return e;
      }
      return owners[i]!;
    },
  };
};
