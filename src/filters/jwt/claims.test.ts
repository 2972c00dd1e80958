import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkClaims, ClaimFailure, rolesOf, scopesOf, type ClaimPolicy } from './claims.js';

const NOW = 1_700_000_000; // seconds; the clock is an argument
const policy = (p: Partial<ClaimPolicy> = {}): ClaimPolicy => ({
  issuer: 'https://idp',
  audiences: new Set(['api']),
  skewS: 60,
  maxLifetimeS: 3600,
  requiredClaims: [],
  requiredScopes: [],
  subjectClaim: 'sub',
  rolesPath: undefined,
  roleMap: undefined,
  ...p,
});
const base = { iss: 'https://idp', aud: 'api', sub: 'alice', iat: NOW - 10, exp: NOW + 600 };
const check = (payload: Record<string, unknown>, p: Partial<ClaimPolicy> = {}) => {
  const r = checkClaims(payload, policy(p), NOW * 1000);
  return r instanceof ClaimFailure ? `${r.code}:${r.detail.split(' ')[0]}` : 'ok';
};

test('a valid payload passes and yields subject, scopes and roles', () => {
  const r = checkClaims({ ...base, scope: 'read write', groups: ['g-admin', 'other'] }, policy({ rolesPath: ['groups'], roleMap: new Map([['g-admin', 'admin']]) }), NOW * 1000);
  assert.ok(!(r instanceof ClaimFailure));
  assert.deepEqual(r, { subject: 'alice', scopes: ['read', 'write'], roles: ['admin'], exp: NOW + 600 });
});

test('exp is required, a number, and honoured with the skew', () => {
  const { exp: _e, ...noExp } = base;
  assert.equal(check(noExp), 'authn.jwt.missing_claim:exp');
  assert.equal(check({ ...base, exp: String(NOW + 600) }), 'authn.jwt.malformed:exp');
  assert.equal(check({ ...base, exp: NOW - 59 }), 'ok', 'inside the skew');
  assert.equal(check({ ...base, exp: NOW - 60 }), 'authn.jwt.expired:exp');
  assert.equal(check({ ...base, exp: NOW - 60 }, { skewS: 0 }), 'authn.jwt.expired:exp');
  assert.equal(check({ ...base, exp: NOW + 1 }, { skewS: 0 }), 'ok');
  assert.equal(check({ ...base, exp: NOW }, { skewS: 0 }), 'authn.jwt.expired:exp', 'exp is exclusive');
});

test('nbf and iat: not in the future beyond the skew; must be numbers', () => {
  assert.equal(check({ ...base, nbf: NOW + 60 }), 'ok');
  assert.equal(check({ ...base, nbf: NOW + 61 }), 'authn.jwt.not_yet_valid:nbf');
  assert.equal(check({ ...base, nbf: 'soon' }), 'authn.jwt.malformed:nbf');
  assert.equal(check({ ...base, iat: NOW + 60 }), 'ok');
  assert.equal(check({ ...base, iat: NOW + 61 }), 'authn.jwt.issued_in_future:iat');
  assert.equal(check({ ...base, iat: null }), 'authn.jwt.malformed:iat');
});

test('maximum lifetime: exp - iat, or exp - now without iat (jose maxTokenAge misses exp in 2286)', () => {
  assert.equal(check({ ...base, iat: NOW, exp: NOW + 3600 }), 'ok');
  assert.equal(check({ ...base, iat: NOW, exp: NOW + 3601 }), 'authn.jwt.lifetime_too_long:lifetime');
  const { iat: _i, ...noIat } = base;
  assert.equal(check({ ...noIat, exp: NOW + 3600 }), 'ok');
  assert.equal(check({ ...noIat, exp: 9_999_999_999 }), 'authn.jwt.lifetime_too_long:lifetime');
  assert.equal(check({ ...base, iat: NOW - 10, exp: 9_999_999_999 }), 'authn.jwt.lifetime_too_long:lifetime');
});

