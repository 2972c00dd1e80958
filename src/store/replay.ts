// Replay cache: "was this key seen before, within its time to live?" as one atomic
// check-and-remember. SigV4 uses it to refuse a signature seen twice inside its validity window.
// The embedded default is in-process memory (exact for one process); a Redis implementation
// (SET key 1 NX PX ttl) can stand behind the same interface, which is why `seen` may return a
// promise.
import type { Clock, MaybePromise } from '../pipeline/filter.js';

export interface ReplayCache {
  /**
   * Records `key` for `ttlMs` and reports whether it was already recorded and still live.
   * Atomic: of two concurrent calls with one key, exactly one gets false.
   */
  seen(key: string, ttlMs: number): MaybePromise<boolean>;
}

export interface MemoryReplayCacheOptions {
  clock: Clock;
  /** Most keys held at once (default 1,000,000). */
  maxEntries?: number;
}

export interface MemoryReplayCache extends ReplayCache {
  seen(key: string, ttlMs: number): boolean;
  readonly size: number;
  /** Live entries dropped to stay within maxEntries: each is a replay the cache can no longer catch. */
  readonly evictions: number;
}

/**
 * A bounded in-memory replay cache. Entries sit in a Map in insertion order; each call drops a few
 * expired entries from the front, and when the cache is full the oldest entry goes (counted in
 * `evictions`). Replays are caught exactly while (requests per second × window) stays below
 * maxEntries: with the defaults (1M entries, a ±5 min window) that is about 1,600 signed requests
 * per second per process, at roughly 150 bytes per entry.
 */
export function createMemoryReplayCache(opts: MemoryReplayCacheOptions): MemoryReplayCache {
  const clock = opts.clock;
  const max = opts.maxEntries ?? 1_000_000;
  const entries = new Map<string, number>();
  let evictions = 0;
  return {
    get size() {
      return entries.size;
    },
    get evictions() {
      return evictions;
    },
    seen(key, ttlMs) {
      const now = clock.now();
      const until = entries.get(key);
      if (until !== undefined) {
        if (until > now) return true;
        entries.delete(key);
      }
      // Amortised sweep: a handful of expired entries from the oldest end per insertion.
      let n = 0;
      for (const [k, u] of entries) {
        if (u > now || ++n > 8) break;
        entries.delete(k);
      }
      if (entries.size >= max) {
        entries.delete(entries.keys().next().value!);
        evictions++;
      }
      entries.set(key, now + Math.max(1, ttlMs));
      return false;
    },
  };
}
