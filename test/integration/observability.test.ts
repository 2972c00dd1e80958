// Metrics, the decision log and the admin API after real traffic: a real gateway, real upstreams
// (one healthy, one slow, one dead port), real tokens. Values are read back from /metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startUpstream, deadPort, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startFakeIdp, mint, type FakeIdp, type TestKey } from '../helpers/fake-idp.js';
import { settle, waitFor } from '../helpers/wait.js';

const ADMIN_TOKEN = 'test-admin-token-0123456789';
const SIGV4_SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const UPSTREAM_CREDENTIAL = 'Bearer upstream-static-credential-xyz';

let up: TestUpstream;
let slow: TestUpstream;
let gh: TestGateway;
let idp: FakeIdp;
let key: TestKey;
let releaseSlow: (() => void) | undefined;
const dir = mkdtempSync(join(tmpdir(), 'gh-obs-'));
const decisionLogPath = join(dir, 'decisions.log');

before(async () => {
  idp = await startFakeIdp();
  key = await idp.addKey('ES256');
  up = await startUpstream();
  // Answers /hang only when the test says so; everything else after 3 s (far over the route's 200 ms).
  slow = await startUpstream((req, res) => {
    if (req.url === '/hang') {
      releaseSlow = () => res.end('late');
      return;
    }
    const t = setTimeout(() => res.end('late'), 3000);
    res.on('close', () => clearTimeout(t));
  });
  const dead = await deadPort();
  const jwt = { issuers: [{ issuer: idp.issuer, audiences: ['api'], roles_claim: 'groups' }] };
  gh = await startGateway({
    routes: [
      { name: 'orders', match: { path: { prefix: '/orders' } }, cluster: 'up', filters: { jwt, authz: { roles: ['reader'] } } },
      { name: 'slow', match: { path: { prefix: '/slow' } }, cluster: 'slow', timeout: '200ms', rewrite: { strip_prefix: '/slow' } },
      { name: 'dead', match: { path: { prefix: '/dead' } }, cluster: 'dead' },
      {
        name: 'signed',
        match: { path: { prefix: '/signed' } },
        cluster: 'up',
        request_headers: { set: { authorization: UPSTREAM_CREDENTIAL } },
        filters: { sigv4: { region: 'eu-west-1', service: 'execute-api', access_keys: [{ id: 'AKIDOBSERVABILITY01', secret: SIGV4_SECRET }] }, authz: { allow: 'authenticated' } },
      },
      { name: 'open', match: { path: { prefix: '/open' } }, cluster: 'up' },
      { name: 'limited', match: { path: { prefix: '/limited' } }, cluster: 'up', filters: { rate_limit: { limits: [{ name: 'tiny', rate: 0.001, burst: 1, key: ['route'] }] } } },
    ],
    clusters: [
      { name: 'up', endpoints: [up.url] },
      { name: 'slow', endpoints: [slow.url] },
      { name: 'dead', endpoints: [`http://127.0.0.1:${dead}`], connect_timeout: '500ms' },
    ],
    top: { admin: { token: ADMIN_TOKEN }, decision_log: { enabled: true, path: decisionLogPath } },
    secretPaths: ['routes[3].filters.sigv4.access_keys[0].secret'],
  });
});

after(async () => {
  releaseSlow?.();
  await gh.stop();
  await up.close();
  await slow.close();
  await idp.close();
});

const admin = async (path: string, auth = true) => {
  const res = await request(`${gh.adminUrl}${path}`, { headers: auth ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {} });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
};

