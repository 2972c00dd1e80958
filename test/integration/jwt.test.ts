// The jwt filter end to end: a real gateway, a real OIDC provider (discovery + JWKS over HTTP) and
// a recording upstream. Tokens are minted at test time; attack tokens are built byte by byte.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startFakeIdp, makeKey, mint, nowS, rawToken, type FakeIdp, type TestKey } from '../helpers/fake-idp.js';
import type { JwtFilter } from '../../src/filters/jwt/index.js';

let idp: FakeIdp;
let up: TestUpstream;
let gh: TestGateway;
let rs: TestKey;
let es: TestKey;
let ed: TestKey;
/** A server that must never be contacted: jku / x5u / kid URLs point here. */
let trap: http.Server;
let trapHits = 0;
let trapUrl: string;

const AUD = 'orders-api';
const claims = (c: Record<string, unknown> = {}) => ({ iss: idp.issuer, aud: AUD, sub: 'alice', groups: ['g-admin', 'g-other'], scope: 'orders:read', ...c });

before(async () => {
  trap = http.createServer((_q, res) => {
    trapHits++;
    res.end('{}');
  });
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
  trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
  idp = await startFakeIdp();
  rs = await idp.addKey('RS256');
  es = await idp.addKey('ES256');
  ed = await idp.addKey('EdDSA');
  up = await startUpstream();
  const issuer = { issuer: idp.issuer, audiences: [AUD], max_lifetime: '1h', roles_claim: 'groups', role_map: { 'g-admin': 'admin' } };
  const route = (name: string, prefix: string, jwt: Record<string, unknown>) => ({ name, match: { path: { prefix } }, cluster: 'up', filters: { authz: { allow: 'authenticated' }, jwt } });
  gh = await startGateway({
    routes: [
      route('api', '/api', { issuers: [issuer] }),
      route('fwd', '/fwd', { issuers: [issuer], forward_token: true }),
      route('query', '/query', { issuers: [issuer], from: [{ header: 'authorization' }, { query: 'access_token' }] }),
      route('scoped', '/scoped', { issuers: [{ ...issuer, required_scopes: ['orders:write'] }] }),
      route('typed', '/typed', { issuers: [{ ...issuer, typ: 'at+jwt', required_claims: ['client_id'] }] }),
      route('small', '/small', { issuers: [issuer], max_token_bytes: 1024 }),
    ],
    clusters: [{ name: 'up', endpoints: [up.url] }],
  });
});

after(async () => {
  await gh.stop();
  await up.close();
  await idp.close();
  await new Promise<void>((r) => trap.close(() => r()));
});

async function call(path: string, headers: Record<string, string | string[]> = {}) {
  const res = await request(`${gh.url}${path}`, { headers });
  const text = await res.body.text();
  const body = text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {};
  return { status: res.statusCode, headers: res.headers, body };
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const lastUpstream = () => up.requests[up.requests.length - 1]!;
const filterOf = (route: string) => gh.gw.snapshot().router.entries.find((e) => e.value.name === route)!.value.filters.find((f) => 'counters' in f) as JwtFilter;

test('RS256, ES256 and EdDSA tokens from the discovered JWKS are accepted; identity reaches the upstream', async () => {
  for (const key of [rs, es, ed]) {
    const before = up.requests.length;
    const r = await call('/api/orders', { ...bearer(await mint(key, claims())), 'x-gatehouse-subject': 'mallory', 'X-Gatehouse-Roles': 'root', x_gatehouse_subject: 'mallory' });
    assert.equal(r.status, 200, key.alg);
    assert.equal(up.requests.length, before + 1);
    const h = lastUpstream().headers;
    assert.equal(h['x-gatehouse-subject'], 'alice', 'the verified subject, not the spoofed one');
    assert.equal(h['x-gatehouse-roles'], 'admin');
    assert.equal(h['x-gatehouse-scopes'], 'orders:read');
    assert.equal(h['x-gatehouse-issuer'], idp.issuer);
    assert.equal(h['x-gatehouse-auth-method'], 'jwt');
    assert.equal(h['x-gatehouse-key-id'], key.kid);
    assert.equal(h['x_gatehouse_subject'], undefined, 'the _ twin is stripped too');
    const gatehouse = lastUpstream().rawHeaders.filter((n, i) => i % 2 === 0 && n.toLowerCase().startsWith('x-gatehouse-'));
    assert.equal(gatehouse.filter((n) => n.toLowerCase() === 'x-gatehouse-subject').length, 1);
    assert.equal(h.authorization, undefined, 'the token is not forwarded by default');
  }
  assert.equal(idp.count('/.well-known/openid-configuration'), 1, 'discovery fetched once for all routes');
  assert.equal(idp.count('/jwks'), 1, 'one JWKS fetch shared by six routes');
});

test('forward_token: true forwards Authorization on that route only', async () => {
  const t = await mint(rs, claims());
  assert.equal((await call('/fwd/x', bearer(t))).status, 200);
  assert.equal(lastUpstream().headers.authorization, `Bearer ${t}`);
  assert.equal((await call('/api/x', bearer(t))).status, 200);
  assert.equal(lastUpstream().headers.authorization, undefined);
});

test('no token: 401 with the Bearer challenge from the gate, nothing forwarded', async () => {
  const before = up.requests.length;
  const r = await call('/api/x');
  assert.equal(r.status, 401);
  assert.equal(r.body.code, 'authn.missing_credentials');
  assert.equal(r.headers['www-authenticate'], 'Bearer realm="gatehouse"');
  assert.equal(up.requests.length, before);
});

test('query tokens: refused where not configured; accepted where listed; header + query is ambiguous', async () => {
  const t = await mint(rs, claims());
  const before = up.requests.length;
  const r = await call(`/api/x?access_token=${t}`);
  assert.equal(r.status, 401);
  assert.equal(r.body.code, 'authn.missing_credentials', 'a query token is not a credential on a route without a query source');
  assert.equal(up.requests.length, before);
  assert.equal((await call(`/query/x?a=1&access_token=${t}&b=2`)).status, 200);
  assert.equal(lastUpstream().url, '/query/x?a=1&b=2', 'the query token is not forwarded');
  const amb = await call(`/query/x?access_token=${t}`, bearer(t));
  assert.equal(amb.status, 400);
  assert.equal(amb.body.code, 'authn.ambiguous_credentials');
  const twice = await call(`/query/x?access_token=${t}&access_token=${t}`);
  assert.equal(twice.body.code, 'authn.ambiguous_credentials');
  assert.equal(up.requests.length, before + 1);
});

test('two Authorization fields: 400 ambiguous, even when both carry the same valid token', async () => {
  const t = await mint(rs, claims());
  const before = up.requests.length;
  const r = await call('/api/x', { authorization: [`Bearer ${t}`, `Bearer ${t}`] });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'authn.ambiguous_credentials');
  assert.equal(up.requests.length, before);
});

