// Retries, outlier ejection and circuit breakers against real upstreams that misbehave on command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startGateway } from '../helpers/gateway.js';
import { startRawUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';
import { clusters, get, metricsText, parallel, switchable, type Switchable } from './resilience-common.js';
import type { ClusterConfig, RouteConfig } from '../../src/config/schema.js';

async function fleet(n: number): Promise<Switchable[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => switchable(`u${i}`)));
}

function spec(ups: Switchable[], route: Partial<RouteConfig>, cluster: Partial<ClusterConfig>) {
  return {
    routes: [{ name: 'r', match: { path: { prefix: '/' } }, cluster: 'c', ...route }],
    clusters: [{ name: 'c', endpoints: ups.map((u) => u.url), ...cluster }],
  };
}

test('zero client-visible errors for GETs while 1 of 3 endpoints fails; it is ejected, then returns after recovery', async () => {
  const ups = await fleet(3);
  const bad = ups[1]!;
  bad.mode = '503';
  const gh = await startGateway(
    spec(ups, { retry_policy: { retry_on: ['5xx'], num_retries: 2 } }, { outlier_detection: { consecutive_5xx: 3, base_ejection_time: '700ms', max_ejection_percent: 50 } }),
  );
  try {
    const results = await parallel(150, 6, () => get(`${gh.url}/x`));
    assert.deepEqual(results.filter((r) => r.status !== 200).map((r) => r.status), [], 'no client saw an error');
    const view = (await clusters(gh.adminUrl))[0]!;
    const badView = view.endpoints.find((e) => e.endpoint === bad.url)!;
    assert.ok(badView.health.ejections.consecutive_5xx! >= 1, 'the failing endpoint was ejected');
    // Ejected after 3 failures (plus ones in flight), it saw a small share of the 150 requests.
    assert.ok(bad.served() < 30, `failing endpoint saw ${bad.served()} attempts`);
    assert.ok(view.retries >= 3, 'the failures were retried');

    bad.mode = 'ok';
    const before = bad.served();
    // After the ejection time it takes traffic again (bounded: ~10 s at most).
    for (let i = 0; i < 200 && bad.served() === before; i++) {
      assert.equal((await get(`${gh.url}/x`)).status, 200);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(bad.served() > before, 'the recovered endpoint serves again');
    const m = await metricsText(gh.adminUrl);
    assert.match(m, /gatehouse_upstream_ejections_total\{cluster="c",endpoint="http:\/\/127\.0\.0\.1:\d+",outcome="consecutive_5xx"\} [1-9]/);
    assert.match(m, /gatehouse_upstream_retries_total\{cluster="c"\} [1-9]/);
  } finally {
    await gh.stop();
    await Promise.all(ups.map((u) => u.close()));
  }
});

test('a POST is never retried by default; GET is; retry_non_idempotent replays the body', async () => {
  const ups = await fleet(2);
  for (const u of ups) u.mode = '503';
  const gh = await startGateway({
    routes: [
      { name: 'opt-in', match: { path: { prefix: '/opt-in' } }, cluster: 'c', retry_policy: { retry_on: ['gateway-error'], num_retries: 1, retry_non_idempotent: true } },
      { name: 'r', match: { path: { prefix: '/' } }, cluster: 'c', retry_policy: { retry_on: ['gateway-error'], num_retries: 1 } },
    ],
    clusters: [{ name: 'c', endpoints: ups.map((u) => u.url) }],
  });
  const total = () => ups[0]!.served() + ups[1]!.served();
  try {
    const post = await request(`${gh.url}/p`, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
    assert.equal(post.statusCode, 503);
    await post.body.dump();
    assert.equal(total(), 1, 'POST: one attempt');
    const keyed = await request(`${gh.url}/k`, { method: 'POST', body: 'once', headers: { 'idempotency-key': 'order-7' } });
    await keyed.body.dump();
    assert.equal(total(), 3, 'a POST with an Idempotency-Key is retried');
    const g = await get(`${gh.url}/g`);
    assert.equal(g.status, 503, 'the last answer stands when retries run out');
    assert.equal(total(), 5, 'GET: first attempt + 1 retry');
    const gets = [...ups[0]!.requests, ...ups[1]!.requests].filter((r) => r.url === '/g');
    assert.ok(gets.every((r) => r.headers['content-length'] === undefined && r.headers['transfer-encoding'] === undefined), 'a GET is retried without a body');
    const o = await request(`${gh.url}/opt-in`, { method: 'POST', body: 'replay-me' });
    await o.body.dump();
    assert.equal(total(), 7, 'opt-in POST retried');
    const bodies = [...ups[0]!.requests, ...ups[1]!.requests].filter((r) => r.url === '/opt-in').map((r) => r.body.toString());
    assert.deepEqual(bodies, ['replay-me', 'replay-me'], 'the body was sent whole both times');
    // Over max_replay_bytes (default 64 KiB): streamed once, not kept, not retried.
    const big = Buffer.alloc(100 * 1024, 'b');
    const o2 = await request(`${gh.url}/opt-in/big`, { method: 'POST', body: big });
    await o2.body.dump();
    assert.equal(o2.statusCode, 503);
    assert.equal(total(), 8, 'a body too large to keep is not retried');
    const seen = [...ups[0]!.requests, ...ups[1]!.requests].find((r) => r.url === '/opt-in/big')!;
    assert.equal(seen.body.length, big.length);
  } finally {
    await gh.stop();
    await Promise.all(ups.map((u) => u.close()));
  }
});

test('no retry after response bytes reached the client: a reset mid-body is a cut, not a retry', async () => {
  let conns = 0;
  const raw = await startRawUpstream((s) => {
    conns++;
    s.once('data', () => {
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n' + 'x'.repeat(5000));
      setTimeout(() => s.destroy(), 30);
    });
  });
  const gh = await startGateway({
    routes: [{ name: 'r', match: { path: { prefix: '/' } }, cluster: 'c', retry_policy: { retry_on: ['5xx', 'reset'], num_retries: 3 } }],
    clusters: [{ name: 'c', endpoints: [raw.url] }],
  });
  try {
    const res = await request(`${gh.url}/big`);
    assert.equal(res.statusCode, 200);
    await assert.rejects(res.body.text(), 'the client sees the cut');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(conns, 1, 'no second attempt');
  } finally {
    await gh.stop();
    await raw.close();
  }
});

test('per-try timeout: a hanging endpoint is abandoned for another one within the route timeout', async () => {
  const ups = await fleet(2);
  ups[0]!.mode = 'hang';
  const gh = await startGateway(
    spec(ups, { timeout: '10s', retry_policy: { retry_on: ['reset'], num_retries: 1, per_try_timeout: '200ms' } }, { lb_policy: 'round_robin' }),
  );
  try {
    const results = await parallel(6, 2, () => get(`${gh.url}/t`));
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
    assert.ok(results.every((r) => r.upstream === 'u1'));
    assert.ok(ups[0]!.served() >= 1, 'the hanging endpoint was tried');
  } finally {
    ups[0]!.release();
    await gh.stop();
    await Promise.all(ups.map((u) => u.close()));
  }
});

test('circuit breakers: max_requests and max_pending_requests shed at the limit with 503 upstream.overflow', async () => {
  const [u] = await fleet(1);
  u!.mode = 'hang';
  const gh = await startGateway({
    routes: [
      { name: 'r', match: { path: { prefix: '/' } }, cluster: 'c' },
      { name: 'p', match: { path: { prefix: '/pending' } }, cluster: 'p' },
    ].reverse(),
    clusters: [
      { name: 'c', endpoints: [u!.url], circuit_breakers: { max_requests: 3 } },
      { name: 'p', endpoints: [u!.url], circuit_breakers: { max_connections: 1, max_pending_requests: 1 } },
    ],
  });
  try {
    const held = Array.from({ length: 3 }, () => get(`${gh.url}/a`));
    await waitFor(() => u!.served() === 3, 5000, 'three requests upstream');
    const over = await get(`${gh.url}/a`);
    assert.equal(over.status, 503);
    assert.equal(JSON.parse(over.body).code, 'upstream.overflow');
    assert.equal(over.headers['x-gatehouse-overloaded'], 'true');
    assert.equal(u!.served(), 3, 'the overflow never reached the upstream');

    // One connection: the first holds it, the second waits for it, the third overflows.
    const p1 = get(`${gh.url}/pending/1`);
    await waitFor(() => u!.served() === 4, 5000, 'the first pending-route request upstream');
    const p2 = get(`${gh.url}/pending/2`);
    await waitFor(() => (gh.gw.snapshot().clusters.get('p')!.breaker.pending === 1), 5000, 'the second request pending');
    const p3 = await get(`${gh.url}/pending/3`);
    assert.equal(p3.status, 503);
    assert.equal(JSON.parse(p3.body).code, 'upstream.overflow');

    u!.mode = 'ok';
    u!.release();
    for (const r of await Promise.all([...held, p1])) assert.equal(r.status, 200);
    u!.release();
    assert.equal((await p2).status, 200);
    const m = await metricsText(gh.adminUrl);
    assert.match(m, /gatehouse_upstream_overflow_total\{cluster="c",outcome="max_requests"\} 1/);
    assert.match(m, /gatehouse_upstream_overflow_total\{cluster="p",outcome="max_pending_requests"\} 1/);
  } finally {
    u!.release();
    await gh.stop();
    await u!.close();
  }
});

test('retry budget caps amplification: upstream attempts stay near the request count during an outage', async () => {
  const run = async (cluster: Partial<ClusterConfig>) => {
    const ups = await fleet(2);
    // An outage: every answer is a 503 after 60 ms, so the requests overlap.
    for (const u of ups) {
      u.mode = 'slow503';
      u.slowMs = 60;
    }
    const gh = await startGateway(spec(ups, { retry_policy: { retry_on: ['5xx'], num_retries: 3, backoff: { base_interval: '1ms', max_interval: '2ms' } } }, cluster));
    try {
      const results = await parallel(40, 20, () => get(`${gh.url}/o`));
      assert.ok(results.every((r) => r.status === 503));
      return ups[0]!.served() + ups[1]!.served();
    } finally {
      await gh.stop();
      await Promise.all(ups.map((u) => u.close()));
    }
  };
  const unbounded = await run({ circuit_breakers: { max_retries: 1000 } });
  const budgeted = await run({ circuit_breakers: { retry_budget: { budget_percent: 20, min_retry_concurrency: 0 } } });
  assert.equal(unbounded, 160, 'without a budget every request makes 4 attempts');
  // With 20 requests in flight the budget allows about 4 retries in flight at once.
  assert.ok(budgeted <= 40 * 1.6, `budgeted attempts ${budgeted} for 40 requests`);
  assert.ok(budgeted > 40, 'some retries were still made');
});

test('a client that leaves during the backoff frees its retry slot; no retry is sent', async () => {
  const [u] = await fleet(1);
  u!.mode = '503';
  const gh = await startGateway(spec([u!], { retry_policy: { retry_on: ['5xx'], num_retries: 1, backoff: { base_interval: '3s', max_interval: '3s' }, respect_retry_after: false } }, {}));
  const breaker = () => gh.gw.snapshot().clusters.get('c')!.breaker;
  try {
    // The backoff is random in [0, 3 s): wait until a request is caught in it, then leave.
    let caught = false;
    for (let i = 0; i < 20 && !caught; i++) {
      const before = u!.served();
      const ac = new AbortController();
      const p = request(`${gh.url}/b`, { signal: ac.signal }).then((r) => r.body.dump(), () => undefined);
      await waitFor(() => u!.served() > before, 5000, 'the first attempt');
      await new Promise((r) => setTimeout(r, 50));
      caught = breaker().retries === 1;
      ac.abort();
      await p;
      await waitFor(() => breaker().retries === 0 && breaker().active === 0, 5000, 'the slot back');
    }
    assert.ok(caught, 'a request was caught in its backoff');
    const served = u!.served();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(u!.served(), served, 'nothing sent after the client left');
  } finally {
    await gh.stop();
    await u!.close();
  }
});
