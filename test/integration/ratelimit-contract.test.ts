// One contract, two stores: the memory store and the Redis store (real redis-server, time injected
// through the script's test-only argument) must give the same answers to the same sequence. The
// vectors include AWS API Gateway's worked throttling examples (REFERENCE.md 3.1), checked against
// the exact bucket arithmetic.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createMemoryLimitStore } from '../../src/store/memory.js';
import { createRedisLimitStore } from '../../src/store/redis.js';
import type { CheckResult, LimitStore, StoreUnavailable } from '../../src/store/limits.js';
import { compileLimit, type CompiledLimit } from '../../src/filters/rate-limit/engine.js';
import { hasRedis, REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis.js';

const silent = pino({ level: 'silent' });

interface Harness {
  store: LimitStore;
  setTime(ms: number): void;
}

const bucket = (name: string, rate: number, burst: number, extra: Record<string, unknown> = {}): CompiledLimit =>
  compileLimit('rate_limit', { name, rate, burst, ...extra }, true, false);
const quota = (name: string, limit: number, period: 'day' | 'week' | 'month', extra: Record<string, unknown> = {}): CompiledLimit =>
  compileLimit('quota', { name, limit, period, ...extra }, true, true);

async function check(h: Harness, specs: CompiledLimit[], keys: string[], dryRun = false): Promise<CheckResult> {
  const r: CheckResult | StoreUnavailable = await h.store.check(specs, keys, { dryRun });
  assert.ok(!('unavailable' in r), 'store available');
  return r as CheckResult;
}

async function admitMany(h: Harness, spec: CompiledLimit, key: string, n: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) if ((await check(h, [spec], [key])).admitted) ok++;
  return ok;
}

let seq = 0;
/** A fresh counter key per case, so cases never see each other's state. */
const fresh = (label: string) => `${label}-${process.pid}-${++seq}`;

