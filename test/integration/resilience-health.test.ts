// Active health checks and least-request balancing against real upstreams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway } from '../helpers/gateway.js';
import { waitFor, settle } from '../helpers/wait.js';
import { clusters, get, metricsText, parallel, switchable } from './resilience-common.js';

test('active health checks mark an endpoint down and up again, off the request path', async () => {
  const a = await switchable('a');
  const b = await switchable('b');
  const gh = await startGateway({
    routes: [{ name: 'r', match: { path: { prefix: '/' } }, cluster: 'c' }],
    clusters: [
      {
        name: 'c',
        endpoints: [a.url, b.url],
        health_check: { path: '/healthz', interval: '50ms', jitter: '10ms', timeout: '500ms', unhealthy_threshold: 2, healthy_threshold: 2 },
        panic_threshold: 0,
      },
    ],
  });
  const healthyOf = async (u: string) => (await clusters(gh.adminUrl))[0]!.endpoints.find((e) => e.endpoint === u)!.health.healthy;
  try {
    await waitFor(() => b.healthChecks() >= 2, 5000, 'health checks to run');
    b.health = 503;
    let down = false;
    for (let i = 0; i < 100 && !down; i++) {
      down = !(await healthyOf(b.url));
      if (!down) await settle(50);
    }
    assert.ok(down, 'b marked unhealthy');
    const servedBefore = b.served();
    const results = await parallel(20, 4, () => get(`${gh.url}/x`));
    assert.ok(results.every((r) => r.status === 200 && r.upstream === 'a'), 'only a serves while b is down');
    assert.equal(b.served(), servedBefore);
    assert.match(await metricsText(gh.adminUrl), new RegExp(`gatehouse_upstream_endpoint_healthy\\{cluster="c",endpoint="${b.url.replace(/[/.]/g, '\\$&')}"\\} 0`));

    b.health = 200;
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = await healthyOf(b.url);
      if (!up) await settle(50);
    }
    assert.ok(up, 'b marked healthy again');
    const again = await parallel(20, 4, () => get(`${gh.url}/x`));
    assert.ok(again.some((r) => r.upstream === 'b'), 'b serves again');
  } finally {
    await gh.stop();
  }
  // Stopped with the gateway: no probe after stop().
  const n = b.healthChecks();
  await settle(300);
  assert.equal(b.healthChecks(), n, 'health checks stopped');
  await a.close();
  await b.close();
});

test('a reload that drops the health check stops its probes at once', async () => {
  const a = await switchable('a');
  const base = { routes: [{ name: 'r', match: { path: { prefix: '/' } }, cluster: 'c' }] };
  const gh = await startGateway({ ...base, clusters: [{ name: 'c', endpoints: [a.url], health_check: { path: '/healthz', interval: '30ms', jitter: '0ms' } }] });
  try {
    await waitFor(() => a.healthChecks() >= 2, 5000, 'health checks to run');
    await gh.gw.reload({ ...gh.gw.snapshot().config, clusters: [{ name: 'c', endpoints: [a.url] }] });
    await settle(100);
    const n = a.healthChecks();
    await settle(300);
    assert.equal(a.healthChecks(), n);
    assert.equal((await get(`${gh.url}/x`)).status, 200);
  } finally {
    await gh.stop();
    await a.close();
  }
});

test('least_request prefers the fast endpoint measurably (request counts); round_robin does not', async () => {
  const fast = await switchable('fast');
  const slow = await switchable('slow');
  slow.mode = 'slow';
  slow.slowMs = 150;
  const run = async (lb: 'least_request' | 'round_robin') => {
    const f0 = fast.served();
    const s0 = slow.served();
    const gh = await startGateway({
      routes: [{ name: 'r', match: { path: { prefix: '/' } }, cluster: 'c' }],
      clusters: [{ name: 'c', endpoints: [fast.url, slow.url], lb_policy: lb }],
    });
    try {
      const results = await parallel(120, 8, () => get(`${gh.url}/x`));
      assert.ok(results.every((r) => r.status === 200));
    } finally {
      await gh.stop();
    }
    return { fast: fast.served() - f0, slow: slow.served() - s0 };
  };
  try {
    const lr = await run('least_request');
    const rr = await run('round_robin');
    assert.equal(rr.fast, rr.slow, 'round robin splits evenly');
    // Requests pile up on the slow endpoint; P2C sends most of the rest to the fast one.
    assert.ok(lr.fast >= 3 * lr.slow, `least_request: fast ${lr.fast}, slow ${lr.slow}`);
  } finally {
    await fast.close();
    await slow.close();
  }
});
