// Rate limits and quotas through the real gateway (memory store, injected clock): 429 answers
// with Retry-After and problem+json, the IETF RateLimit fields, usage plans attached to API keys
// and subjects, all-or-nothing across rate_limit and quota, shadow mode, keys by header and
// client address, the usage endpoint, and config errors with file:line:col.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { createGateway, type Gateway } from '../../src/gateway.js';
import type { GatehouseConfig } from '../../src/config/schema.js';
import { loadConfigText, ConfigError } from '../../src/config/index.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { generateKey } from '../../src/filters/api-key/key-format.js';
import { rawRequest } from '../helpers/raw.js';
import { assertProblem } from '../helpers/problem.js';
import { waitFor } from '../helpers/wait.js';

const gold = generateKey();
const free = generateKey();
const keys = [
  { id: gold.id, hash: gold.hash, owner: 'alice', usage_plan: 'gold' },
  { id: free.id, hash: free.hash, owner: 'bob' },
];

let t = Date.UTC(2026, 5, 10, 12, 0, 0);
const clock = { now: () => t };
let up: TestUpstream;
let gw: Gateway;
let base: string;
let logPath: string;

function config(upUrl: string): GatehouseConfig {
  const dir = mkdtempSync(join(tmpdir(), 'gh-rl-'));
  logPath = join(dir, 'access.log');
  return {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    admin: { enabled: false },
    access_log: { path: logPath },
    usage_plans: [
      { name: 'gold', throttle: { rate: 1, burst: 3 }, quota: { limit: 5, period: 'day' }, route_throttles: { plans: { rate: 1, burst: 2 } } },
      { name: 'basic', throttle: { rate: 1, burst: 1 }, quota: { limit: 2, period: 'day' } },
    ],
    routes: [
      { name: 'simple', match: { path: { prefix: '/simple' } }, cluster: 'up', filters: { rate_limit: { limits: [{ name: 'per-route', rate: 2, burst: 4 }] } } },
      {
        name: 'by-header',
        match: { path: { prefix: '/tenant' } },
        cluster: 'up',
        filters: { rate_limit: { limits: [{ name: 'per-tenant', rate: 0.001, burst: 1, key: [{ header: 'x-tenant' }], when_missing: 'skip' }] } },
      },
      { name: 'by-ip', match: { path: { prefix: '/ip' } }, cluster: 'up', filters: { rate_limit: { limits: [{ name: 'per-ip', rate: 0.001, burst: 2, key: ['client_ip'] }], headers: false } } },
      {
        name: 'plans',
        match: { path: { prefix: '/plans' } },
        cluster: 'up',
        filters: {
          api_key: { keys },
          authz: { allow: 'authenticated' },
          rate_limit: { default_usage_plan: 'basic' },
          quota: { usage_path: '/plans/usage', default_usage_plan: 'basic', limits: [{ name: 'route-daily', limit: 100, period: 'day' }] },
        },
      },
      {
        name: 'joint',
        match: { path: { prefix: '/joint' } },
        cluster: 'up',
        filters: {
          rate_limit: { limits: [{ name: 'joint-burst', rate: 0.001, burst: 3 }] },
          quota: { limits: [{ name: 'joint-daily', limit: 2, period: 'day' }] },
        },
      },
      {
        name: 'shadow',
        match: { path: { prefix: '/shadow' } },
        cluster: 'up',
        filters: { rate_limit: { limits: [{ name: 'shadowed', rate: 0.001, burst: 1, mode: 'shadow' }] } },
      },
    ],
    clusters: [{ name: 'up', endpoints: [upUrl] }],
  } as unknown as GatehouseConfig;
}