function contract(name: string, make: () => Promise<Harness & { close(): Promise<void> }>, skip?: () => string | undefined) {
  describe(`limit store contract: ${name}`, () => {
    let h: Harness & { close(): Promise<void> };
    before(async () => {
      if (skip?.()) return;
      h = await make();
    });
    after(async () => h?.close());
    const it = (title: string, fn: () => Promise<void>) =>
      test(title, async (t) => {
        const why = skip?.();
        if (why) return t.skip(why);
        await fn();
      });

    it('AWS vector 1: 10,000 requests in the first ms → 5,000 served (rate 10,000/s, burst 5,000)', async () => {
      const l = bucket('acct', 10_000, 5_000);
      const k = fresh('aws1');
      h.setTime(1_000_000);
      assert.equal(await admitMany(h, l, k, 10_000), 5_000);
    });

    it('AWS vector 2: 5,000 at t=0, then 5,000 evenly over the next 999 ms → all 10,000 served', async () => {
      const l = bucket('acct', 10_000, 5_000);
      const k = fresh('aws2');
      const t0 = 2_000_000;
      h.setTime(t0);
      let ok = await admitMany(h, l, k, 5_000);
      for (let j = 1; j <= 5_000; j++) {
        h.setTime(t0 + Math.ceil((j * 999) / 5_000));
        if ((await check(h, [l], [k])).admitted) ok++;
      }
      assert.equal(ok, 10_000);
    });

    it('AWS vector 3: 5,000 at t=0, then 5,000 at t=101 ms → 6,010 served (exact arithmetic; AWS rounds to 6,000)', async () => {
      const l = bucket('acct', 10_000, 5_000);
      const k = fresh('aws3');
      h.setTime(3_000_000);
      let ok = await admitMany(h, l, k, 5_000);
      h.setTime(3_000_101);
      ok += await admitMany(h, l, k, 5_000);
      assert.equal(ok, 6_010);
    });

    it('burst then steady rate: 10 at once, then exactly 5 per second; Retry-After arithmetic', async () => {
      const l = bucket('steady', 5, 10);
      const k = fresh('steady');
      let t = 4_000_000;
      h.setTime(t);
      assert.equal(await admitMany(h, l, k, 10), 10);
      const refused = await check(h, [l], [k]);
      assert.equal(refused.admitted, false);
      assert.deepEqual(refused.outcomes[0], { ok: false, remaining: 0, waitMs: 200, resetMs: 2000, windowMs: 2000 });
      let ok = 0;
      for (let s = 0; s < 50; s++) {
        t += 200; // one token accrues every 200 ms
        h.setTime(t);
        if ((await check(h, [l], [k])).admitted) ok++;
        if ((await check(h, [l], [k])).admitted) ok++; // a second one inside the same 200 ms is refused
      }
      assert.equal(ok, 50, 'steady state admits exactly the rate');
    });

    it('all-or-nothing: a request refused by one limit is charged to none', async () => {
      const a = bucket('tight', 0.001, 1);
      const b = bucket('wide', 0.001, 5);
      const q = quota('daily', 10, 'day');
      const ka = fresh('a');
      const kb = fresh('b');
      const kq = fresh('q');
      h.setTime(Date.UTC(2026, 5, 1, 12));
      const first = await check(h, [a, b, q], [ka, kb, kq]);
      assert.equal(first.admitted, true);
      assert.deepEqual(first.outcomes.map((o) => o.remaining), [0, 4, 9]);
      for (let i = 0; i < 3; i++) {
        const r = await check(h, [a, b, q], [ka, kb, kq]);
        assert.equal(r.admitted, false);
        assert.deepEqual(r.outcomes.map((o) => o.ok), [false, true, true]);
      }
      const peek = await check(h, [b, q], [kb, kq], true);
      assert.deepEqual(peek.outcomes.map((o) => o.remaining), [4, 9], 'refused requests consumed nothing');
    });

    it('shadow limits never refuse, report what they would do, and enforcing ones still apply', async () => {
      const s = bucket('shadowed', 0.001, 1, { mode: 'shadow' });
      const e = bucket('enforced', 0.001, 3);
      const ks = fresh('s');
      const ke = fresh('e');
      h.setTime(5_000_000);
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await check(h, [s, e], [ks, ke]));
      assert.deepEqual(results.map((r) => r.admitted), [true, true, true, false]);
      assert.deepEqual(results.map((r) => r.outcomes[0]!.ok), [true, false, false, false]);
    });

    it('quota: the daily window rolls over at UTC midnight exactly', async () => {
      const q = quota('daily', 3, 'day');
      const k = fresh('day');
      h.setTime(Date.UTC(2026, 2, 1, 23, 59, 59, 0));
      assert.equal(await admitMany(h, q, k, 5), 3);
      const refused = await check(h, [q], [k]);
      assert.equal(refused.outcomes[0]!.waitMs, 1000);
      assert.equal(refused.outcomes[0]!.windowMs, 86_400_000);
      h.setTime(Date.UTC(2026, 2, 1, 23, 59, 59, 999));
      assert.equal((await check(h, [q], [k])).admitted, false, 'still the old window 1 ms before midnight');
      h.setTime(Date.UTC(2026, 2, 2, 0, 0, 0, 0));
      const next = await check(h, [q], [k]);
      assert.equal(next.admitted, true, 'new window at midnight');
      assert.equal(next.outcomes[0]!.remaining, 2);
    });

    it('quota: a time zone and an offset move the boundary (Europe/Berlin days from 06:00)', async () => {
      const q = quota('berlin', 1, 'day', { time_zone: 'Europe/Berlin', offset: '6h' });
      const k = fresh('berlin');
      // 2026-01-15 05:59 Berlin = 04:59Z: the window that started 2026-01-14 06:00 Berlin.
      h.setTime(Date.UTC(2026, 0, 15, 4, 59));
      assert.equal((await check(h, [q], [k])).admitted, true);
      assert.equal((await check(h, [q], [k])).admitted, false);
      h.setTime(Date.UTC(2026, 0, 15, 5, 0)); // 06:00 Berlin
      const r = await check(h, [q], [k]);
      assert.equal(r.admitted, true);
      assert.equal(r.outcomes[0]!.resetMs, 86_400_000);
    });

    it('quota: months and weeks roll over on their calendar boundary', async () => {
      const m = quota('monthly', 2, 'month');
      const w = quota('weekly', 2, 'week');
      const km = fresh('m');
      const kw = fresh('w');
      h.setTime(Date.UTC(2026, 1, 28, 23, 0)); // Saturday 2026-02-28
      assert.equal(await admitMany(h, m, km, 3), 2);
      assert.equal(await admitMany(h, w, kw, 3), 2);
      h.setTime(Date.UTC(2026, 2, 1, 0, 0)); // Sunday 2026-03-01: new month, same week
      assert.equal(await admitMany(h, m, km, 3), 2);
      assert.equal(await admitMany(h, w, kw, 1), 0);
      h.setTime(Date.UTC(2026, 2, 2, 0, 0)); // Monday: new week
      assert.equal(await admitMany(h, w, kw, 3), 2);
    });
  });
}

contract('memory', async () => {
  let t = 0;
  const clock = { now: () => t };
  const store = createMemoryLimitStore({ clock, sweep: false });
  return { store, setTime: (ms) => void (t = ms), close: () => store.close() };
});

let redis: TestRedis | undefined;
contract(
  'redis',
  async () => {
    redis = await startRedis();
    let t = 0;
    const clock = { now: () => t };
    const store = createRedisLimitStore({
      mode: 'standalone',
      url: redis.url,
      keyPrefix: 'test:',
      hashTag: 'gh',
      connectTimeoutMs: 2000,
      commandTimeoutMs: 2000,
      autoPipelining: true,
      clock,
      log: silent,
      unsafeTestTime: true,
    });
    assert.equal(await store.ready(), true);
    return {
      store,
      setTime: (ms) => void (t = ms),
      close: async () => {
        await store.close();
        await redis?.stop();
      },
    };
  },
  () => (hasRedis() ? undefined : REDIS_MISSING),
);
