// Unit tests of the pieces around the balancers: outlier detection, breakers and retry budget,
// retry policy helpers, and the cluster's choice of who takes traffic (priorities, panic).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pool } from 'undici';
import { Endpoint, newEndpointStats } from './endpoint.js';
import { Breaker, DEFAULT_BREAKER_LIMITS, newOverflowStats } from './breaker.js';
import { OUTLIER_DEFAULTS, OutlierDetector } from './health/outlier.js';
import { backoffMs, compileRetryPolicy, retriableMethod, retryAfterMs } from './retry.js';
import { createCluster } from './cluster.js';
import { rng } from '../../test/helpers/prng.js';

function fleet(n: number, od: OutlierDetector | undefined, now: { t: number }) {
  const breaker = new Breaker(DEFAULT_BREAKER_LIMITS, newOverflowStats());
  const eps: Endpoint[] = [];
  for (let i = 0; i < n; i++) eps.push(new Endpoint({ origin: `http://127.0.0.1:${1000 + i}`, weight: 1, priority: 0 }, {} as Pool, breaker, od, newEndpointStats()));
  return eps;
}

test('outlier: consecutive 5xx eject; a success in between resets the count', () => {
  const now = { t: 0 };
  let changes = 0;
  let eps: Endpoint[] = [];
  const od = new OutlierDetector({ ...OUTLIER_DEFAULTS, maxEjectionPercent: 50 }, { endpoints: () => eps, changed: () => changes++, now: () => now.t });
  eps = fleet(4, od, now);
  const e = eps[0]!;
  for (let i = 0; i < 4; i++) od.onStatus(e, 503);
  od.onStatus(e, 200);
  for (let i = 0; i < 4; i++) od.onStatus(e, 500);
  assert.equal(e.ejected, false);
  od.onStatus(e, 500);
  assert.equal(e.ejected, true);
  assert.equal(e.stats.ejections.consecutive_5xx, 1);
  assert.equal(changes, 1);
  od.close();
});

test('outlier: local-origin failures count as 5xx unless split; split uses its own threshold', () => {
  const now = { t: 0 };
  let eps: Endpoint[] = [];
  const od = new OutlierDetector({ ...OUTLIER_DEFAULTS, maxEjectionPercent: 100 }, { endpoints: () => eps, changed: () => undefined, now: () => now.t });
  eps = fleet(2, od, now);
  for (let i = 0; i < 5; i++) od.onLocalFailure(eps[0]!);
  assert.equal(eps[0]!.ejected, true);
  const split = new OutlierDetector({ ...OUTLIER_DEFAULTS, split: true, consecutiveLocalFailure: 2, maxEjectionPercent: 100 }, { endpoints: () => eps, changed: () => undefined, now: () => now.t });
  const f = fleet(1, split, now)[0]!;
  eps = [f];
  split.onLocalFailure(f);
  split.onStatus(f, 200); // a head resets the local-origin count
  split.onLocalFailure(f);
  assert.equal(f.ejected, false);
  split.onLocalFailure(f);
  assert.equal(f.ejected, true);
  assert.equal(f.stats.ejections.consecutive_local_origin_failure, 1);
  od.close();
  split.close();
});

test('outlier: max_ejection_percent caps ejections, but one is always allowed', () => {
  const now = { t: 0 };
  let eps: Endpoint[] = [];
  const od = new OutlierDetector(OUTLIER_DEFAULTS, { endpoints: () => eps, changed: () => undefined, now: () => now.t });
  eps = fleet(3, od, now);
  for (const e of eps) for (let i = 0; i < 5; i++) od.onStatus(e, 502);
  assert.deepEqual(eps.map((e) => e.ejected), [true, false, false]);
  od.close();
});

test('outlier: ejection time grows with each ejection and decays while the endpoint stays in', () => {
  const now = { t: 0 };
  let eps: Endpoint[] = [];
  const od = new OutlierDetector({ ...OUTLIER_DEFAULTS, maxEjectionPercent: 100 }, { endpoints: () => eps, changed: () => undefined, now: () => now.t });
  eps = fleet(1, od, now);
  const e = eps[0]!;
  const eject = () => {
    for (let i = 0; i < 5; i++) od.onStatus(e, 500);
  };
  eject();
  assert.equal(e.ejectionLevel, 1);
  od.uneject(e);
  now.t += 1_000;
  eject();
  assert.equal(e.ejectionLevel, 2, 'second ejection soon after: 2 × base');
  od.uneject(e);
  now.t += 25_000; // two intervals (10 s) in: the level drops by two before this ejection counts
  eject();
  assert.equal(e.ejectionLevel, 1);
  od.close();
});

test('breaker: max_requests and max_pending_requests overflow, counted', () => {
  const o = newOverflowStats();
  const b = new Breaker({ ...DEFAULT_BREAKER_LIMITS, maxRequests: 2, maxPendingRequests: 1 }, o);
  assert.equal(b.admit(), undefined);
  b.active = 2;
  assert.equal(b.admit(), 'max_requests');
  b.active = 1;
  b.pending = 1;
  assert.equal(b.admit(), 'max_pending_requests');
  assert.deepEqual(o, { max_requests: 1, max_pending_requests: 1, max_retries: 0, retry_budget: 0 });
});