test('iss must match exactly; aud must contain a configured audience', () => {
  assert.equal(check({ ...base, iss: 'https://idp/' }), 'authn.jwt.issuer_mismatch:iss');
  assert.equal(check({ ...base, aud: ['other', 'api'] }), 'ok');
  assert.equal(check({ ...base, aud: 'other' }), 'authn.jwt.audience_mismatch:aud');
  assert.equal(check({ ...base, aud: ['API'] }), 'authn.jwt.audience_mismatch:aud');
  assert.equal(check({ ...base, aud: undefined }), 'authn.jwt.audience_mismatch:aud');
  assert.equal(check({ ...base, aud: [{ api: 1 }] }), 'authn.jwt.audience_mismatch:aud');
});

test('required claims and the subject claim', () => {
  assert.equal(check(base, { requiredClaims: ['email'] }), 'authn.jwt.missing_claim:email');
  assert.equal(check({ ...base, email: null }, { requiredClaims: ['email'] }), 'authn.jwt.missing_claim:email');
  assert.equal(check({ ...base, email: '' }, { requiredClaims: ['email'] }), 'ok');
  assert.equal(check({ ...base, sub: '' }), 'authn.jwt.missing_claim:sub');
  assert.equal(check({ ...base, sub: 42 }), 'authn.jwt.missing_claim:sub');
  assert.equal(check({ ...base, client_id: 'svc' }, { subjectClaim: 'client_id' }), 'ok');
  assert.equal(check(base, { requiredClaims: ['constructor'] }), 'authn.jwt.missing_claim:constructor', 'never read through the prototype');
});

test('scopes from scope (space-separated) or scp (array or string); all required ones must be granted', () => {
  assert.deepEqual(scopesOf({ scope: 'a  b c' }), ['a', 'b', 'c']);
  assert.deepEqual(scopesOf({ scp: ['a', 'b', 7, 'c d'] }), ['a', 'b']);
  assert.deepEqual(scopesOf({ scp: 'a b' }), ['a', 'b']);
  assert.deepEqual(scopesOf({ scope: 'a', scp: ['b'] }), ['a', 'b']);
  assert.deepEqual(scopesOf({ scope: ['a'] }), ['a'], 'an array under scope is read too');
  assert.equal(check({ ...base, scope: 'read' }, { requiredScopes: ['read', 'write'] }), 'authn.jwt.insufficient_scope:write');
  assert.equal(check({ ...base, scp: ['write', 'read'] }, { requiredScopes: ['read', 'write'] }), 'ok');
  assert.equal(check({ ...base, scope: 'reader' }, { requiredScopes: ['read'] }), 'authn.jwt.insufficient_scope:read');
});

test('roles: dotted path through own properties only; role_map keeps mapped values only', () => {
  const payload = { realm_access: { roles: ['admin', 'user', 5] }, groups: 'ops', ['__proto__']: { roles: ['x'] } };
  assert.deepEqual(rolesOf(payload, { rolesPath: ['realm_access', 'roles'], roleMap: undefined }), ['admin', 'user']);
  assert.deepEqual(rolesOf(payload, { rolesPath: ['groups'], roleMap: undefined }), ['ops']);
  assert.deepEqual(rolesOf(payload, { rolesPath: ['realm_access', 'roles'], roleMap: new Map([['admin', 'gh-admin']]) }), ['gh-admin']);
  assert.deepEqual(rolesOf(payload, { rolesPath: ['constructor', 'name'], roleMap: undefined }), []);
  assert.deepEqual(rolesOf(JSON.parse('{"__proto__":{"roles":["evil"]}}'), { rolesPath: ['__proto__', 'roles'], roleMap: undefined }), ['evil'], 'an own __proto__ member is just data');
  assert.deepEqual(rolesOf(payload, { rolesPath: ['missing', 'x'], roleMap: undefined }), []);
});
