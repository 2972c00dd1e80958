// The jwt filter without sockets: static keys (inline JWKS / secret), a fake clock, minted tokens.
// Each case checks the outcome, the attributes set and the counters bumped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import jwt, { type JwtFilter } from './index.js';
import type { JwtConfig } from './config.js';
import { makeCtx } from '../../../test/helpers/make-ctx.js';
import { makeKey, mint, rawToken, type TestKey } from '../../../test/helpers/fake-idp.js';
import { IDENTITY } from '../common/identity.js';
import type { Reply } from '../../pipeline/filter.js';
import type { RequestContext } from '../../pipeline/context.js';
import { validateConfig } from '../../config/validate.js';
import { ttlFromHeaders, DEFAULT_FETCH_POLICY, isFetchableUrl } from './jwks-cache.js';
import { withoutQueryParam as withoutParam } from '../common/credentials.js';

const ISS = 'https://idp.example.com';
let nowMs = Date.now();
const clock = { now: () => nowMs };
const deps = { clock, log: pino({ level: 'silent' }) };
const keys: Record<string, TestKey> = {};
const key = async (alg: 'RS256' | 'ES256' | 'EdDSA') => (keys[alg] ??= await makeKey(alg, `unit-${alg}`));
const nowS = () => Math.floor(nowMs / 1000);

async function make(over: Partial<JwtConfig['issuers'][number]> = {}, top: Partial<JwtConfig> = {}): Promise<JwtFilter> {
  const jwks = { keys: [(await key('RS256')).publicJwk, (await key('ES256')).publicJwk, (await key('EdDSA')).publicJwk] };
  return jwt.create({ issuers: [{ issuer: ISS, jwks, audiences: ['api'], ...over }], ...top }, deps) as JwtFilter;
}
const claims = (c: Record<string, unknown> = {}) => ({ iss: ISS, aud: 'api', sub: 'alice', iat: nowS(), exp: nowS() + 300, ...c });
const bearer = (t: string) => makeCtx({ headers: { authorization: `Bearer ${t}` } });
async function run(f: JwtFilter, ctx: RequestContext): Promise<Reply | undefined> {
  return (await f.onRequest!(ctx)) ?? undefined;
}

test('RS256, ES256 and EdDSA tokens are accepted; the identity comes from the verified payload', async () => {
  const f = await make({ roles_claim: 'realm_access.roles', role_map: { 'gh-admin': 'admin' } });
  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    const t = await mint(await key(alg), claims({ scope: 'read write', realm_access: { roles: ['gh-admin', 'unmapped'] } }));
    const ctx = bearer(t);
    assert.equal(await run(f, ctx), undefined, alg);
    const id = ctx.get(IDENTITY)!;
    assert.equal(id.kind, 'jwt');
    assert.equal(id.subject, 'alice');
    assert.equal(id.issuer, ISS);
    assert.deepEqual(id.roles, ['admin']);
    assert.deepEqual(id.scopes, ['read', 'write']);
    assert.equal(id.keyId, `unit-${alg}`);
    assert.equal(id.claims.sub, 'alice');
    assert.ok(Object.isFrozen(id) && Object.isFrozen(id.claims), 'a cached identity is shared, so it is immutable');
    assert.deepEqual(ctx.upstreamRemove, ['authorization'], 'the token is not forwarded by default');
  }
  assert.equal(f.counters.accepted, 3);
  assert.equal(f.counters.signatureChecks, 3);
});

test('a hot token is served from the cache: no second signature check, a sync answer', async () => {
  const f = await make();
  const t = await mint(await key('ES256'), claims());
  assert.equal(await run(f, bearer(t)), undefined);
  const ctx = bearer(t);
  const r = f.onRequest!(ctx);
  assert.equal(r, undefined, 'a cache hit answers synchronously');
  assert.equal(ctx.get(IDENTITY)?.subject, 'alice');
  assert.deepEqual({ ...f.counters, rejected: { ...f.counters.rejected } }, { cacheHits: 1, cacheMisses: 1, signatureChecks: 1, accepted: 2, rejected: {}, previousCredential: 0 });
  assert.equal(f.cacheSize(), 1);
});

