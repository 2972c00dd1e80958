// The verifier's rules, case by case, on requests signed by the AWS SDK signer at a fixed instant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { detect, matchingSecret, prepare, verifyRequest, parseAmzDate, parseAuthorization, signingKey, type KeyRecord, type SigV4Request, type VerifierPolicy } from './verify.js';
import { splitTarget } from './canonical.js';

const NOW = Date.UTC(2026, 2, 1, 8, 30, 0);
const SECRET = 'unit-secret';
const TOKEN = 'tok+/=';

function key(id: string, extra: Partial<KeyRecord> = {}): KeyRecord {
  return { id, secret: SECRET, enabled: true, sessionTokens: [], signingKeys: new Map(), ...extra };
}

function policy(p: Partial<VerifierPolicy> = {}): VerifierPolicy {
  const keys = new Map([
    ['AKID', key('AKID')],
    ['ASIA', key('ASIA', { sessionTokens: [createHash('sha256').update(TOKEN).digest()] })],
    ['OFF', key('OFF', { enabled: false })],
  ]);
  return { region: 'us-east-1', service: 'svc', maxSkewMs: 300_000, presigned: true, maxExpiresS: 3600, unsignedPayload: false, s3: false, requireSigned: [], keys, ...p };
}

interface Opts {
  method?: string;
  target?: string;
  headers?: Record<string, string>;
  body?: string;
  id?: string;
  token?: string;
  date?: number;
  applyChecksum?: boolean;
  region?: string;
}

const signerFor = (o: Opts) =>
  new SignatureV4({
    credentials: { accessKeyId: o.id ?? 'AKID', secretAccessKey: SECRET, ...(o.token ? { sessionToken: o.token } : {}) },
    region: o.region ?? 'us-east-1',
    service: 'svc',
    sha256: Sha256,
    applyChecksum: o.applyChecksum ?? true,
  });

function sdkRequest(o: Opts): HttpRequest {
  const { path, query } = splitTarget(o.target ?? '/');
  const q: Record<string, string[]> = {};
  for (const part of query ? query.split('&') : []) {
    const [k, v = ''] = part.split('=');
    (q[decodeURIComponent(k!)] ??= []).push(decodeURIComponent(v));
  }
  return new HttpRequest({ method: o.method ?? 'GET', hostname: 'api.test', path, query: q, headers: { host: 'api.test', ...(o.headers ?? {}) }, body: o.body });
}

function toInput(method: string, target: string, headers: Record<string, string>): SigV4Request {
  const { path, query } = splitTarget(target);
  return { method, rawPath: path, rawQuery: query, rawHeaders: Object.entries(headers).flat() };
}

async function signed(o: Opts = {}): Promise<{ input: SigV4Request; body: Buffer; headers: Record<string, string> }> {
  const s = await signerFor(o).sign(sdkRequest(o), { signingDate: new Date(o.date ?? NOW) });
  const headers = s.headers as Record<string, string>;
  return { input: toInput(o.method ?? 'GET', o.target ?? '/', headers), body: Buffer.from(o.body ?? ''), headers };
}

