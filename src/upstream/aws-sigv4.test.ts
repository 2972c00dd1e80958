// Unit tests of the upstream SigV4 signer: what it signs, what it strips, and that both the AWS SDK
// (recomputing independently) and the gateway's own verifier agree with every signature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { Readable } from 'node:stream';
import { AwsSigner, isReply, type AwsSigning, type AwsSigv4Config } from './aws-sigv4.js';
import { verifyRequest, type VerifierPolicy } from '../filters/sigv4/verify.js';
import { sdkAuthorization } from '../../test/helpers/aws-sign.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const CFG: AwsSigv4Config = { region: 'eu-west-1', service: 'execute-api', access_key_id: 'AKIDGATEWAY', secret_access_key: SECRET };
const ORIGIN = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function signer(cfg: Partial<AwsSigv4Config> = {}, now = NOW, defaultHost?: string) {
  return new AwsSigner({ ...CFG, ...cfg }, { now: () => now }, defaultHost);
}

function prepared(s: AwsSigner, target: string): AwsSigning {
  const p = s.prepare(target);
  assert.ok(!isReply(p));
  return p;
}

const get = (h: readonly string[], name: string) => {
  const out: string[] = [];
  for (let i = 0; i < h.length; i += 2) if (h[i]!.toLowerCase() === name) out.push(h[i + 1]!);
  return out;
};

/** The gateway's own verifier, configured with the same key. */
function verifies(method: string, target: string, headers: readonly string[], body: Buffer, cfg: Partial<AwsSigv4Config> = {}, now = NOW): boolean {
  const c = { ...CFG, ...cfg };
  const policy: VerifierPolicy = {
    region: c.region, service: c.service, maxSkewMs: 300_000, presigned: false, maxExpiresS: 0, unsignedPayload: true, s3: c.s3_style_paths === true, requireSigned: [],
    keys: new Map([[c.access_key_id, { id: c.access_key_id, secret: c.secret_access_key, enabled: true, sessionTokens: c.session_token ? [createHash('sha256').update(c.session_token).digest()] : [], signingKeys: new Map() }]]),
  };
  const q = target.indexOf('?');
  const r = verifyRequest({ method, rawPath: q === -1 ? target : target.slice(0, q), rawQuery: q === -1 ? '' : target.slice(q + 1), rawHeaders: headers }, body, policy, now);
  return r.ok && r.form === 'header';
}

const CLIENT = [
  'Host', 'client.example',
  'Authorization', 'Bearer client-token',
  'X-Amz-Date', '20200101T000000Z',
  'x-amz-security-token', 'client-session',
  'X-Amz-Content-Sha256', 'UNSIGNED-PAYLOAD',
  'Content-Type', 'application/json',
  'X-Amz-Target', 'Orders.Get',
  'User-Agent', 'test',
  'x-forwarded-for', '10.0.0.1',
  'x-forwarded-host', 'client.example',
  'x-request-id', 'req-1',
  'via', '1.1 gatehouse',
];

test('GET with a query: client SigV4 fields and Host replaced, the SDK recomputes the same Authorization', async () => {
  const s = signer();
  const target = '/orders/42?b=2&a=1&a=0&empty=&x=%2F%20y';
  const input = CLIENT.slice();
  const h = s.sign('GET', prepared(s, target), input, ORIGIN, null);
  assert.deepEqual(input, CLIENT, 'the shared list is left untouched');
  for (const n of ['host', 'authorization', 'x-amz-date', 'x-amz-content-sha256']) assert.equal(get(h, n).length, 1, `one ${n}`);
  assert.deepEqual(get(h, 'x-amz-security-token'), [], 'a client token never goes to a signing cluster without one');
  assert.equal(get(h, 'host')[0], 'abc123.execute-api.eu-west-1.amazonaws.com');
  assert.equal(get(h, 'x-amz-date')[0], '20260115T120000Z');
  assert.equal(get(h, 'x-amz-content-sha256')[0], EMPTY);
  assert.equal(get(h, 'x-forwarded-host')[0], 'client.example', 'x-forwarded-host keeps the client host');
  const auth = get(h, 'authorization')[0]!;
  assert.match(auth, /^AWS4-HMAC-SHA256 Credential=AKIDGATEWAY\/20260115\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target, Signature=[0-9a-f]{64}$/);
  const sdk = await sdkAuthorization({ method: 'GET', url: target, rawHeaders: h, body: Buffer.alloc(0) }, { credentials: { accessKeyId: 'AKIDGATEWAY', secretAccessKey: SECRET }, region: 'eu-west-1', service: 'execute-api', date: NOW });
  assert.equal(auth, sdk);
  assert.ok(verifies('GET', target, h, Buffer.alloc(0)));
  const tampered = h.map((v) => (v === 'Orders.Get' ? 'Orders.Delete' : v));
  assert.equal(verifies('GET', target, tampered, Buffer.alloc(0)), false, 'x-amz-target is covered');
  assert.equal(verifies('GET', '/orders/43?b=2&a=1&a=0&empty=&x=%2F%20y', h, Buffer.alloc(0)), false, 'the path is covered');
});

