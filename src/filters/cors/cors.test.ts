import { test } from 'node:test';
import assert from 'node:assert/strict';
import cors from './index.js';
import { compileOrigins } from './origins.js';
import { makeCtx } from '../../../test/helpers/make-ctx.js';
import pino from 'pino';
import { systemClock, type Reply } from '../../pipeline/filter.js';

const deps = { clock: systemClock, log: pino({ level: 'silent' }) };

test('origin patterns: exact, wildcard subdomains, never the bare or look-alike domain', () => {
  const m = compileOrigins(['https://app.example.com', 'https://*.example.org']);
  assert.equal(m.test('https://app.example.com'), true);
  assert.equal(m.test('HTTPS://APP.EXAMPLE.COM'), true);
  assert.equal(m.test('http://app.example.com'), false);
  assert.equal(m.test('https://a.example.org'), true);
  assert.equal(m.test('https://a.b.example.org'), true);
  assert.equal(m.test('https://example.org'), false);
  assert.equal(m.test('https://evil-example.org'), false);
  assert.equal(m.test('https://x.example.org.evil.com'), false);
  assert.equal(m.test('null'), false);
});

test('preflight allowed: 204 with the CORS fields, before any later filter', () => {
  const f = cors.create({ allow_origins: ['https://app.example.com'], allow_methods: ['PUT'], allow_headers: ['X-Custom'], max_age: 60, allow_credentials: true }, deps);
  const ctx = makeCtx({ method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-custom, content-type' } });
  const r = f.onRequest!(ctx) as Reply;
  assert.equal(r.status, 204);
  assert.equal(r.code, 'cors.preflight');
  assert.equal(r.empty, true);
  assert.equal(r.headers!['access-control-allow-origin'], 'https://app.example.com');
  assert.equal(r.headers!['access-control-allow-methods'], 'PUT');
  assert.equal(r.headers!['access-control-allow-headers'], 'x-custom');
  assert.equal(r.headers!['access-control-allow-credentials'], 'true');
  assert.equal(r.headers!['access-control-max-age'], '60');
});

test('preflight refused with a reason for origin, method and header', () => {
  const f = cors.create({ allow_origins: ['https://app.example.com'], allow_methods: ['PUT'] }, deps);
  const pre = (h: Record<string, string>) => f.onRequest!(makeCtx({ method: 'OPTIONS', headers: h })) as Reply;
  assert.equal(pre({ origin: 'https://evil.com', 'access-control-request-method': 'PUT' }).code, 'cors.origin_not_allowed');
  assert.equal(pre({ origin: 'https://app.example.com', 'access-control-request-method': 'DELETE' }).code, 'cors.method_not_allowed');
  assert.equal(pre({ origin: 'https://app.example.com', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-other' }).code, 'cors.header_not_allowed');
  assert.equal(pre({ origin: 'https://evil.com', 'access-control-request-method': 'PUT' }).status, 403);
});

test('actual request: allowed origin gets response fields; others and no-origin pass untouched', () => {
  const f = cors.create({ allow_origins: ['https://app.example.com'], expose_headers: ['X-Total'] }, deps);
  const ok = makeCtx({ headers: { origin: 'https://app.example.com' } });
  assert.equal(f.onRequest!(ok), undefined);
  assert.deepEqual(ok.responseHeaders, ['access-control-allow-origin', 'https://app.example.com', 'vary', 'Origin', 'access-control-expose-headers', 'X-Total']);
  const other = makeCtx({ headers: { origin: 'https://evil.com' } });
  assert.equal(f.onRequest!(other), undefined);
  assert.equal(other.responseHeaders, undefined);
  const none = makeCtx({});
  assert.equal(f.onRequest!(none), undefined);
  assert.equal(none.responseHeaders, undefined);
});

test('upstream Access-Control-* fields are dropped so the gateway config rules', () => {
  const f = cors.create({ allow_origins: ['*'] }, deps);
  const head = { status: 200, headers: ['Access-Control-Allow-Origin', '*', 'content-type', 'text/plain', 'access-control-allow-credentials', 'true'] };
  f.onResponse!(makeCtx({}), head);
  assert.deepEqual(head.headers, ['content-type', 'text/plain']);
});

test('config errors: "*" with credentials is refused at load', () => {
  assert.throws(() => cors.create({ allow_origins: ['*'], allow_credentials: true }, deps), /cannot be combined/);
});