/** Samples of the exposition as "name{labels}" → value. */
async function scrape(): Promise<Map<string, number>> {
  const r = await admin('/metrics');
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const out = new Map<string, number>();
  for (const line of r.text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
const get = (m: Map<string, number>, key: string) => m.get(key) ?? 0;

test('metrics count real traffic: routes, methods, status classes, bytes, upstream failures, authn and authz', async () => {
  const before = await scrape();
  const reader = await mint(key, { iss: idp.issuer, aud: 'api', sub: 'alice', groups: ['reader'] });
  const other = await mint(key, { iss: idp.issuer, aud: 'api', sub: 'bob', groups: [] });
  const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: string) => {
    const res = await request(`${gh.url}${path}`, { method, headers, body });
    await res.body.text();
    return res.statusCode;
  };
  assert.equal(await call('GET', '/orders/1', { authorization: `Bearer ${reader}` }), 200);
  assert.equal(await call('GET', '/orders/2', { authorization: `Bearer ${reader}` }), 200);
  assert.equal(await call('POST', '/open/x', { 'content-type': 'text/plain' }, 'twelve bytes'), 200);
  assert.equal(await call('GET', '/orders/3', { authorization: `Bearer ${other}` }), 403);
  assert.equal(await call('GET', '/orders/4', { authorization: 'Bearer not.a.jwt' }), 401);
  assert.equal(await call('GET', '/orders/5'), 401);
  assert.equal(await call('GET', '/slow/x'), 504);
  assert.equal(await call('GET', '/dead/x'), 503);
  assert.equal(await call('PROPFIND', '/open/pot'), 200);
  await settle();
  const m = await scrape();
  const d = (k: string) => get(m, k) - get(before, k);
  assert.equal(d('gatehouse_http_requests_total{route="orders",method="GET",status_class="2xx"}'), 2);
  assert.equal(d('gatehouse_http_requests_total{route="orders",method="GET",status_class="4xx"}'), 3);
  assert.equal(d('gatehouse_http_requests_total{route="open",method="POST",status_class="2xx"}'), 1);
  assert.equal(d('gatehouse_http_requests_total{route="open",method="OTHER",status_class="2xx"}'), 1, 'unknown methods share one label value');
  assert.equal(d('gatehouse_http_requests_total{route="slow",method="GET",status_class="5xx"}'), 1);
  assert.equal(d('gatehouse_http_requests_total{route="dead",method="GET",status_class="5xx"}'), 1);
  assert.equal(d('gatehouse_http_request_duration_seconds_count{route="orders",method="GET"}'), 5);
  assert.equal(d('gatehouse_http_request_body_bytes_total{route="open"}'), 12);
  assert.ok(d('gatehouse_http_response_body_bytes_total{route="orders"}') > 0);
  assert.equal(d(`gatehouse_upstream_requests_total{cluster="up",endpoint="${up.url}",status_class="2xx"}`), 4);
  assert.equal(d(`gatehouse_upstream_failures_total{cluster="slow",endpoint="${slow.url}",reason="upstream.timeout"}`), 1);
  assert.equal(d(`gatehouse_upstream_requests_total{cluster="slow",endpoint="${slow.url}",status_class="none"}`), 1);
  assert.ok([...m.keys()].some((k) => k.startsWith('gatehouse_upstream_failures_total{cluster="dead"') && k.includes('reason="upstream.connect_failure"')));
  assert.equal(d(`gatehouse_upstream_response_duration_seconds_count{cluster="up",endpoint="${up.url}"}`), 4);
  assert.equal(d('gatehouse_authn_results_total{route="orders",method="jwt",result="success"}'), 3);
  assert.equal(d('gatehouse_authn_results_total{route="orders",method="jwt",result="authn.jwt.malformed"}'), 1);
  assert.equal(d('gatehouse_authn_results_total{route="orders",method="none",result="authn.missing_credentials"}'), 1);
  assert.equal(d('gatehouse_edge_decisions_total{route="orders",filter="authz",outcome="allow",code="none"}'), 2);
  assert.equal(d('gatehouse_edge_decisions_total{route="orders",filter="authz",outcome="deny",code="authz.no_matching_allow"}'), 1);
  // Histogram buckets are cumulative and end in +Inf == count.
  assert.equal(get(m, 'gatehouse_http_request_duration_seconds_bucket{route="orders",method="GET",le="+Inf"}'), get(m, 'gatehouse_http_request_duration_seconds_count{route="orders",method="GET"}'));
  assert.equal(get(m, 'gatehouse_build_info{version="0.1.0"}') > 0 || [...m.keys()].some((k) => k.startsWith('gatehouse_build_info')), true);
  assert.ok(m.has('process_cpu_user_seconds_total'), 'process metrics');
  assert.ok(m.has('nodejs_eventloop_lag_seconds'), 'event loop lag');
  assert.ok(![...m.keys()].some((k) => k.startsWith('nodejs_active_handles_total')), 'the *_total gauge promtool refuses is gone');
  for (const k of m.keys()) assert.doesNotMatch(k, /alice|bob|\/orders\/1/, 'no subjects or raw paths in labels');
});

test('in-flight and active-connection gauges follow a request held open upstream', async () => {
  const held = request(`${gh.url}/slow/hang`, { headersTimeout: 5000 }).catch(() => undefined);
  await waitFor(() => releaseSlow !== undefined, 5000, 'the upstream to hold the request');
  const m = await scrape();
  assert.ok(get(m, 'gatehouse_http_requests_in_flight') >= 1);
  assert.ok([...m.entries()].some(([k, v]) => k.startsWith('gatehouse_connections_active{') && v >= 1));
  assert.equal(get(m, `gatehouse_upstream_active_requests{cluster="slow",endpoint="${slow.url}"}`), 1);
  releaseSlow!();
  releaseSlow = undefined;
  await held;
});

test('the output passes promtool check metrics', async (t) => {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (probe.error) return t.skip('promtool not installed (apt-get install prometheus)');
  const r = await admin('/metrics');
  const lint = spawnSync('promtool', ['check', 'metrics'], { input: r.text, encoding: 'utf8' });
  assert.equal(lint.status, 0, `promtool: ${lint.stdout}${lint.stderr}`);
  assert.equal(`${lint.stdout}${lint.stderr}`.trim(), '', 'no lint findings');
});

test('the admin token guards everything but /healthz and /ready, compared as a whole', async () => {
  assert.equal((await admin('/metrics', false)).status, 401);
  assert.equal((await admin('/config', false)).status, 401);
  const wrong = await request(`${gh.adminUrl}/routes`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } });
  assert.equal(wrong.statusCode, 401);
  assert.equal(wrong.headers['content-type'], 'application/problem+json');
  await wrong.body.dump();
  assert.equal((await admin('/healthz', false)).status, 200);
  assert.equal((await admin('/ready', false)).status, 200);
});