test('a body is hashed (once per request, however many attempts); session token signed; content-md5 signed', async () => {
  const s = signer({ session_token: 'FQoGZXIvYXdzEJr//////////wEaDtoken==' });
  const body = Buffer.from('{"item":"book","qty":2}');
  const p = prepared(s, '/orders');
  const headers = ['content-type', 'application/json', 'content-md5', createHash('md5').update(body).digest('base64'), 'content-length', String(body.length)];
  const h = s.sign('POST', p, headers, ORIGIN, body);
  assert.equal(get(h, 'x-amz-content-sha256')[0], createHash('sha256').update(body).digest('hex'));
  assert.equal(get(h, 'x-amz-security-token')[0], 'FQoGZXIvYXdzEJr//////////wEaDtoken==');
  assert.match(get(h, 'authorization')[0]!, /SignedHeaders=content-md5;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/);
  const sdk = await sdkAuthorization(
    { method: 'POST', url: '/orders', rawHeaders: h, body },
    { credentials: { accessKeyId: 'AKIDGATEWAY', secretAccessKey: SECRET, sessionToken: 'FQoGZXIvYXdzEJr//////////wEaDtoken==' }, region: 'eu-west-1', service: 'execute-api', date: NOW },
  );
  assert.equal(get(h, 'authorization')[0], sdk);
  assert.ok(verifies('POST', '/orders', h, body, { session_token: 'FQoGZXIvYXdzEJr//////////wEaDtoken==' }));
  assert.equal(p.hashed, body, 'the hash is kept for a retry of the same bytes');
  const again = s.sign('POST', p, headers, ORIGIN, body);
  assert.equal(get(again, 'x-amz-content-sha256')[0], get(h, 'x-amz-content-sha256')[0]);
});

test('payload unsigned: UNSIGNED-PAYLOAD whatever the body; a stream under payload signed is never hashed', () => {
  const u = signer({ payload: 'unsigned' });
  assert.equal(u.buffersBody, false);
  const h = u.sign('PUT', prepared(u, '/b/k'), [], ORIGIN, Buffer.from('x'));
  assert.equal(get(h, 'x-amz-content-sha256')[0], 'UNSIGNED-PAYLOAD');
  assert.ok(verifies('PUT', '/b/k', h, Buffer.from('anything'), { payload: 'unsigned' }));
  const s = signer();
  assert.equal(s.buffersBody, true);
  assert.equal(get(s.sign('PUT', prepared(s, '/b/k'), [], ORIGIN, Readable.from([])), 'x-amz-content-sha256')[0], 'UNSIGNED-PAYLOAD');
  assert.equal(get(s.sign('PUT', prepared(s, '/b/k'), [], ORIGIN, Buffer.alloc(0)), 'x-amz-content-sha256')[0], EMPTY);
});

test('host: the endpoint authority (port kept unless default), the config host, or the dns name', () => {
  const s = signer();
  assert.equal(get(s.sign('GET', prepared(s, '/'), [], 'http://127.0.0.1:9000', null), 'host')[0], '127.0.0.1:9000');
  assert.equal(get(s.sign('GET', prepared(s, '/'), [], 'http://[::1]:9000', null), 'host')[0], '[::1]:9000');
  const o = signer({ host: 'api.example.com' });
  assert.equal(get(o.sign('GET', prepared(o, '/'), ['Host', 'x'], 'http://127.0.0.1:9000', null), 'host')[0], 'api.example.com');
  const d = signer({}, NOW, 'search.eu-west-1.es.amazonaws.com');
  assert.equal(get(d.sign('GET', prepared(d, '/'), [], 'https://10.0.0.7:443', null), 'host')[0], 'search.eu-west-1.es.amazonaws.com');
});

test('paths: double encoding by default, S3 single encoding; both match the SDK and the verifier', async () => {
  const cases: { target: string; s3: boolean; service: string }[] = [
    { target: '/docs/a%20b/%E2%9C%93/c%2Bd/x:y@z!/~t-1_', s3: false, service: 'execute-api' },
    { target: '/bucket/my%20key/%E2%9C%93.txt', s3: true, service: 's3' },
  ];
  for (const c of cases) {
    const s = signer({ s3_style_paths: c.s3, service: c.service, payload: 'unsigned' });
    const h = s.sign('GET', prepared(s, c.target), [], ORIGIN, null);
    const sdk = await sdkAuthorization({ method: 'GET', url: c.target, rawHeaders: h, body: Buffer.alloc(0) }, { credentials: { accessKeyId: 'AKIDGATEWAY', secretAccessKey: SECRET }, region: 'eu-west-1', service: c.service, date: NOW, s3: c.s3 });
    assert.equal(get(h, 'authorization')[0], sdk, c.target);
    assert.ok(verifies('GET', c.target, h, Buffer.alloc(0), { s3_style_paths: c.s3, service: c.service }), c.target);
  }
});

test('a malformed query escape cannot be signed: 400 request.bad_request', () => {
  const p = signer().prepare('/x?a=%zz');
  assert.ok(isReply(p));
  assert.equal(p.status, 400);
  assert.equal(p.code, 'request.bad_request');
});

test('the signing key follows the date: a signature made after midnight names the new day and verifies', () => {
  let now = Date.UTC(2026, 0, 15, 23, 59, 59);
  const s = new AwsSigner(CFG, { now: () => now });
  const p = prepared(s, '/');
  const a = s.sign('GET', p, [], ORIGIN, null);
  now += 2000;
  const b = s.sign('GET', p, [], ORIGIN, null);
  assert.match(get(a, 'authorization')[0]!, /\/20260115\//);
  assert.match(get(b, 'authorization')[0]!, /\/20260116\//);
  assert.ok(verifies('GET', '/', a, Buffer.alloc(0), {}, Date.UTC(2026, 0, 15, 23, 59, 59)));
  assert.ok(verifies('GET', '/', b, Buffer.alloc(0), {}, now));
});

test('the signer never shows its credentials (JSON, inspect)', () => {
  const s = signer({ session_token: 'tok-secret-value' });
  const shown = JSON.stringify(s) + inspect(s, { depth: 5, showHidden: true });
  assert.ok(!shown.includes(SECRET) && !shown.includes('tok-secret-value'), shown);
});
