// Unit tests of the rate_limit and quota filters without sockets: outcome (continue or Reply with
// status and reason), what they set on the context (RateLimit fields), and the metrics they bump.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import rateLimit from './index.js';
import quota from '../quota/index.js';
import { makeCtx } from '../../../test/helpers/make-ctx.js';
import { IDENTITY, makeIdentity } from '../common/identity.js';
import type { FilterDeps, Reply } from '../../pipeline/filter.js';
import type { TrafficFilter } from './engine.js';
import type { RequestContext } from '../../pipeline/context.js';

const log = pino({ level: 'silent' });

function setup(now = Date.UTC(2026, 0, 1, 12)) {
  const clock = { t: now, now() {
    return this.t;
  } };
  const deps: FilterDeps = { clock, log };
  return { clock, deps };
}

const run = (f: TrafficFilter, ctx: RequestContext) => f.onRequest!(ctx) as Reply | undefined;
const fields = (ctx: RequestContext) => {
  const h: Record<string, string> = {};
  const l = ctx.responseHeaders ?? [];
  for (let i = 0; i < l.length; i += 2) h[l[i]!] = l[i + 1]!;
  return h;
};

test('rate_limit: admits the burst, then 429 ratelimit.exceeded with Retry-After; fields and metrics', () => {
  const { clock, deps } = setup();
  const f = rateLimit.create({ limits: [{ name: 'b', rate: 1, burst: 2 }] }, deps) as TrafficFilter;
  const c1 = makeCtx({});
  assert.equal(run(f, c1), undefined);
  assert.deepEqual(fields(c1), { 'ratelimit-policy': '"b";q=2;w=2', ratelimit: '"b";r=1;t=1' });
  assert.equal(run(f, makeCtx({})), undefined);
  const c3 = makeCtx({});
  const r = run(f, c3);
  assert.equal(r?.status, 429);
  assert.equal(r?.code, 'ratelimit.exceeded');
  assert.equal(r?.headers?.['retry-after'], '1');
  assert.deepEqual(fields(c3), { 'ratelimit-policy': '"b";q=2;w=2', ratelimit: '"b";r=0;t=2' });
  assert.deepEqual(c3.decisions, [{ filter: 'rate_limit', allowed: false, code: 'ratelimit.exceeded', policy: 'b', enforced: true }]);
  clock.t += 1000;
  assert.equal(run(f, makeCtx({})), undefined);
  assert.deepEqual({ ...f.metrics }, { admitted: 3, refused: 1, shadowRefused: 0, unavailable: 0, fallback: 0, usage: 0 });
});

test('rate_limit: keys by subject and claim; when_missing shared puts anonymous callers in one bucket', () => {
  const { deps } = setup();
  const f = rateLimit.create({ limits: [{ name: 's', rate: 0.001, burst: 1, key: ['subject', { claim: 'org.id' }] }] }, deps) as TrafficFilter;
  const as = (sub: string, org: string) => {
    const c = makeCtx({});
    c.set(IDENTITY, makeIdentity({ kind: 'jwt', subject: sub, claims: { org: { id: org } } }));
    return c;
  };
  assert.equal(run(f, as('a', 'x')), undefined);
  assert.equal(run(f, as('a', 'x'))?.status, 429);
  assert.equal(run(f, as('a', 'y')), undefined, 'another org is another counter');
  assert.equal(run(f, as('b', 'x')), undefined, 'another subject is another counter');
  assert.equal(run(f, makeCtx({})), undefined);
  assert.equal(run(f, makeCtx({}))?.status, 429, 'callers without identity share the "missing" counter');
});

test('shadow limit: never refuses, records the decision as not enforced, counts it, sends no fields', () => {
  const { deps } = setup();
  const f = rateLimit.create({ limits: [{ name: 'sh', rate: 0.001, burst: 1, mode: 'shadow' }] }, deps) as TrafficFilter;
  assert.equal(run(f, makeCtx({})), undefined);
  const c = makeCtx({});
  assert.equal(run(f, c), undefined);
  assert.deepEqual(c.decisions, [{ filter: 'rate_limit', allowed: false, code: 'ratelimit.exceeded', policy: 'sh', enforced: false }]);
  assert.equal(c.responseHeaders, undefined);
  assert.equal(f.metrics.shadowRefused, 1);
  assert.equal(f.metrics.refused, 0);
});

test('quota: usage plans from the key record, with the plan window and Retry-After to the window end', () => {
  const { clock, deps } = setup(Date.UTC(2026, 0, 1, 23, 0));
  const config = { usage_plans: [{ name: 'p', quota: { limit: 2, period: 'day', time_zone: 'UTC' } }] } as never;
  const f = quota.create({}, deps, { route: 'r', config }) as TrafficFilter;
  const as = (kid: string) => {
    const c = makeCtx({});
    c.set(IDENTITY, makeIdentity({ kind: 'api_key', subject: 'owner', keyId: kid, usagePlan: 'p' }));
    return c;
  };
  assert.equal(run(f, as('k1')), undefined);
  assert.equal(run(f, as('k1')), undefined);
  const r = run(f, as('k1'));
  assert.equal(r?.status, 429);
  assert.equal(r?.code, 'quota.exhausted');
  assert.equal(r?.headers?.['retry-after'], '3600');
  assert.equal(run(f, as('k2')), undefined, 'plans count per key');
  clock.t = Date.UTC(2026, 0, 2);
  assert.equal(run(f, as('k1')), undefined, 'a new day');
});

test('the memory store stays within max_buckets and forgets idle counters', async () => {
  const { createMemoryLimitStore } = await import('../../store/memory.js');
  const { compileLimit } = await import('./engine.js');
  let t = 0;
  const s = createMemoryLimitStore({ clock: { now: () => t }, maxBuckets: 100, sweep: false });
  const l = compileLimit('rate_limit', { name: 'x', rate: 1, burst: 2 }, true, false);
  for (let i = 0; i < 250; i++) s.check([l], [`k${i}`]);
  assert.equal(s.size, 100);
  assert.equal(s.stats.evictions, 150);
  t += 2000; // every bucket has refilled: idle
  s.sweep();
  assert.equal(s.size, 0);
  await s.close();
});