test('a cached token expires with its exp; the full check then refuses it', async () => {
  const f = await make({}, { clock_skew: '0s' });
  const t = await mint(await key('RS256'), claims({ exp: nowS() + 5 }));
  assert.equal(await run(f, bearer(t)), undefined);
  const saved = nowMs;
  nowMs += 6_000;
  try {
    const r = await run(f, bearer(t));
    assert.equal(r?.code, 'authn.jwt.expired');
    assert.equal(f.counters.cacheHits, 0);
  } finally {
    nowMs = saved;
  }
});

test('the cache is bounded: the oldest entry goes first', async () => {
  const f = await make({}, { cache: { max_entries: 2 } });
  const k = await key('EdDSA');
  const toks = [await mint(k, claims({ sub: 'a' })), await mint(k, claims({ sub: 'b' })), await mint(k, claims({ sub: 'c' }))];
  for (const t of toks) await run(f, bearer(t));
  assert.equal(f.cacheSize(), 2);
  await run(f, bearer(toks[2]!));
  assert.equal(f.counters.cacheHits, 1);
  await run(f, bearer(toks[0]!));
  assert.equal(f.counters.cacheHits, 1, 'the first token was evicted');
  assert.equal(f.counters.signatureChecks, 4);
});

test('no token of ours: continue (Authorization with another scheme, no header at all)', async () => {
  const f = await make();
  assert.equal(await run(f, makeCtx({})), undefined);
  assert.equal(await run(f, makeCtx({ headers: { authorization: 'Basic YWxhZGRpbjpvcGVuc2VzYW1l' } })), undefined);
  assert.equal(await run(f, makeCtx({ headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x' } })), undefined);
  assert.equal(f.counters.cacheMisses + f.counters.accepted, 0);
});

test('scheme matching is case-insensitive; "Bearer" without a token is malformed', async () => {
  const f = await make();
  const t = await mint(await key('RS256'), claims());
  assert.equal(await run(f, makeCtx({ headers: { authorization: `bearer ${t}` } })), undefined);
  assert.equal(await run(f, makeCtx({ headers: { authorization: `BEARER   ${t}` } })), undefined);
  assert.equal((await run(f, makeCtx({ headers: { authorization: 'Bearer' } })))?.code, 'authn.jwt.malformed');
  assert.equal((await run(f, makeCtx({ headers: { authorization: 'Bearer ' } })))?.code, 'authn.jwt.malformed');
});

test('two Authorization fields, or a token in two configured places: 400 ambiguous', async () => {
  const f = await make({}, { from: [{ header: 'authorization' }, { query: 'access_token' }, { cookie: 'at' }] });
  const t = await mint(await key('RS256'), claims());
  const two = makeCtx({ rawHeaders: ['Authorization', `Bearer ${t}`, 'authorization', `Bearer ${t}`] });
  assert.deepEqual(await run(f, two), { status: 400, code: 'authn.ambiguous_credentials', message: 'the request carries more than one credential of the same kind' });
  assert.equal((await run(f, makeCtx({ headers: { authorization: `Bearer ${t}` }, query: `access_token=${t}` })))?.code, 'authn.ambiguous_credentials');
  assert.equal((await run(f, makeCtx({ query: `access_token=${t}&access_token=${t}` })))?.code, 'authn.ambiguous_credentials');
  assert.equal((await run(f, makeCtx({ headers: { cookie: `at=${t}` }, query: `access_token=${t}` })))?.code, 'authn.ambiguous_credentials');
  assert.equal(await run(f, makeCtx({ query: `access_token=${t}` })), undefined, 'one place is fine');
  assert.equal(f.counters.rejected['authn.ambiguous_credentials'], 4);
});

test('cookie source: only the token cookie is kept from the upstream', async () => {
  const f = await make({}, { from: [{ cookie: 'at' }] });
  const t = await mint(await key('RS256'), claims());
  const ctx = makeCtx({ headers: { cookie: `theme=dark; at=${t}; lang=en` } });
  assert.equal(await run(f, ctx), undefined);
  assert.deepEqual(ctx.upstreamRemove, ['cookie']);
  assert.deepEqual(ctx.upstreamHeaders, ['cookie', 'theme=dark; lang=en']);
});

test('query source: the token parameter is removed from the upstream query, the rest kept byte for byte', async () => {
  const f = await make({}, { from: [{ query: 'access_token' }] });
  const t = await mint(await key('RS256'), claims());
  const ctx = makeCtx({ query: `a=1&access_token=${t}&b=%2F+x&access%5Ftoken` });
  assert.equal((await run(f, ctx))?.code, 'authn.ambiguous_credentials', 'access%5Ftoken decodes to the same name');
  const ok = makeCtx({ query: `a=1&access_token=${t}&b=%2F+x` });
  assert.equal(await run(f, ok), undefined);
  assert.equal(ok.upstreamQuery, 'a=1&b=%2F+x');
  const encodedOnly = makeCtx({ headers: { authorization: `Bearer ${t}` }, query: `access%5Ftoken=${t}` });
  const g = await make({}, { from: [{ header: 'authorization' }, { query: 'access_token' }] });
  assert.equal((await run(g, encodedOnly))?.code, 'authn.ambiguous_credentials', 'a percent-encoded name is still the same parameter');
  assert.equal(withoutParam('access_token=x', 'access_token'), '');
  assert.equal(withoutParam('x=1&%61ccess_token=2', 'access_token'), 'x=1');
  assert.equal(withoutParam('bad=%E0%A4%A&x', 'access_token'), 'bad=%E0%A4%A&x');
});

test('forward_token: true leaves the Authorization field for the upstream', async () => {
  const f = await make({}, { forward_token: true });
  const ctx = bearer(await mint(await key('RS256'), claims()));
  assert.equal(await run(f, ctx), undefined);
  assert.equal(ctx.upstreamRemove, undefined);
});

test('size limit: 431 before any parsing', async () => {
  const f = await make({}, { max_token_bytes: 100 });
  const r = await run(f, bearer('a'.repeat(101)));
  assert.deepEqual(r, { status: 431, code: 'authn.jwt.too_large', message: 'the token is too large' });
  assert.equal(f.counters.cacheMisses, 0);
  const g = await make();
  assert.equal((await run(g, bearer(await mint(await key('RS256'), claims({ pad: 'x'.repeat(9000) })))))?.code, 'authn.jwt.too_large', 'default 8KiB');
});

test('401 replies carry an RFC 6750 challenge with a generic description', async () => {
  const f = await make();
  const r = await run(f, bearer('not.a.token'));
  assert.equal(r?.status, 401);
  assert.equal(r?.code, 'authn.jwt.malformed');
  assert.equal(r?.headers?.['www-authenticate'], 'Bearer realm="gatehouse", error="invalid_token", error_description="the token is malformed"');
  assert.equal(f.challenge, 'Bearer realm="gatehouse"');
});

test('every claim rule has its own code', async () => {
  const f = await make({ required_claims: ['email'], max_lifetime: '1h' });
  const k = await key('RS256');
  const cases: [Record<string, unknown>, string][] = [
    [claims({ email: 'a@b', exp: nowS() - 120 }), 'authn.jwt.expired'],
    [claims({ email: 'a@b', nbf: nowS() + 300 }), 'authn.jwt.not_yet_valid'],
    [claims({ email: 'a@b', iat: nowS() + 300, exp: nowS() + 600 }), 'authn.jwt.issued_in_future'],
    [claims({ email: 'a@b', exp: nowS() + 7200 }), 'authn.jwt.lifetime_too_long'],
    [claims({ email: 'a@b', aud: 'other' }), 'authn.jwt.audience_mismatch'],
    [claims({}), 'authn.jwt.missing_claim'],
    [claims({ email: 'a@b', iss: 'https://other.example.com' }), 'authn.jwt.unknown_issuer'],
    [claims({ email: 'a@b', iss: `${ISS}/` }), 'authn.jwt.issuer_mismatch'],
    [claims({ email: 'a@b', iss: undefined }), 'authn.jwt.missing_claim'],
    [claims({ email: 'a@b', iss: 7 }), 'authn.jwt.malformed'],
  ];
  for (const [c, code] of cases) {
    const r = await run(f, bearer(await mint(k, c)));
    assert.equal(r?.code, code, JSON.stringify(c));
    assert.equal(r?.status, 401);
  }
});

test('insufficient scope: 403 with error="insufficient_scope" and the scopes needed', async () => {
  const f = await make({ required_scopes: ['orders:read', 'orders:write'] });
  const r = await run(f, bearer(await mint(await key('RS256'), claims({ scope: 'orders:read' }))));
  assert.equal(r?.status, 403);
  assert.equal(r?.code, 'authn.jwt.insufficient_scope');
  assert.equal(r?.headers?.['www-authenticate'], 'Bearer realm="gatehouse", error="insufficient_scope", error_description="the token lacks a required scope", scope="orders:read orders:write"');
  assert.equal(await run(f, bearer(await mint(await key('RS256'), claims({ scp: ['orders:write', 'orders:read'] })))), undefined);
});

test('typ: checked where configured (at+jwt, application/ prefix and case tolerated)', async () => {
  const f = await make({ typ: 'at+jwt' });
  const k = await key('RS256');
  assert.equal((await run(f, bearer(await mint(k, claims(), { typ: 'JWT' }))))?.code, 'authn.jwt.typ_mismatch');
  assert.equal((await run(f, bearer(await mint(k, claims(), { typ: undefined }))))?.code, 'authn.jwt.typ_mismatch');
  assert.equal(await run(f, bearer(await mint(k, claims(), { typ: 'at+jwt' }))), undefined);
  assert.equal(await run(f, bearer(await mint(k, claims(), { typ: 'application/AT+JWT' }))), undefined);
});

test('algorithm allow-list per issuer; key type must fit alg', async () => {
  const f = await make({ algorithms: ['ES256'] });
  assert.equal((await run(f, bearer(await mint(await key('RS256'), claims()))))?.code, 'authn.jwt.alg_not_allowed');
  assert.equal(await run(f, bearer(await mint(await key('ES256'), claims()))), undefined);
  // An EC token naming the RSA key's kid: no key of that kid fits ES256.
  const g = await make();
  const mixed = await mint(await key('ES256'), claims(), { kid: 'unit-RS256' });
  assert.equal((await run(g, bearer(mixed)))?.code, 'authn.jwt.unknown_kid');
});

test('HS256 signed with the RSA public key (PEM or JWK text) never verifies on an RSA issuer', async () => {
  const f = await make();
  const rs = await key('RS256');
  const spki = createPublicKey({ key: rs.publicJwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
  for (const secret of [spki, JSON.stringify(rs.publicJwk), rs.publicJwk.n as string]) {
    const t = rawToken(JSON.stringify({ alg: 'HS256', kid: rs.kid, typ: 'JWT' }), JSON.stringify(claims()), { hs256: Buffer.from(secret) });
    const r = await run(f, bearer(t));
    assert.equal(r?.code, 'authn.jwt.alg_not_allowed');
  }
  // Even an issuer that lists HS256 must have a secret, and then has no public keys at all.
  await assert.rejects(async () => make({ algorithms: ['RS256', 'HS256'] }), /need a secret/);
  assert.equal(f.counters.signatureChecks, 0);
});

test('issuer with a shared secret: HS256 accepted, RS256 refused, the secret length is enforced', async () => {
  const secret = 's'.repeat(32);
  const f = jwt.create({ issuers: [{ issuer: ISS, secret, audiences: ['api'] }] }, deps) as JwtFilter;
  const good = rawToken(JSON.stringify({ alg: 'HS256', typ: 'JWT' }), JSON.stringify(claims()), { hs256: Buffer.from(secret) });
  assert.equal(await run(f, bearer(good)), undefined);
  const wrong = rawToken(JSON.stringify({ alg: 'HS256', typ: 'JWT' }), JSON.stringify(claims()), { hs256: Buffer.from('t'.repeat(32)) });
  assert.equal((await run(f, bearer(wrong)))?.code, 'authn.jwt.bad_signature');
  assert.equal((await run(f, bearer(await mint(await key('RS256'), claims()))))?.code, 'authn.jwt.alg_not_allowed');
  assert.throws(() => jwt.create({ issuers: [{ issuer: ISS, secret, audiences: ['api'], algorithms: ['HS512'] }] }, deps), /HS512 needs at least 64 bytes/);
  assert.throws(() => jwt.create({ issuers: [{ issuer: ISS, secret, audiences: ['api'], algorithms: ['RS256'] }] }, deps), /HS256\/HS384\/HS512 only/);
  assert.throws(() => jwt.create({ issuers: [{ issuer: ISS, secret, jwks_uri: 'https://x/jwks', audiences: ['api'] }] }, deps), /choose one key source/);
});

test('attack headers: kid traversal and URLs are map keys only; jku/x5u/jwk never trusted', async () => {
  const f = await make();
  const rs = await key('RS256');
  for (const kid of ['../../etc/passwd', '/dev/zero', 'http://127.0.0.1:1/jwks', "' OR 1=1 --", '__proto__', 'constructor']) {
    assert.equal((await run(f, bearer(await mint(rs, claims(), { kid }))))?.code, 'authn.jwt.unknown_kid', kid);
  }
  // A token signed by an attacker key, carrying that key inline (jwk) and links to it (jku, x5u).
  const evil = await makeKey('RS256', 'unit-RS256');
  const t = await mint(evil, claims(), { jwk: evil.publicJwk, jku: 'http://127.0.0.1:1/jwks', x5u: 'http://127.0.0.1:1/cert' } as never);
  assert.equal((await run(f, bearer(t)))?.code, 'authn.jwt.bad_signature');
});

test('signature tampering: payload changed after signing', async () => {
  const f = await make();
  const t = await mint(await key('RS256'), claims());
  const [h, , s] = t.split('.');
  const forged = `${h}.${Buffer.from(JSON.stringify(claims({ sub: 'admin' }))).toString('base64url')}.${s}`;
  assert.equal((await run(f, bearer(forged)))?.code, 'authn.jwt.bad_signature');
});

test('a correctly signed token with a duplicate member is refused (jose would take the last)', async () => {
  const f = await make();
  const rs = await key('RS256');
  const p = JSON.stringify(claims());
  const dupAlg = rawToken(`{"alg":"none","kid":"${rs.kid}","alg":"RS256"}`, p, { rs256: rs });
  assert.equal((await run(f, bearer(dupAlg)))?.code, 'authn.jwt.duplicate_member');
  const dupSub = rawToken(`{"alg":"RS256","kid":"${rs.kid}"}`, p.replace('"sub":"alice"', '"sub":"alice","sub":"admin"'), { rs256: rs });
  assert.equal((await run(f, bearer(dupSub)))?.code, 'authn.jwt.duplicate_member');
  const clean = rawToken(`{"alg":"RS256","kid":"${rs.kid}"}`, p, { rs256: rs });
  assert.equal(await run(f, bearer(clean)), undefined, 'the same signer without the duplicate passes');
});

test('config errors are caught at create time', async () => {
  const jwks = { keys: [(await key('RS256')).publicJwk] };
  const base = { issuer: ISS, audiences: ['api'] };
  assert.throws(() => jwt.create({ issuers: [{ ...base, jwks }], clock_skew: '6m' }, deps), /clock_skew must be at most 5m/);
  assert.throws(() => jwt.create({ issuers: [{ ...base, jwks }, { ...base, jwks }] }, deps), /listed twice/);
  assert.throws(() => jwt.create({ issuers: [{ ...base, jwks, jwks_uri: 'https://x/k' }] }, deps), /choose one key source/);
  assert.throws(() => jwt.create({ issuers: [{ ...base, jwks, discovery: true }] }, deps), /discovery cannot be combined/);
  assert.throws(() => jwt.create({ issuers: [{ ...base, jwks, algorithms: ['ES256'] }] }, deps), /no key in the key set fits/);
  assert.throws(() => jwt.create({ issuers: [{ ...base, jwks: { keys: [{ kty: 'oct', k: 'AAAA' }] } }] }, deps), /no usable signature key/);
  assert.throws(() => jwt.create({ issuers: [{ ...base, issuer: 'http://idp.example.com' }] }, deps), /https issuer URL/);
  assert.throws(() => jwt.create({ issuers: [{ ...base, jwks_uri: 'http://idp.example.com/jwks' }] }, deps), /jwks_uri must be https/);
  assert.throws(() => jwt.create({ issuers: [{ ...base, discovery: false }] }, deps), /no key source/);
  assert.throws(() => jwt.create({ issuers: [{ ...base, jwks_file: '/nonexistent/jwks.json' }] }, deps), /jwks_file: cannot read/);
});

test('the schema accepts the documented config and refuses alg none, HS without names, empty audiences', () => {
  const cfg = (jwtCfg: unknown) => ({
    listeners: [{ port: 0 }],
    routes: [{ name: 'api', cluster: 'up', filters: { authz: { allow: 'authenticated' }, jwt: jwtCfg } }],
    clusters: [{ name: 'up', endpoints: ['http://127.0.0.1:1'] }],
  });
  const good = {
    issuers: [
      {
        issuer: 'https://login.example.com/realms/main',
        audiences: ['orders-api'],
        algorithms: ['RS256', 'ES256'],
        typ: 'at+jwt',
        required_scopes: ['orders:read'],
        max_lifetime: '1h',
        roles_claim: 'realm_access.roles',
        role_map: { 'orders-admin': 'admin' },
      },
      { issuer: 'https://svc.internal', jwks_uri: 'https://svc.internal/keys', audiences: ['orders-api'], subject_claim: 'client_id' },
    ],
    clock_skew: '30s',
    from: [{ header: 'Authorization', prefix: 'Bearer ' }, { cookie: 'session' }],
    max_token_bytes: '8KiB',
    cache: { max_entries: 5000 },
    jwks: { fetch_timeout: '1500ms', max_bytes: 150000, cooldown: '30s', cache_ttl_min: '1m', cache_ttl_max: '24h', max_stale: '24h' },
  };
  const r = validateConfig(cfg(good), { file: 'test.yaml' });
  assert.deepEqual(r.errors, []);
  const bad = (patch: Record<string, unknown>) => validateConfig(cfg({ ...good, issuers: [{ ...good.issuers[0], ...patch }] }), { file: 'test.yaml' }).errors.length;
  assert.ok(bad({ algorithms: ['none'] }) > 0);
  assert.ok(bad({ algorithms: ['NONE'] }) > 0);
  assert.ok(bad({ audiences: [] }) > 0);
  assert.ok(bad({ audiences: undefined }) > 0);
  assert.ok(bad({ unknown_key: 1 }) > 0);
  assert.ok(validateConfig(cfg({ ...good, max_token_bytes: '99999999999999999999GiB' }), { file: 'test.yaml' }).errors.length > 0);
});

test('JWKS freshness from the provider cache headers, clamped to [1 min, 24 h], 10 min without', () => {
  const p = DEFAULT_FETCH_POLICY;
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(ttlFromHeaders({}, p, now), 600_000);
  assert.equal(ttlFromHeaders({ 'cache-control': 'public, max-age=3600' }, p, now), 3_600_000);
  assert.equal(ttlFromHeaders({ 'cache-control': 'max-age=3600', age: '600' }, p, now), 3_000_000);
  assert.equal(ttlFromHeaders({ 'cache-control': 'max-age=5' }, p, now), 60_000);
  assert.equal(ttlFromHeaders({ 'cache-control': 'max-age=9999999' }, p, now), 86_400_000);
  assert.equal(ttlFromHeaders({ 'cache-control': 'no-store' }, p, now), 60_000);
  assert.equal(ttlFromHeaders({ 'cache-control': 'no-cache, max-age=3600' }, p, now), 60_000);
  assert.equal(ttlFromHeaders({ expires: 'Wed, 01 Jan 2025 02:00:00 GMT', date: 'Wed, 01 Jan 2025 00:00:00 GMT' }, p, now), 7_200_000);
  assert.equal(ttlFromHeaders({ expires: '0' }, p, now), 60_000);
  assert.equal(ttlFromHeaders({ 'cache-control': 'max-age=120', expires: 'Wed, 01 Jan 2025 02:00:00 GMT' }, p, now), 120_000, 'max-age wins');
});

test('only https (or loopback http) key URLs are fetched', () => {
  assert.equal(isFetchableUrl('https://idp.example.com/jwks'), true);
  assert.equal(isFetchableUrl('http://127.0.0.1:8080/jwks'), true);
  assert.equal(isFetchableUrl('http://localhost/jwks'), true);
  assert.equal(isFetchableUrl('http://idp.example.com/jwks'), false);
  assert.equal(isFetchableUrl('file:///etc/passwd'), false);
  assert.equal(isFetchableUrl('https://user:pw@idp.example.com/jwks'), false);
  assert.equal(isFetchableUrl('../../etc/passwd'), false);
});