test('breaker: retry budget allows max(min concurrency, percent × active) retries in flight', () => {
  const o = newOverflowStats();
  const b = new Breaker({ ...DEFAULT_BREAKER_LIMITS, budget: { percent: 20, minConcurrency: 2 } }, o);
  b.active = 100;
  let admitted = 0;
  while (b.admitRetry()) admitted++;
  assert.equal(admitted, 20);
  assert.equal(o.retry_budget, 1);
  for (let i = 0; i < 20; i++) b.retryDone();
  b.active = 3;
  admitted = 0;
  while (b.admitRetry()) admitted++;
  assert.equal(admitted, 2, 'min_retry_concurrency when the share is smaller');
  const m = new Breaker({ ...DEFAULT_BREAKER_LIMITS, maxRetries: 3 }, newOverflowStats());
  admitted = 0;
  while (m.admitRetry()) admitted++;
  assert.equal(admitted, 3);
});

test('retry policy: defaults, idempotency, backoff bounds, Retry-After parsing', () => {
  const p = compileRetryPolicy({ retry_on: ['gateway-error', 'retriable-4xx'] })!;
  assert.equal(p.numRetries, 1);
  assert.deepEqual([...p.statuses].sort(), [409, 502, 503, 504]);
  assert.equal(p.onReset, false);
  assert.equal(retriableMethod(p, 'GET'), true);
  assert.equal(retriableMethod(p, 'POST'), false);
  assert.equal(retriableMethod(p, 'POST', { header: (n) => (n === 'idempotency-key' ? 'k-1' : undefined) }), true, 'SECURITY.md: an idempotency key makes a POST retriable');
  assert.equal(retriableMethod(compileRetryPolicy({ retry_on: ['5xx'], retry_non_idempotent: true })!, 'POST'), true);
  const r = rng(9);
  for (let n = 1; n <= 6; n++) {
    for (let i = 0; i < 200; i++) {
      const d = backoffMs(p, n, r);
      assert.ok(d >= 0 && d < Math.min(250, (2 ** n - 1) * 25), `retry ${n}: ${d}`);
    }
  }
  const h = (v: string) => [Buffer.from('Retry-After'), Buffer.from(v)];
  assert.equal(retryAfterMs(h('2'), 0), 2000);
  assert.equal(retryAfterMs(h(new Date(10_000).toUTCString()), 4_000), 6_000);
  assert.equal(retryAfterMs(h('soon'), 0), undefined);
  assert.equal(retryAfterMs([], 0), undefined);
});

test('cluster: panic threshold spreads over every endpoint when too few are healthy', async () => {
  const c = createCluster({ name: 'c', endpoints: ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3', 'http://127.0.0.1:4'] }, '/');
  try {
    const [a, b, d] = c.endpoints as Endpoint[];
    a!.healthy = false;
    c.setEndpoints(c.endpoints.map((e) => ({ origin: e.origin, weight: 1, priority: 0 })));
    const picked = new Set<string>();
    for (let i = 0; i < 40; i++) picked.add(c.pick()!.origin);
    assert.equal(picked.has(a!.origin), false, '3 of 4 healthy: no panic');
    assert.equal(c.panic, false);
    b!.healthy = false;
    d!.healthy = false;
    c.setEndpoints(c.endpoints.map((e) => ({ origin: e.origin, weight: 1, priority: 0 })));
    assert.equal(c.panic, true);
    picked.clear();
    for (let i = 0; i < 40; i++) picked.add(c.pick()!.origin);
    assert.equal(picked.size, 4, 'panic: all endpoints take traffic');
  } finally {
    await c.close();
  }
});

test('cluster: priority levels fail over when the healthy share drops below the threshold', async () => {
  const c = createCluster(
    {
      name: 'c',
      endpoints: [
        { url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:2' }, { url: 'http://127.0.0.1:3' },
        { url: 'http://127.0.0.1:4', priority: 1 }, { url: 'http://127.0.0.1:5', priority: 1 },
      ],
      panic_threshold: 0,
    },
    '/',
  );
  const refresh = () => c.setEndpoints(c.endpoints.map((e) => ({ origin: e.origin, weight: e.weight, priority: e.priority })));
  const levels = () => {
    const s = new Set<number>();
    for (let i = 0; i < 30; i++) s.add(c.pick()!.priority);
    return [...s].sort();
  };
  try {
    assert.deepEqual(levels(), [0]);
    c.endpoints[0]!.healthy = false; // P0 at 67% < 70%: P1 takes over
    refresh();
    assert.deepEqual(levels(), [1]);
    for (const e of c.endpoints) e.healthy = e.origin.endsWith(':1');
    refresh(); // no level healthy enough: every healthy endpoint
    assert.deepEqual(levels(), [0]);
    for (const e of c.endpoints) e.healthy = false;
    refresh();
    assert.equal(c.pick(), undefined, 'panic disabled and none healthy: nothing to pick');
  } finally {
    await c.close();
  }
});