test('/config shows the running config with secrets redacted; /routes and /clusters describe the state', async () => {
  const c = await admin('/config');
  assert.equal(c.status, 200);
  assert.ok(!c.text.includes(SIGV4_SECRET), 'the sigv4 secret is not shown');
  assert.ok(!c.text.includes(ADMIN_TOKEN), 'the admin token is not shown');
  assert.ok(!c.text.includes('upstream-static-credential'), 'a static upstream Authorization is not shown');
  const cfg = JSON.parse(c.text) as Record<string, any>;
  assert.equal(cfg.routes[3].filters.sigv4.access_keys[0].secret, '[redacted]');
  assert.equal(cfg.routes[3].filters.sigv4.access_keys[0].id, 'AKIDOBSERVABILITY01', 'non-secret fields stay');
  assert.equal(cfg.admin.token, '[redacted]');
  const routes = JSON.parse((await admin('/routes')).text) as { routes: Array<Record<string, any>> };
  const orders = routes.routes.find((r) => r.name === 'orders')!;
  assert.equal(orders.public, false);
  assert.deepEqual(orders.filters, ['jwt', 'authn', 'authz']);
  assert.equal(routes.routes.find((r) => r.name === 'open')!.public, true);
  const clusters = JSON.parse((await admin('/clusters')).text) as { clusters: Array<Record<string, any>> };
  const upC = clusters.clusters.find((x) => x.name === 'up')!;
  assert.equal(upC.endpoints[0].endpoint, up.url);
  assert.equal(typeof upC.endpoints[0].pool.connected, 'number');
});

test('the decision log has one line per decided request, joined by request id; no secrets in any log', async () => {
  const tok = await mint(key, { iss: idp.issuer, aud: 'api', sub: 'carol', groups: ['reader'] });
  const res = await request(`${gh.url}/orders/9`, { headers: { authorization: `Bearer ${tok}` } });
  await res.body.text();
  const id = res.headers['x-request-id'] as string;
  const open = await request(`${gh.url}/open/y`);
  await open.body.text();
  const openId = open.headers['x-request-id'] as string;
  await waitFor(() => existsSync(decisionLogPath) && readFileSync(decisionLogPath, 'utf8').includes(id), 5000, 'the decision line');
  const lines = readFileSync(decisionLogPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
  const line = lines.find((l) => l.request_id === id)!;
  assert.equal(line.route, 'orders');
  assert.equal(line.status, 200);
  assert.deepEqual(line.decisions.map((d: any) => [d.filter, d.allowed]), [['authn', true], ['authz', true]]);
  assert.equal(line.decisions[0].subject, 'carol');
  assert.ok(!lines.some((l) => l.request_id === openId), 'requests without edge decisions are not in the decision log');
  const access = await gh.accessLog((l) => l.some((x) => x.request_id === id));
  for (const text of [readFileSync(decisionLogPath, 'utf8'), JSON.stringify(access)]) {
    assert.ok(!text.includes(tok), 'no token in logs');
    assert.ok(!text.includes(SIGV4_SECRET));
  }
});

test('rate-limit decisions and the store show up in the metrics', async () => {
  const before = await scrape();
  const statuses: number[] = [];
  for (let i = 0; i < 2; i++) {
    const r = await request(`${gh.url}/limited/${i}`);
    await r.body.text();
    statuses.push(r.statusCode);
  }
  assert.deepEqual(statuses, [200, 429]);
  await settle();
  const m = await scrape();
  const d = (k: string) => get(m, k) - get(before, k);
  assert.equal(d('gatehouse_edge_decisions_total{route="limited",filter="rate_limit",outcome="deny",code="ratelimit.exceeded"}'), 1);
  assert.equal(d('gatehouse_ratelimit_store_decisions_total{store="memory",source="store"}'), 2);
  assert.equal(d('gatehouse_http_requests_total{route="limited",method="GET",status_class="4xx"}'), 1);
});
