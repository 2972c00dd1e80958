// The embedded limit store: exact within one process (JavaScript runs one check at a time, so a
// check is atomic), allocation-light (counters are updated in place; the per-request scratch is
// reused), and bounded: a counter that has refilled completely (bucket) or whose window ended
// (quota) is idle and equivalent to no counter at all, so it is dropped; beyond `maxBuckets` the
// least recently charged counter (to the second) goes, counted as an eviction: that caller's
// usage is forgotten.
import type { Clock } from '../pipeline/filter.js';
import { newStats, type CheckOptions, type CheckResult, type LimitOutcome, type LimitSpec, type LimitStore, type LimitStoreStats } from './limits.js';

/** Floating-point slack: 0.1 + 0.2 tokens make a whole token. */
const EPS = 1e-9;
const SWEEP_EVERY_MS = 30_000;

interface Entry {
  /** Bucket: tokens; window: requests counted. */
  a: number;
  /** Bucket: last update (ms); window: the window's start. */
  b: number;
  /** When the counter becomes idle (equivalent to absent). */
  exp: number;
  /** When it last moved to the Map's recent end. */
  moved: number;
}

/** Re-insert a hot counter at most this often: LRU order to the second, not a Map delete+set per request. */
const MOVE_EVERY_MS = 1000;

export interface MemoryLimitStoreOptions {
  clock: Clock;
  /** Most counters held at once (default 1,000,000, about 100 MB at worst). */
  maxBuckets?: number;
  /** Run the periodic sweep of idle counters (default true; the fallback store of redis.ts too). */
  sweep?: boolean;
}

export interface MemoryLimitStore extends LimitStore {
  readonly type: 'memory';
  check(specs: readonly LimitSpec[], keys: readonly string[], opts?: CheckOptions): CheckResult;
  readonly size: number;
  /** Drop idle counters now (the timer does it every 30 s). */
  sweep(): void;
}

export function createMemoryLimitStore(opts: MemoryLimitStoreOptions): MemoryLimitStore {
  const clock = opts.clock;
  const max = opts.maxBuckets ?? 1_000_000;
  const entries = new Map<string, Entry>();
  const stats: LimitStoreStats = newStats();
  // Per-check scratch, grown as needed and reused (checks never overlap: they are synchronous).
  let level = new Float64Array(8);
  let found: (Entry | undefined)[] = new Array(8);

  const sweep = () => {
    const now = clock.now();
    for (const [k, e] of entries) if (e.exp <= now) entries.delete(k);
  };
  const timer = opts.sweep === false ? undefined : setInterval(sweep, SWEEP_EVERY_MS);
  timer?.unref();

  function check(specs: readonly LimitSpec[], keys: readonly string[], o?: CheckOptions): CheckResult {
    const now = clock.now();
    const n = specs.length;
    if (level.length < n) {
      level = new Float64Array(n * 2);
      found = new Array(n * 2);
    }
    const outcomes: LimitOutcome[] = new Array(n);
    let blocked = false;
    // Phase 1: read every counter and decide, charging nothing.
    for (let i = 0; i < n; i++) {
      const s = specs[i]!;
      const e = entries.get(keys[i]!);
      found[i] = e;
      let ok: boolean;
      if (s.kind === 'bucket') {
        let tokens = s.capacity;
        if (e !== undefined) {
          const elapsed = now > e.b ? now - e.b : 0;
          tokens = Math.min(s.capacity, e.a + elapsed * s.ratePerMs);
        }
        level[i] = tokens;
        ok = tokens >= 1 - EPS;
      } else {
        const start = s.window!.start(now);
        const used = e !== undefined && e.b === start ? e.a : 0;
        level[i] = used;
        ok = used + 1 <= s.capacity;
      }
      if (!ok && !s.shadow) blocked = true;
      outcomes[i] = { ok, remaining: 0, waitMs: 0, resetMs: 0, windowMs: 0 };
    }
    // Phase 2: all-or-nothing. Charge every limit with room, or none when one enforcing limit refused.
    const charge = !blocked && o?.dryRun !== true;
    for (let i = 0; i < n; i++) {
      const s = specs[i]!;
      const out = outcomes[i]!;
      const key = keys[i]!;
      const take = charge && out.ok;
      if (s.kind === 'bucket') {
        const tokens = level[i]!;
        const after = take ? Math.max(0, tokens - 1) : tokens;
        const rate = s.ratePerMs;
        out.remaining = Math.floor(after + EPS);
        out.waitMs = out.ok ? 0 : Math.ceil((1 - tokens) / rate);
        out.resetMs = Math.max(0, Math.ceil((s.capacity - after) / rate - EPS));
        out.windowMs = Math.ceil(s.capacity / rate);
        if (take) write(key, found[i], after, now, now + out.resetMs, now);
      } else {
        const w = s.window!;
        const start = w.start(now);
        const end = w.end(now);
        const used = level[i]! + (take ? 1 : 0);
        out.remaining = Math.max(0, s.capacity - used);
        out.resetMs = end - now;
        out.waitMs = out.ok ? 0 : end - now;
        out.windowMs = end - start;
        if (take) write(key, found[i], used, start, end, now);
      }
      found[i] = undefined;
    }
    stats.decisions++;
    return { admitted: !blocked, outcomes, source: 'store' };
  }

  function write(key: string, e: Entry | undefined, a: number, b: number, exp: number, now: number): void {
    if (e !== undefined) {
      e.a = a;
      e.b = b;
      e.exp = exp;
      // Re-insert so the Map's order is least-recently-charged first (eviction and sweep order).
      if (now - e.moved >= MOVE_EVERY_MS) {
        e.moved = now;
        entries.delete(key);
        entries.set(key, e);
      }
      return;
    }
    // Amortised sweep: a few idle counters from the old end per new counter.
    let k = 0;
    for (const [old, oe] of entries) {
      if (oe.exp > now || ++k > 4) break;
      entries.delete(old);
    }
    if (entries.size >= max) {
      entries.delete(entries.keys().next().value!);
      stats.evictions++;
    }
    entries.set(key, { a, b, exp, moved: now });
  }

  return {
    type: 'memory',
    check,
    stats,
    get size() {
      return entries.size;
    },
    sweep,
    async close() {
      if (timer) clearInterval(timer);
    },
  };
}