before(async () => {
  up = await startUpstream();
  gw = await createGateway(config(up.url), { say: () => undefined, clock });
  base = `http://127.0.0.1:${gw.ports()[0]}`;
});
after(async () => {
  await gw.stop();
  await up.close();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await request(`${base}${path}`, { headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers as Record<string, string>, text };
}

test('token bucket: burst admitted with exact RateLimit fields, then 429 ratelimit.exceeded with Retry-After, refill by the clock', async () => {
  const seen = up.requests.length;
  const remaining: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await get('/simple');
    assert.equal(r.status, 200);
    assert.equal(r.headers['ratelimit-policy'], '"per-route";q=4;w=2');
    remaining.push(r.headers['ratelimit']!);
  }
  assert.deepEqual(remaining, ['"per-route";r=3;t=1', '"per-route";r=2;t=1', '"per-route";r=1;t=2', '"per-route";r=0;t=2']);
  const raw = await rawRequest(gw.ports()[0]!, 'GET /simple HTTP/1.1\r\nHost: x\r\n\r\n');
  assertProblem(raw, 429, 'ratelimit.exceeded', false, 'empty bucket');
  assert.equal(raw.headers['retry-after'], '1');
  assert.equal(raw.headers['ratelimit'], '"per-route";r=0;t=2');
  assert.match(JSON.parse(raw.body).detail as string, /rate limit "per-route" exceeded/);
  assert.equal(up.requests.length, seen + 4, 'the refused request never reached the upstream');
  t += 500; // rate 2/s: one token
  assert.equal((await get('/simple')).status, 200);
  assert.equal((await get('/simple')).status, 429);
  t += 2000;
});

test('keys: a header value partitions the counter; when_missing: skip leaves requests without it alone', async () => {
  assert.equal((await get('/tenant', { 'x-tenant': 'a' })).status, 200);
  assert.equal((await get('/tenant', { 'x-tenant': 'a' })).status, 429);
  assert.equal((await get('/tenant', { 'x-tenant': 'b' })).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await get('/tenant')).status, 200);
});

test('keys: client_ip; headers: false sends no RateLimit fields but still Retry-After', async () => {
  assert.equal((await get('/ip')).status, 200);
  const r2 = await get('/ip');
  assert.equal(r2.status, 200);
  assert.equal(r2.headers['ratelimit'], undefined);
  const r = await get('/ip');
  assert.equal(r.status, 429);
  assert.equal(r.headers['ratelimit-policy'], undefined);
  assert.equal(r.headers['retry-after'], '1000');
});

test('usage plans: the key record names the plan; plan throttle, per-route throttle and quota apply per key', async () => {
  const a = { 'x-api-key': gold.key };
  const first = await get('/plans/x', a);
  assert.equal(first.status, 200);
  assert.equal(first.headers['ratelimit-policy'], '"gold.throttle";q=3;w=3, "gold.plans.throttle";q=2;w=2, "route-daily";q=100;w=86400, "gold.quota";q=5;w=86400');
  const eod = Math.ceil((Date.UTC(2026, 5, 11) - t) / 1000);
  assert.equal(first.headers['ratelimit'], `"gold.throttle";r=2;t=1, "gold.plans.throttle";r=1;t=1, "route-daily";r=99;t=${eod}, "gold.quota";r=4;t=${eod}`);
  assert.equal((await get('/plans/x', a)).status, 200);
  const third = await get('/plans/x', a);
  assert.equal(third.status, 429, 'the per-key-and-route bucket (burst 2) is empty');
  assert.equal(JSON.parse(third.text).code, 'ratelimit.exceeded');
  // bob has no plan: the route's default_usage_plan (basic: burst 1) applies to him alone.
  const b = { 'x-api-key': free.key };
  assert.equal((await get('/plans/x', b)).status, 200);
  assert.equal((await get('/plans/x', b)).status, 429);
  t += 1000;
  assert.equal((await get('/plans/x', b)).status, 200);
  t += 1000;
  const exhausted = await get('/plans/x', b);
  assert.equal(exhausted.status, 429);
  assert.equal(JSON.parse(exhausted.text).code, 'quota.exhausted');
  assert.equal(exhausted.headers['retry-after'], String(Math.ceil((Date.UTC(2026, 5, 11) - t) / 1000)), 'until the UTC day ends');
});

test('usage endpoint: the caller sees only its own counters, nothing is charged, no identity → 401', async () => {
  const a = { 'x-api-key': gold.key };
  const seen = up.requests.length;
  const r = await get('/plans/usage', a);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  const body = JSON.parse(r.text) as { subject: string; key_id: string; usage_plan: string; limits: Array<Record<string, unknown>> };
  assert.equal(body.subject, 'alice');
  assert.equal(body.key_id, gold.id);
  assert.equal(body.usage_plan, 'gold');
  // route-daily is counted per route, not per caller: not part of the caller's own report.
  assert.deepEqual(body.limits.map((l) => l.name), ['gold.throttle', 'gold.plans.throttle', 'gold.quota']);
  const q = body.limits.find((l) => l.name === 'gold.quota')!;
  assert.equal(q.used, 2);
  assert.equal(q.remaining, 3);
  const again = JSON.parse((await get('/plans/usage', a)).text) as typeof body;
  assert.equal(again.limits.find((l) => l.name === 'gold.quota')!.remaining, 3, 'asking is free');
  assert.equal(up.requests.length, seen, 'never forwarded');
  const anon = await get('/plans/usage');
  assert.equal(anon.status, 401);
});

