// Key management against a real provider: rotation, the unknown-kid cooldown, the provider going
// down (with and without cached keys), discovery pinning, refresh on cache headers, sharing across
// routes and reloads. Each test gets its own provider and gateway; time-bound behaviour uses short
// configured limits and generous deadlines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startFakeIdp, makeKey, mint, type FakeIdp, type TestKey } from '../helpers/fake-idp.js';
import jwtFactory, { type JwtFilter } from '../../src/filters/jwt/index.js';
import { JwksRegistry } from '../../src/filters/jwt/jwks-cache.js';
import { systemClock } from '../../src/pipeline/filter.js';
import type { RouteConfig } from '../../src/config/schema.js';

interface Env {
  idp: FakeIdp;
  /** Published before the gateway started. */
  key: TestKey;
  up: TestUpstream;
  gh: TestGateway;
  claims: (c?: Record<string, unknown>) => Record<string, unknown>;
  call(token: string, path?: string): Promise<{ status: number; code: unknown; headers: Record<string, unknown> }>;
  stop(): Promise<void>;
}

/** Provider + upstream + gateway; `jwt` is merged into each route's jwt filter config. */
async function setup(jwt: Record<string, unknown>, opts: { alg?: 'RS256' | 'ES256' | 'EdDSA'; routes?: number; beforeStart?: (idp: FakeIdp) => void | Promise<void>; issuer?: (idp: FakeIdp) => Record<string, unknown> } = {}): Promise<Env> {
  const idp = await startFakeIdp();
  const key = await idp.addKey(opts.alg ?? 'RS256');
  await opts.beforeStart?.(idp);
  const up = await startUpstream();
  const routes: RouteConfig[] = Array.from({ length: opts.routes ?? 1 }, (_, i) => ({
    name: `r${i}`,
    match: { path: { prefix: `/r${i}` } },
    cluster: 'up',
    filters: { authz: { allow: 'authenticated' }, jwt: { issuers: [{ issuer: idp.issuer, audiences: ['api'], ...opts.issuer?.(idp) }], ...jwt } },
  }));
  const gh = await startGateway({ routes, clusters: [{ name: 'up', endpoints: [up.url] }] });
  return {
    idp,
    key,
    up,
    gh,
    claims: (c = {}) => ({ iss: idp.issuer, aud: 'api', sub: 'alice', ...c }),
    async call(token, path = '/r0/x') {
      const res = await request(`${gh.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const text = await res.body.text();
      return { status: res.statusCode, code: text.startsWith('{') ? (JSON.parse(text) as { code?: string }).code : undefined, headers: res.headers };
    },
    async stop() {
      await gh.stop();
      await up.close();
      await idp.close();
    },
  };
}

const filterOf = (gh: TestGateway, route = 'r0') => gh.gw.snapshot().router.entries.find((e) => e.value.name === route)!.value.filters.find((f) => 'counters' in f) as JwtFilter;

test('key rotation: a new kid triggers one refetch and is accepted; a rotated-out key stops working, even from the cache', async () => {
  const env = await setup({ jwks: { cooldown: '300ms' } });
  try {
    const a = env.key;
    const tokA = await mint(a, env.claims());
    assert.equal((await env.call(tokA)).status, 200);
    assert.equal((await env.call(tokA)).status, 200, 'served from the verified-token cache');
    assert.equal(env.idp.count('/jwks'), 1);

    const b = await env.idp.addKey('ES256', { publish: false });
    env.idp.publish([b]); // A is retired
    await sleep(400); // past the cooldown since the startup fetch
    const r = await env.call(await mint(b, env.claims()));
    assert.equal(r.status, 200, 'the new kid is found after one refetch');
    assert.equal(env.idp.count('/jwks'), 2);
    const again = await env.call(tokA);
    assert.equal(again.status, 401, 'A left the key set: its cached verification is dropped');
    assert.equal(again.code, 'authn.jwt.unknown_kid');
    assert.equal(env.idp.count('/jwks'), 2, 'and inside the cooldown no fetch is made for it');
  } finally {
    await env.stop();
  }
});

test('unknown-kid flood: at most one fetch per cooldown', async () => {
  const env = await setup({ jwks: { cooldown: '1s' } });
  try {
    const attacker = await makeKey('RS256', 'flood');
    // Let the startup fetch finish, then wait out its cooldown so the flood may cause one fetch.
    const ok = await mint(env.key, env.claims());
    assert.equal((await env.call(ok)).status, 200);
    await sleep(1_100);
    const base = env.idp.count('/jwks');
    const tokens = await Promise.all(Array.from({ length: 40 }, (_, i) => mint(attacker, env.claims(), { kid: `flood-${i}-${Math.random()}` })));
    const results = await Promise.all(tokens.map((t) => env.call(t)));
    assert.ok(results.every((r) => r.status === 401 && r.code === 'authn.jwt.unknown_kid'));
    assert.equal(env.idp.count('/jwks') - base, 1, 'forty unknown kids, one fetch');
    const more = await Promise.all(tokens.slice(0, 10).map((t) => env.call(t)));
    assert.ok(more.every((r) => r.code === 'authn.jwt.unknown_kid'));
    assert.equal(env.idp.count('/jwks') - base, 1, 'still one inside the cooldown');
    await sleep(1_100);
    await Promise.all(tokens.slice(0, 10).map((t) => env.call(t)));
    assert.equal(env.idp.count('/jwks') - base, 2, 'one more after the cooldown');
  } finally {
    await env.stop();
  }
});

test('provider down with cached keys: tokens still verify; then past max_stale: 503 keys_unavailable', async () => {
  const env = await setup({ jwks: { cooldown: '100ms', cache_ttl_min: '200ms', cache_ttl_default: '300ms', max_stale: '700ms' } }, { alg: 'EdDSA' });
  try {
    const k = env.key;
    assert.equal((await env.call(await mint(k, env.claims({ sub: 'one' })))).status, 200);
    env.idp.setMode('error');
    await sleep(450); // keys now stale (ttl 300 ms), refreshes failing
    const fresh = await env.call(await mint(k, env.claims({ sub: 'two' })));
    assert.equal(fresh.status, 200, 'a new token verifies with the stale keys');
    await sleep(800); // past ttl + max_stale
    const late = await env.call(await mint(k, env.claims({ sub: 'three' })));
    assert.equal(late.status, 503);
    assert.equal(late.code, 'authn.jwt.keys_unavailable');
    assert.equal(late.headers['retry-after'], '1');
    env.idp.setMode('up');
    await sleep(150);
    assert.equal((await env.call(await mint(k, env.claims({ sub: 'four' })))).status, 200, 'recovers without a restart');
  } finally {
    await env.stop();
  }
});

test('provider down from the start: 503 keys_unavailable (not 401), nothing forwarded; recovers when it returns', async () => {
  const env = await setup({ jwks: { cooldown: '300ms' } }, { beforeStart: (idp) => idp.setMode('error') });
  try {
    const k = env.key;
    const tok = await mint(k, env.claims());
    const r = await env.call(tok);
    assert.equal(r.status, 503);
    assert.equal(r.code, 'authn.jwt.keys_unavailable');
    assert.equal(env.up.requests.length, 0);
    env.idp.setMode('up');
    await sleep(350);
    assert.equal((await env.call(tok)).status, 200);
  } finally {
    await env.stop();
  }
});

test('a hanging provider is bounded by fetch_timeout', async () => {
  const env = await setup({ jwks: { fetch_timeout: '300ms', cooldown: '10s' } }, { beforeStart: (idp) => idp.setMode('hang') });
  try {
    const k = env.key;
    const started = performance.now();
    const r = await env.call(await mint(k, env.claims()));
    const took = performance.now() - started;
    assert.equal(r.code, 'authn.jwt.keys_unavailable');
    assert.ok(took < 2_000, `answered in ${Math.round(took)} ms`);
  } finally {
    await env.stop();
  }
});

test('discovery is pinned to the issuer: a document naming another issuer is never used', async () => {
  const env = await setup({ jwks: { cooldown: '10s' } }, { beforeStart: (idp) => void (idp.discovery = { ...idp.discovery, issuer: 'https://evil.example.com' }) });
  try {
    const r = await env.call(await mint(env.key, env.claims()));
    assert.equal(r.status, 503);
    assert.equal(r.code, 'authn.jwt.keys_unavailable');
    assert.equal(env.idp.count('/jwks'), 0, 'its jwks_uri was not followed');
  } finally {
    await env.stop();
  }
});

test('an oversized key set is refused (max_bytes)', async () => {
  // Twenty keys are well over 2000 bytes.
  const env = await setup({ jwks: { cooldown: '10s', max_bytes: 2000 } }, { beforeStart: async (idp) => void (await Promise.all(Array.from({ length: 19 }, () => idp.addKey('ES256')))) });
  try {
    const r = await env.call(await mint(env.key, env.claims()));
    assert.equal(r.code, 'authn.jwt.keys_unavailable');
  } finally {
    await env.stop();
  }
});

test('refreshed in the background on the provider Cache-Control max-age', async () => {
  const env = await setup({ jwks: { cache_ttl_min: '1s' } }, { beforeStart: (idp) => void (idp.jwksCacheControl = 'max-age=1') });
  try {
    assert.equal((await env.call(await mint(env.key, env.claims()))).status, 200);
    const n = env.idp.count('/jwks');
    await Promise.race([env.idp.nextRequest('/jwks'), sleep(5_000).then(() => assert.fail('no background refresh within 5 s'))]);
    assert.equal(env.idp.count('/jwks'), n + 1, 'refreshed with no request to trigger it');
  } finally {
    await env.stop();
  }
});

test('jwks_uri skips discovery; the issuer is then just the exact iss string', async () => {
  const env = await setup({}, { alg: 'ES256', issuer: (idp) => ({ issuer: 'urn:example:static-issuer', jwks_uri: idp.jwksUri }) });
  try {
    const k = env.key;
    assert.equal((await env.call(await mint(k, { iss: 'urn:example:static-issuer', aud: 'api', sub: 'svc' }))).status, 200);
    assert.equal(env.idp.count('/.well-known/openid-configuration'), 0);
    assert.equal(env.idp.count('/jwks'), 1);
  } finally {
    await env.stop();
  }
});

test('routes and reloads share one key document: no extra fetch on reload', async () => {
  const env = await setup({}, { routes: 3 });
  try {
    const k = env.key;
    for (const p of ['/r0/x', '/r1/x', '/r2/x']) assert.equal((await env.call(await mint(k, env.claims()), p)).status, 200);
    assert.equal(env.idp.count('/.well-known/openid-configuration'), 1);
    assert.equal(env.idp.count('/jwks'), 1);
    await env.gh.gw.reload(env.gh.gw.snapshot().config);
    assert.equal((await env.call(await mint(k, env.claims({ sub: 'after-reload' })), '/r1/x')).status, 200);
    assert.equal(env.idp.count('/jwks'), 1, 'the new snapshot found the keys warm');
  } finally {
    await env.stop();
  }
});

test('close() releases the shared documents and their timers', async () => {
  const idp = await startFakeIdp();
  try {
    await idp.addKey('RS256');
    const registry = new JwksRegistry(systemClock, pino({ level: 'silent' }));
    const deps = { clock: systemClock, log: pino({ level: 'silent' }), jwks: registry };
    const cfg = { issuers: [{ issuer: idp.issuer, audiences: ['api'] }] };
    const f1 = jwtFactory.create(cfg, deps);
    const f2 = jwtFactory.create(cfg, deps);
    await idp.nextRequest('/jwks');
    assert.equal(registry.size, 2, 'one discovery document and one key set, shared by both');
    await f1.close!();
    assert.equal(registry.size, 2);
    await f2.close!();
    assert.equal(registry.size, 0);
  } finally {
    await idp.close();
  }
});