async function presigned(o: Opts & { expiresIn?: number } = {}): Promise<{ input: SigV4Request; target: string }> {
  const s = await signerFor(o).presign(sdkRequest(o), { signingDate: new Date(o.date ?? NOW), expiresIn: o.expiresIn ?? 600 });
  const parts: string[] = [];
  for (const [k, v] of Object.entries(s.query ?? {})) for (const one of Array.isArray(v) ? v : [v]) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(one as string)}`);
  const target = `${splitTarget(o.target ?? '/').path}?${parts.join('&')}`;
  return { input: toInput(o.method ?? 'GET', target, s.headers as Record<string, string>), target };
}

const codeOf = (r: ReturnType<typeof verifyRequest>) => (r.ok ? (r.form === 'none' ? 'none' : 'ok') : r.code);
const run = (x: { input: SigV4Request; body?: Buffer }, p = policy(), now = NOW) => codeOf(verifyRequest(x.input, x.body ?? Buffer.alloc(0), p, now));
const withHeader = (x: { input: SigV4Request; body: Buffer }, name: string, value: string | undefined) => {
  const raw = [...x.input.rawHeaders];
  const i = raw.findIndex((h, j) => j % 2 === 0 && h.toLowerCase() === name);
  if (i === -1) raw.push(name, value!);
  else if (value === undefined) raw.splice(i, 2);
  else raw[i + 1] = value;
  return { input: { ...x.input, rawHeaders: raw }, body: x.body };
};

test('no SigV4 credential: another Authorization scheme, or none at all', () => {
  assert.equal(codeOf(verifyRequest(toInput('GET', '/', { authorization: 'Bearer x' }), Buffer.alloc(0), policy(), NOW)), 'none');
  assert.equal(codeOf(verifyRequest(toInput('GET', '/?X-Amz-Foo=1', {}), Buffer.alloc(0), policy(), NOW)), 'none');
});

test('header form: valid GET, POST with claimed hash, POST with computed hash', async () => {
  assert.equal(run(await signed()), 'ok');
  assert.equal(run(await signed({ method: 'POST', body: 'a=1' })), 'ok');
  assert.equal(run(await signed({ method: 'POST', body: 'a=1', applyChecksum: false })), 'ok');
});

test('Authorization syntax is strict: three components, once each, lower-case hex signature', async () => {
  const x = await signed();
  const a = x.headers.authorization!;
  for (const bad of [
    a.replace(', Signature', ', Signature=x, Signature'),
    a.replace(/, Signature=[0-9a-f]+/, ''),
    a.replace('Credential=', 'Credential=AKID/, Foo='),
    a.replace('SignedHeaders=', 'Signedheaders='),
    a.replace(/Signature=[0-9a-f]+/, 'Signature=abc'),
    a.replace('AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256'),
    a.replace('/aws4_request', '/extra/aws4_request'),
    a.replace(/\/\d{8}\//, '/2026031/'),
    a.replace('SignedHeaders=host;', 'SignedHeaders=x-amz-content-sha256;host;'),
    a.replace('SignedHeaders=host;', 'SignedHeaders=Host;'),
  ]) {
    assert.equal(run(withHeader(x, 'authorization', bad)), 'authn.sigv4.malformed', bad);
  }
  assert.equal(parseAuthorization('AWS4-HMAC-SHA256 Signature=s,SignedHeaders=h,Credential=c').ok, true, 'order is free, spaces optional');
});

test('two Authorization fields are ambiguous', async () => {
  const x = await signed();
  const raw = [...x.input.rawHeaders, 'Authorization', x.headers.authorization!];
  assert.equal(run({ input: { ...x.input, rawHeaders: raw } }), 'authn.ambiguous_credentials');
});

test('dates: x-amz-date must be exact and single; Date works when x-amz-date is absent and signed', async () => {
  assert.equal(parseAmzDate('20260301T083000Z'), NOW);
  for (const bad of ['20260301T083000', '20261301T083000Z', '20260230T000000Z', '2026031T083000Z', '20260301t083000z']) assert.equal(parseAmzDate(bad), undefined, bad);
  const x = await signed();
  assert.equal(run(withHeader(x, 'x-amz-date', '2026-03-01T08:30:00Z')), 'authn.sigv4.malformed');
  const twice = { input: { ...x.input, rawHeaders: [...x.input.rawHeaders, 'X-Amz-Date', x.headers['x-amz-date']!] } };
  assert.equal(run(twice), 'authn.sigv4.malformed');
  // No x-amz-date and no Date: there is no time to check.
  assert.equal(run(withHeader(x, 'x-amz-date', undefined)), 'authn.sigv4.malformed');
  // With a Date header instead: the time comes from Date, which must be signed. The signature is
  // then computed over the ISO form of that time, which is what the AWS signer signed.
  const httpDate = new Date(NOW).toUTCString();
  const d = withHeader(withHeader(x, 'x-amz-date', undefined), 'date', httpDate);
  assert.equal(run(d), 'authn.sigv4.unsigned_header');
  // Signed by hand (the SDK always sends x-amz-date): canonical request over `date`, string to
  // sign over the ISO form of that instant.
  const hmac = (k: Buffer | string, v: string) => createHmac('sha256', k).update(v).digest();
  const creq = `GET\n/\n\ndate:${httpDate}\nhost:api.test\n\ndate;host\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855`;
  const sts = `AWS4-HMAC-SHA256\n20260301T083000Z\n20260301/us-east-1/svc/aws4_request\n${createHash('sha256').update(creq).digest('hex')}`;
  const kSigning = hmac(hmac(hmac(hmac('AWS4' + SECRET, '20260301'), 'us-east-1'), 'svc'), 'aws4_request');
  const auth = `AWS4-HMAC-SHA256 Credential=AKID/20260301/us-east-1/svc/aws4_request, SignedHeaders=date;host, Signature=${hmac(kSigning, sts).toString('hex')}`;
  const byDate = { input: toInput('GET', '/', { host: 'api.test', date: httpDate, authorization: auth }) };
  assert.equal(run(byDate), 'ok');
  assert.equal(run(byDate, policy(), NOW + 300_001), 'authn.sigv4.request_expired');
  assert.equal(run({ input: toInput('GET', '/', { host: 'api.test', date: 'Sun, 1 Mar 2026 08:30:00 GMT', authorization: auth }) }), 'authn.sigv4.malformed');
});

test('time window: ±max_skew inclusive', async () => {
  const x = await signed();
  assert.equal(run(x, policy(), NOW + 300_000), 'ok');
  assert.equal(run(x, policy(), NOW - 300_000), 'ok');
  assert.equal(run(x, policy(), NOW + 300_001), 'authn.sigv4.request_expired');
  assert.equal(run(x, policy(), NOW - 300_001), 'authn.sigv4.request_expired');
  assert.equal(run(x, policy({ maxSkewMs: 60_000 }), NOW + 61_000), 'authn.sigv4.request_expired');
});

test('scope: date must be the request day; region, service and terminator must match', async () => {
  const x = await signed();
  const a = x.headers.authorization!;
  assert.equal(run(withHeader(x, 'authorization', a.replace('/20260301/', '/20260302/'))), 'authn.sigv4.scope_mismatch');
  assert.equal(run(withHeader(x, 'authorization', a.replace('/aws4_request', '/aws5_request'))), 'authn.sigv4.scope_mismatch');
  assert.equal(run(x, policy({ region: 'eu-west-1' })), 'authn.sigv4.scope_mismatch');
  assert.equal(run(x, policy({ service: 'other' })), 'authn.sigv4.scope_mismatch');
  assert.equal(run(await signed({ region: 'eu-west-1' })), 'authn.sigv4.scope_mismatch');
});

test('keys: unknown, disabled, wrong secret', async () => {
  assert.equal(run(await signed({ id: 'NOPE' })), 'authn.sigv4.unknown_access_key');
  assert.equal(run(await signed({ id: 'OFF' })), 'authn.sigv4.key_disabled');
  const p = policy();
  (p.keys as Map<string, KeyRecord>).set('AKID', { ...key('AKID'), secret: 'other' });
  assert.equal(run(await signed(), p), 'authn.sigv4.signature_mismatch');
});

test('signed headers: host and the date header always; the token and configured headers when present', async () => {
  const x = await signed({ headers: { 'x-tenant': 'a' } });
  const a = x.headers.authorization!;
  assert.equal(run(withHeader(x, 'authorization', a.replace('host;', ''))), 'authn.sigv4.unsigned_header');
  assert.equal(run(withHeader(x, 'authorization', a.replace(';x-amz-date', ''))), 'authn.sigv4.unsigned_header');
  const y = await signed();
  assert.equal(run(withHeader(y, 'x-tenant', 'a'), policy({ requireSigned: ['x-tenant'] })), 'authn.sigv4.unsigned_header');
  assert.equal(run(x, policy({ requireSigned: ['x-tenant'] })), 'ok');
  assert.equal(run(y, policy({ requireSigned: ['x-tenant'] })), 'ok', 'absent is fine');
  // A signed header the request does not carry cannot be canonicalised.
  const z = await signed({ headers: { 'x-gone': '1' } });
  assert.equal(run(withHeader(z, 'x-gone', undefined)), 'authn.sigv4.malformed');
});

test('session tokens: signed and known for a temporary key; refused otherwise', async () => {
  assert.equal(run(await signed({ id: 'ASIA', token: TOKEN })), 'ok');
  assert.equal(run(await signed({ id: 'ASIA' })), 'authn.sigv4.invalid_session_token');
  assert.equal(run(await signed({ id: 'ASIA', token: 'tok+/' })), 'authn.sigv4.invalid_session_token');
  assert.equal(run(await signed({ id: 'AKID', token: TOKEN })), 'authn.sigv4.invalid_session_token');
  const x = await signed({ id: 'ASIA', token: TOKEN });
  const unsigned = withHeader(x, 'authorization', x.headers.authorization!.replace(';x-amz-security-token', ''));
  assert.equal(run(unsigned), 'authn.sigv4.unsigned_header');
  const twice = { input: { ...x.input, rawHeaders: [...x.input.rawHeaders, 'X-Amz-Security-Token', TOKEN] } };
  assert.equal(run(twice), 'authn.ambiguous_credentials');
});

test('payload: claimed hash must match the body; UNSIGNED-PAYLOAD only when allowed; streaming refused', async () => {
  const x = await signed({ method: 'POST', body: 'amount=10' });
  assert.equal(run({ input: x.input, body: Buffer.from('amount=11') }), 'authn.sigv4.payload_hash_mismatch');
  const c = await signed({ method: 'POST', body: 'amount=10', applyChecksum: false });
  assert.equal(run({ input: c.input, body: Buffer.from('amount=11') }), 'authn.sigv4.signature_mismatch');
  const u = await signed({ method: 'PUT', body: 'data', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
  assert.equal(run(u), 'authn.sigv4.unsigned_payload_not_allowed');
  assert.equal(run(u, policy({ unsignedPayload: true })), 'ok');
  assert.equal(run({ input: u.input, body: Buffer.from('anything') }, policy({ unsignedPayload: true })), 'ok', 'not covered, by choice');
  const s = await signed({ method: 'PUT', headers: { 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' } });
  assert.equal(run(s, policy({ unsignedPayload: true })), 'authn.sigv4.malformed');
  const b = await signed({ method: 'PUT', headers: { 'x-amz-content-sha256': 'ABC' } });
  assert.equal(run(b), 'authn.sigv4.malformed');
});

test("a raw '+' in a signed query is refused (form decoding would read it as a space)", async () => {
  const x = await signed({ target: '/s?q=a%2Bb' });
  assert.equal(run(x), 'ok');
  const plus = { input: { ...x.input, rawQuery: 'q=a+b' } };
  assert.equal(run(plus), 'authn.sigv4.malformed');
});

test('presigned: valid, expiry bounds, policy maximum, disabled, duplicates, not yet valid', async () => {
  const p = await presigned({ target: '/r?x=1' });
  assert.equal(run(p), 'ok');
  assert.equal(run(p, policy(), NOW + 600_000), 'ok');
  assert.equal(run(p, policy(), NOW + 600_001), 'authn.sigv4.request_expired');
  assert.equal(run(p, policy(), NOW - 300_001), 'authn.sigv4.request_expired', 'from the future beyond the skew');
  assert.equal(run(p, policy({ presigned: false })), 'authn.sigv4.presign_disabled');
  assert.equal(run(await presigned({ expiresIn: 3601 })), 'authn.sigv4.presign_too_long');
  assert.equal(run(await presigned({ expiresIn: 604_800 }), policy({ maxExpiresS: 604_800 })), 'ok');
  const q = p.input.rawQuery;
  for (const bad of [q.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=0'), q.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604801'), q.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=1e3')]) {
    assert.equal(run({ input: { ...p.input, rawQuery: bad } }, policy({ maxExpiresS: 604_800 })), 'authn.sigv4.malformed', bad);
  }
  assert.equal(run({ input: { ...p.input, rawQuery: q.replace(/&X-Amz-SignedHeaders=[^&]+/, '') } }), 'authn.sigv4.malformed');
  assert.equal(run({ input: { ...p.input, rawQuery: q + '&X-Amz-Signature=' + '0'.repeat(64) } }), 'authn.ambiguous_credentials');
  assert.equal(run({ input: { ...p.input, rawQuery: q.replace('x=1', 'x=2') } }), 'authn.sigv4.signature_mismatch');
  assert.equal(run({ input: { ...p.input, rawHeaders: [...p.input.rawHeaders, 'Authorization', 'Bearer x'] } }), 'authn.ambiguous_credentials');
});

test('presigned with a session token: the token is in the signed query', async () => {
  const p = await presigned({ id: 'ASIA', token: TOKEN });
  assert.match(p.target, /X-Amz-Security-Token=/);
  assert.equal(run(p), 'ok');
});

test('the signing key is memoised per scope date and bounded', () => {
  const k = key('K');
  const a = signingKey(k, '20260301', 'r', 's');
  assert.equal(signingKey(k, '20260301', 'r', 's'), a);
  for (let d = 2; d <= 9; d++) signingKey(k, `2026030${d}`, 'r', 's');
  assert.ok(k.signingKeys.size <= 4);
});

test('detect/prepare stages: a cheap refusal needs no signature work', async () => {
  const x = await signed({ id: 'NOPE' });
  const d = detect(x.input);
  assert.ok(d.ok && d.form === 'header');
  const p = prepare(x.input, d, policy(), NOW);
  assert.equal(p.ok, false);
});

test('rotation overlap: the current secret first, a previous one only on mismatch and only before its deadline', async () => {
  const x = await signed({ method: 'POST', body: 'a=1' }); // signed with SECRET
  const payload = createHash('sha256').update('a=1').digest('hex');
  const at = (k: KeyRecord, now = NOW) => {
    const d = detect(x.input);
    assert.ok(d.ok && d.form !== 'none');
    const p = prepare(x.input, d, policy({ keys: new Map([['AKID', k]]) }), now);
    assert.ok(p.ok);
    return matchingSecret(p, payload, policy(), now);
  };
  assert.equal(at(key('AKID')), 'current');
  const rotated = key('AKID', { secret: 'the-new-secret', previousSecrets: [{ secret: SECRET, until: NOW + 1000, signingKeys: new Map() }] });
  assert.equal(at(rotated), 'previous');
  assert.equal(at(rotated, NOW + 1000), undefined, 'refused from the deadline on');
  assert.equal(at(key('AKID', { secret: 'the-new-secret' })), undefined);
  const tokens = { sessionTokens: [createHash('sha256').update('new-token').digest()], previousTokens: [{ digest: createHash('sha256').update(TOKEN).digest(), until: NOW + 1000 }] };
  const t = await signed({ id: 'ASIA', token: TOKEN });
  const d = detect(t.input);
  assert.ok(d.ok && d.form !== 'none');
  const withToken = (now: number) => prepare(t.input, d, policy({ keys: new Map([['ASIA', key('ASIA', tokens)]]) }), now);
  const ok = withToken(NOW);
  assert.ok(ok.ok && ok.previousToken, 'a previous session token is accepted and marked');
  const late = withToken(NOW + 1000);
  assert.ok(!late.ok && late.code === 'authn.sigv4.invalid_session_token');
});