test('a hot token is served from the verified-token cache (no signature check on repeats)', async () => {
  const f = filterOf('api');
  const t = await mint(es, claims({ sub: 'hot' }));
  assert.equal((await call('/api/hot', bearer(t))).status, 200);
  const checks = f.counters.signatureChecks;
  const hits = f.counters.cacheHits;
  for (let i = 0; i < 20; i++) assert.equal((await call('/api/hot', bearer(t))).status, 200);
  assert.equal(f.counters.signatureChecks, checks, 'no further signature check');
  assert.equal(f.counters.cacheHits, hits + 20);
  assert.equal(lastUpstream().headers['x-gatehouse-subject'], 'hot');
  // The cache is per route: the same token on another route is verified there once.
  const g = filterOf('fwd');
  const before = g.counters.signatureChecks;
  assert.equal((await call('/fwd/hot', bearer(t))).status, 200);
  assert.equal(g.counters.signatureChecks, before + 1);
});

test('every rejection code, produced over the wire, with nothing forwarded', async () => {
  const unpublished = await makeKey('RS256', 'not-published');
  const big = await mint(rs, claims({ pad: 'x'.repeat(2000) }));
  const t = async (c: Record<string, unknown>, h: Record<string, unknown> = {}, key = rs) => mint(key, claims(c), h);
  const cases: [string, string, number, string][] = [
    ['/api', 'not-a-jwt', 401, 'authn.jwt.malformed'],
    ['/small', big, 431, 'authn.jwt.too_large'],
    ['/api', (await t({})).replace(/\.[^.]+$/, `.${(await t({ sub: 'x' })).split('.')[2]}`), 401, 'authn.jwt.bad_signature'],
    ['/api', rawToken('{"alg":"none","typ":"JWT"}', JSON.stringify(claims())), 401, 'authn.jwt.alg_not_allowed'],
    ['/api', await t({ iss: 'https://other.example.com' }), 401, 'authn.jwt.unknown_issuer'],
    ['/api', await t({}, {}, unpublished), 401, 'authn.jwt.unknown_kid'],
    ['/api', await t({ exp: nowS() - 3600, iat: nowS() - 3700 }), 401, 'authn.jwt.expired'],
    ['/api', await t({ nbf: nowS() + 600 }), 401, 'authn.jwt.not_yet_valid'],
    ['/api', await t({ iat: nowS() + 600, exp: nowS() + 900 }), 401, 'authn.jwt.issued_in_future'],
    ['/api', await t({ exp: nowS() + 7200 }), 401, 'authn.jwt.lifetime_too_long'],
    ['/api', await t({ aud: 'someone-else' }), 401, 'authn.jwt.audience_mismatch'],
    ['/api', await t({ iss: `${idp.issuer}/` }), 401, 'authn.jwt.issuer_mismatch'],
    ['/api', await t({ sub: undefined }), 401, 'authn.jwt.missing_claim'],
    ['/typed', await t({ client_id: 'c' }, { typ: 'JWT' }), 401, 'authn.jwt.typ_mismatch'],
    ['/typed', await t({}, { typ: 'at+jwt' }), 401, 'authn.jwt.missing_claim'],
    ['/scoped', await t({}), 403, 'authn.jwt.insufficient_scope'],
    ['/api', rawToken(`{"alg":"RS256","kid":"${rs.kid}","crit":["exp"],"exp":1}`, JSON.stringify(claims()), { rs256: rs }), 401, 'authn.jwt.crit_unsupported'],
    ['/api', rawToken(`{"alg":"RS256","kid":"${rs.kid}"}`, JSON.stringify(claims()).replace('"sub":"alice"', '"sub":"alice","sub":"admin"'), { rs256: rs }), 401, 'authn.jwt.duplicate_member'],
  ];
  const before = up.requests.length;
  for (const [path, token, status, code] of cases) {
    const r = await call(`${path}/x`, bearer(token));
    assert.equal(r.body.code, code, `${code} on ${path}`);
    assert.equal(r.status, status, code);
    assert.equal(typeof r.body.request_id, 'string');
    assert.ok(!JSON.stringify(r.body).includes(token.slice(0, 20)), 'the body never echoes the token');
    if (status === 401) {
      assert.match(String(r.headers['www-authenticate']), /^Bearer realm="gatehouse", error="invalid_token", error_description="[a-z ;,]+"$/);
    }
    if (status === 403) assert.match(String(r.headers['www-authenticate']), /error="insufficient_scope".*scope="orders:write"/);
  }
  assert.equal(up.requests.length, before, 'nothing was forwarded');
  const ok = await call('/typed/x', bearer(await t({ client_id: 'c' }, { typ: 'at+jwt' })));
  assert.equal(ok.status, 200);
});

