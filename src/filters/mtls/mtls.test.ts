import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import mtls, { compilePolicy, decide, judge, MTLS_CHALLENGE, type Accepted, type Verdict } from './index.js';
import type { PeerCert, PeerState } from './peer.js';
import type { Reply } from '../../pipeline/filter.js';
import { makeCtx } from '../../../test/helpers/make-ctx.js';
import { IDENTITY } from '../common/identity.js';

const NOW = Date.parse('2030-06-01T00:00:00Z');
const FP = 'ab'.repeat(32);
const cert = (over: Partial<PeerCert> = {}): PeerCert => ({
  sans: ['spiffe://example.org/ns/prod/sa/web', 'web.example.com'],
  uris: ['spiffe://example.org/ns/prod/sa/web'],
  dns: ['web.example.com'],
  emails: [],
  cn: 'web',
  subject: 'O=Acme, CN=web',
  issuer: 'CN=Acme CA',
  fingerprint: FP,
  notBefore: NOW - 86_400_000,
  notAfter: NOW + 86_400_000,
  ...over,
});
const good = (c = cert()): PeerState => ({ cert: c, authorized: true, error: undefined });
const code = (v: Verdict | undefined) => (v && 'status' in v ? `${v.status} ${v.code}` : v === undefined ? 'continue' : 'accepted');
const accepted = (v: Verdict | undefined) => {
  assert.ok(v && !('status' in v), `expected acceptance, got ${code(v)}`);
  return v as Accepted;
};

test('no certificate: 401 cert_required with a challenge when required, "no credential" when not', () => {
  const none: PeerState = { cert: undefined, authorized: false, error: undefined };
  const r = decide(compilePolicy({}), none, NOW) as Reply;
  assert.equal(r.status, 401);
  assert.equal(r.code, 'authn.mtls.cert_required');
  assert.equal(r.headers?.['www-authenticate'], MTLS_CHALLENGE);
  assert.equal(decide(compilePolicy({ require: false }), none, NOW), undefined);
});

test('present but refused: untrusted, expired (handshake verdict or clock), unpinned, SAN not allowed: 403 even when not required', () => {
  for (const require of [true, false]) {
    const p = (c: object = {}) => compilePolicy({ require, ...c });
    assert.equal(code(decide(p(), { cert: cert(), authorized: false, error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, NOW)), '403 authn.mtls.cert_untrusted');
    assert.equal(code(decide(p(), { cert: cert(), authorized: false, error: 'SELF_SIGNED_CERT_IN_CHAIN' }, NOW)), '403 authn.mtls.cert_untrusted');
    assert.equal(code(decide(p(), { cert: cert(), authorized: false, error: 'CERT_HAS_EXPIRED' }, NOW)), '403 authn.mtls.cert_expired');
    assert.equal(code(decide(p(), { cert: cert(), authorized: false, error: 'CERT_NOT_YET_VALID' }, NOW)), '403 authn.mtls.cert_expired');
    // Verified at handshake time, but the connection outlived the certificate.
    assert.equal(code(decide(p(), good(cert({ notAfter: NOW - 1 })), NOW)), '403 authn.mtls.cert_expired');
    assert.equal(code(decide(p(), good(cert({ notBefore: NOW + 1 })), NOW)), '403 authn.mtls.cert_expired');
    assert.equal(code(decide(p({ pinned_fingerprints: ['cd'.repeat(32)] }), good(), NOW)), '403 authn.mtls.fingerprint_mismatch');
    assert.equal(code(decide(p({ allowed_sans: ['spiffe://example.org/ns/dev/sa/*'] }), good(), NOW)), '403 authn.mtls.san_not_allowed');
    assert.equal(code(decide(p({ subject_from: 'san_email' }), good(), NOW)), '403 authn.mtls.san_not_allowed');
  }
});

test('pinning accepts hex with colons in any case', () => {
  const colons = FP.toUpperCase().match(/../g)!.join(':');
  assert.equal(code(decide(compilePolicy({ pinned_fingerprints: [colons] }), good(), NOW)), 'accepted');
});

test('identity: subject from URI SAN, else DNS SAN, else CN, or as configured; roles from roles_by_san; tls facts', () => {
  const p = compilePolicy({
    allowed_sans: ['spiffe://example.org/ns/*/sa/*', '*.example.com'],
    roles_by_san: { 'spiffe://example.org/ns/prod/sa/*': ['prod', 'reader'], 'web.example.com': ['reader', 'web'], 'other': ['x'] },
  });
  const a = accepted(decide(p, good(), NOW));
  assert.equal(a.identity.kind, 'mtls');
  assert.equal(a.identity.subject, 'spiffe://example.org/ns/prod/sa/web');
  assert.deepEqual(a.identity.roles, ['prod', 'reader', 'web']);
  assert.equal(a.identity.issuer, 'CN=Acme CA');
  assert.deepEqual(a.identity.tls, { sans: cert().sans, fingerprint: FP, subject: 'O=Acme, CN=web' });
  assert.deepEqual(a.headers, []);
  assert.equal(accepted(decide(compilePolicy({}), good(cert({ uris: [] })), NOW)).identity.subject, 'web.example.com');
  assert.equal(accepted(decide(compilePolicy({}), good(cert({ uris: [], dns: [] })), NOW)).identity.subject, 'web');
  assert.equal(accepted(decide(compilePolicy({ subject_from: 'cn' }), good(), NOW)).identity.subject, 'web');
  assert.equal(accepted(decide(compilePolicy({ subject_from: 'san_dns' }), good(), NOW)).identity.subject, 'web.example.com');
  assert.equal(code(decide(compilePolicy({}), good(cert({ uris: [], dns: [], cn: undefined })), NOW)), '403 authn.mtls.san_not_allowed');
});

test('cert_headers: fingerprint, subject and SANs (a SAN with a comma is percent-encoded)', () => {
  const a = judge(compilePolicy({ cert_headers: true }), cert({ sans: ['spiffe://x/y', 'a, b'] })) as Accepted;
  assert.deepEqual(a.headers, [
    'x-gatehouse-client-cert-fingerprint', FP,
    'x-gatehouse-client-cert-subject', 'O=Acme, CN=web',
    'x-gatehouse-client-cert-sans', 'spiffe://x/y, a%2C%20b',
  ]);
});

test('the filter on a plain (non-TLS) request: 401 when required, continue when not', () => {
  const deps = { clock: { now: () => NOW }, log: pino({ level: 'silent' }) };
  const ctx = makeCtx({});
  assert.equal((mtls.create({}, deps).onRequest!(ctx) as Reply).code, 'authn.mtls.cert_required');
  assert.equal(mtls.create({ require: false }, deps).onRequest!(ctx), undefined);
  assert.equal(ctx.get(IDENTITY), undefined);
  assert.throws(() => mtls.create({ allowed_sans: ['**'] }, deps), /mtls\.allowed_sans\[0\]/);
});