test('all-or-nothing across rate_limit and quota: a request the quota refuses costs no token', async () => {
  assert.equal((await get('/joint')).status, 200);
  assert.equal((await get('/joint')).status, 200);
  const r = await get('/joint');
  assert.equal(r.status, 429);
  assert.equal(JSON.parse(r.text).code, 'quota.exhausted');
  assert.equal(r.headers['ratelimit'], '"joint-burst";r=1;t=2000, "joint-daily";r=0;t=' + Math.ceil((Date.UTC(2026, 5, 11) - t) / 1000));
  assert.equal((await get('/joint')).status, 429);
  t = Date.UTC(2026, 5, 11, 0, 0, 1); // next day: quota renewed (and the slow bucket refilled)
  const r2 = await get('/joint');
  assert.equal(r2.status, 200);
  assert.equal(r2.headers['ratelimit'], '"joint-burst";r=2;t=1000, "joint-daily";r=1;t=86399');
});

test('shadow mode: nothing refused, no RateLimit fields, the would-be refusals logged as not enforced', async () => {
  for (let i = 0; i < 3; i++) {
    const r = await get('/shadow', { 'x-n': String(i) });
    assert.equal(r.status, 200);
    assert.equal(r.headers['ratelimit'], undefined);
  }
  await waitFor(() => existsSync(logPath) && readFileSync(logPath, 'utf8').split('\n').filter((l) => l.includes('"route":"shadow"')).length >= 3, 5000, 'access log lines');
  const lines = readFileSync(logPath, 'utf8').split('\n').filter((l) => l.includes('"route":"shadow"')).map((l) => JSON.parse(l) as { status: number; decisions?: unknown[] });
  assert.equal(lines.filter((l) => l.decisions === undefined).length, 1);
  for (const l of lines.filter((x) => x.decisions !== undefined)) {
    assert.equal(l.status, 200);
    assert.deepEqual(l.decisions, [{ filter: 'rate_limit', allowed: false, code: 'ratelimit.exceeded', policy: 'shadowed', enforced: false }]);
  }
});

test('bad config: each problem names file:line:col and the key path', async () => {
  const yaml = `listeners: [{ port: 0 }]
usage_plans:
  - name: gold
    quota: { limit: 10, period: day, time_zone: Mars/Olympus }
routes:
  - name: a
    cluster: up
    filters:
      rate_limit:
        default_usage_plan: silver
        limits:
          - { name: x, rate: 0, burst: 1 }
  - name: b
    cluster: up
    filters:
      quota:
        limits: [{ name: d, limit: 5, period: fortnight }]
clusters: [{ name: up, endpoints: [http://127.0.0.1:1] }]
`;
  const err = await loadConfigText(yaml, 'gh.yaml', { env: {} }).then(
    () => assert.fail('accepted'),
    (e: unknown) => e as ConfigError & { errors: string[] },
  );
  assert.ok(err instanceof ConfigError);
  const text = err.errors.join('\n');
  assert.match(text, /^gh\.yaml:12:\d+: routes\[0\]\.filters\.rate_limit\.limits\[0\]\.rate: /m);
  assert.match(text, /^gh\.yaml:17:\d+: routes\[1\]\.filters\.quota\.limits\[0\]\.period: /m);
  const yaml2 = yaml.replace('rate: 0,', 'rate: 1,').replace('period: fortnight', 'period: week');
  const err2 = await loadConfigText(yaml2, 'gh.yaml', { env: {} }).then(
    () => assert.fail('accepted'),
    (e: unknown) => e as ConfigError & { errors: string[] },
  );
  assert.deepEqual(err2.errors, [
    'gh.yaml:4:49: usage_plans[0].quota.time_zone: unknown time zone "Mars/Olympus" (expected an IANA name such as Europe/Berlin)',
    'gh.yaml:10:29: routes[0].filters.rate_limit.default_usage_plan: unknown usage plan "silver" (defined usage plans: gold)',
  ]);
});

test('reload: counters live in the process-wide store and survive a config reload', async () => {
  const upUrl = up.url;
  t += 10_000_000; // everything refilled
  for (let i = 0; i < 4; i++) assert.equal((await get('/simple')).status, 200);
  assert.equal((await get('/simple')).status, 429);
  await gw.reload(config(upUrl));
  assert.equal((await get('/simple')).status, 429, 'the new snapshot sees the same empty bucket');
  t += 500;
  assert.equal((await get('/simple')).status, 200);
});