test('alg none in every spelling, with and without a signature, never passes', async () => {
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    for (const sig of [undefined, { signature: 'AAAA' }]) {
      const tok = rawToken(JSON.stringify({ alg, typ: 'JWT' }), JSON.stringify(claims()), sig);
      const r = await call('/api/x', bearer(tok));
      assert.equal(r.status, 401, alg);
      assert.equal(r.body.code, 'authn.jwt.alg_not_allowed', alg);
    }
  }
});

test('HS256 signed with the RSA public key (PEM, JWK JSON, modulus) is refused', async () => {
  const pem = createPublicKey({ key: rs.publicJwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
  for (const secret of [pem, pem.trim(), JSON.stringify(rs.publicJwk), String(rs.publicJwk.n)]) {
    for (const kid of [rs.kid, undefined]) {
      const tok = rawToken(JSON.stringify({ alg: 'HS256', typ: 'JWT', ...(kid ? { kid } : {}) }), JSON.stringify(claims()), { hs256: Buffer.from(secret) });
      const r = await call('/api/x', bearer(tok));
      assert.equal(r.status, 401);
      assert.equal(r.body.code, 'authn.jwt.alg_not_allowed');
    }
  }
});

test('kid traversal strings and URLs are only map keys; jku/x5u/jwk/x5c are never fetched or trusted', async () => {
  const fetchesBefore = idp.requests.length;
  const trapBefore = trapHits;
  for (const kid of ['../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', '/dev/zero', `${trapUrl}/jwks`, 'file:///etc/passwd', '$(id)']) {
    const r = await call('/api/x', bearer(await mint(rs, claims(), { kid })));
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'authn.jwt.unknown_kid', kid);
  }
  // An attacker's own key, offered every way a JOSE header can: all ignored.
  const evil = await makeKey('RS256', rs.kid);
  const headers = { jku: `${trapUrl}/jwks`, x5u: `${trapUrl}/cert.pem`, jwk: evil.publicJwk, x5c: ['MIIB'] };
  const r = await call('/api/x', bearer(await mint(evil, claims(), headers as never)));
  assert.equal(r.status, 401);
  assert.equal(r.body.code, 'authn.jwt.bad_signature');
  const legit = await call('/api/x', bearer(await mint(rs, claims(), headers as never)));
  assert.equal(legit.status, 200, 'the same headers on a genuine token are just ignored');
  assert.equal(trapHits, trapBefore, 'the trap server was never contacted');
  assert.ok(idp.requests.slice(fetchesBefore).every((p) => p === '/jwks'), `only the configured JWKS was fetched: ${idp.requests.slice(fetchesBefore).join(',')}`);
});

test('a forged duplicate "alg" member that jose would resolve to RS256 is refused', async () => {
  const tok = rawToken(`{"alg":"none","kid":"${rs.kid}","alg":"RS256"}`, JSON.stringify(claims()), { rs256: rs });
  const r = await call('/api/x', bearer(tok));
  assert.equal(r.status, 401);
  assert.equal(r.body.code, 'authn.jwt.duplicate_member');
});
