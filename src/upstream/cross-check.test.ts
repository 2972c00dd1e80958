// The resilience cross-checks name the key path of each problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterResilienceIssues, routeResilienceIssues } from './cross-check.js';
import type { ClusterConfig, RouteConfig } from '../config/schema.js';

const at = ['clusters', 0];
const paths = (issues: { path: (string | number)[] }[]) => issues.map((i) => i.path.join('.'));

test('cluster: endpoints and discovery agree; ring_hash needs hash_on; refresh bounds', () => {
  assert.deepEqual(paths(clusterResilienceIssues({ name: 'c' } as ClusterConfig, at).errors), ['clusters.0.endpoints']);
  assert.deepEqual(
    paths(clusterResilienceIssues({ name: 'c', endpoints: ['http://a:1'], discovery: { type: 'file', path: 'x.yaml' } }, at).errors),
    ['clusters.0.endpoints'],
  );
  assert.deepEqual(paths(clusterResilienceIssues({ name: 'c', endpoints: ['http://a:1'], lb_policy: 'ring_hash' }, at).errors), ['clusters.0.hash_on']);
  assert.deepEqual(
    paths(clusterResilienceIssues({ name: 'c', discovery: { type: 'dns', url: 'http://a:1/x', min_refresh: '10s', max_refresh: '1s' } }, at).errors),
    ['clusters.0.discovery.url', 'clusters.0.discovery.min_refresh'],
  );
  const ok = clusterResilienceIssues({ name: 'c', discovery: { type: 'dns', url: 'https://api.internal:8443' }, lb_policy: 'least_request' }, at);
  assert.deepEqual(ok, { errors: [], warnings: [] });
  const w = clusterResilienceIssues({ name: 'c', endpoints: ['http://a:1'], hash_on: { header: 'x' }, circuit_breakers: { max_retries: 2, retry_budget: {} } }, at);
  assert.deepEqual(paths(w.warnings), ['clusters.0.hash_on', 'clusters.0.circuit_breakers.max_retries']);
});

test('route: retriable-status-codes needs its list; backoff bounds; per-try longer than the route timeout warns', () => {
  const r = (retry_policy: RouteConfig['retry_policy'], extra: Partial<RouteConfig> = {}) =>
    routeResilienceIssues({ name: 'r', cluster: 'c', retry_policy, ...extra } as RouteConfig, ['routes', 0], new Set(['c']));
  assert.deepEqual(paths(r({ retry_on: ['retriable-status-codes'] }).errors), ['routes.0.retry_policy.retriable_status_codes']);
  assert.deepEqual(paths(r({ retry_on: ['5xx'], backoff: { base_interval: '100ms', max_interval: '10ms' } }).errors), ['routes.0.retry_policy.backoff.max_interval']);
  assert.deepEqual(paths(r({ retry_on: ['5xx'], per_try_timeout: '5s' }, { timeout: '1s' }).warnings), ['routes.0.retry_policy.per_try_timeout']);
  assert.deepEqual(r({ retry_on: ['5xx', 'retriable-status-codes'], retriable_status_codes: [429] }), { errors: [], warnings: [] });
});

test('route: cluster or clusters; split names known and listed once; mirror cluster known; fault needs something to do', () => {
  const known = new Set(['a', 'b']);
  const r = (extra: Partial<RouteConfig>) => routeResilienceIssues({ name: 'r', ...extra } as RouteConfig, ['routes', 0], known);
  assert.deepEqual(paths(r({}).errors), ['routes.0']);
  assert.deepEqual(paths(r({ cluster: 'a', clusters: [{ name: 'b', weight: 1 }] }).errors), ['routes.0.clusters']);
  assert.deepEqual(
    paths(r({ clusters: [{ name: 'a', weight: 0 }, { name: 'x', weight: 0 }, { name: 'a', weight: 0 }] }).errors),
    ['routes.0.clusters.1.name', 'routes.0.clusters.2.name', 'routes.0.clusters'],
  );
  assert.deepEqual(paths(r({ cluster: 'a', cluster_header: 'x-c' }).warnings), ['routes.0.cluster_header']);
  assert.deepEqual(paths(r({ cluster: 'a', mirror: { cluster: 'zz' }, fault: {} }).errors), ['routes.0.mirror.cluster', 'routes.0.fault']);
  assert.deepEqual(r({ clusters: [{ name: 'a', weight: 9 }, { name: 'b', weight: 1 }], cluster_header: 'x-c', mirror: { cluster: 'b', percent: 5 }, fault: { abort: { http_status: 503, percentage: 1 } } }), { errors: [], warnings: [] });
});
