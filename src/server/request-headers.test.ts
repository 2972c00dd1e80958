// The response-header filter's fast path skips names that cannot be special: these cases pin that
// nothing hop-by-hop or gateway-owned slips through it, whatever the spelling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterResponseHeaders } from './request-headers.js';

const raw = (...pairs: string[]) => pairs.map((s) => Buffer.from(s, 'latin1'));
const run = (r: Buffer[], remove?: ReadonlySet<string>) => {
  const out: string[] = [];
  filterResponseHeaders(r, out, remove);
  return out;
};

test('ordinary fields pass unchanged, in order and in their own case', () => {
  assert.deepEqual(
    run(raw('Server', 'nginx', 'Content-Type', 'text/plain', 'Content-Length', '5', 'X-Trace', 'a', 'ETag', '"x"', 'set-cookie', 'a=1', 'Set-Cookie', 'b=2')),
    ['Server', 'nginx', 'Content-Type', 'text/plain', 'Content-Length', '5', 'X-Trace', 'a', 'ETag', '"x"', 'set-cookie', 'a=1', 'Set-Cookie', 'b=2'],
  );
});

test('hop-by-hop fields and the upstream x-request-id are dropped in any case', () => {
  const names = ['Connection', 'KEEP-ALIVE', 'Proxy-Connection', 'TE', 'Trailer', 'Transfer-Encoding', 'Upgrade', 'Proxy-Authenticate', 'Proxy-Authorization', 'HTTP2-Settings', 'X-Request-Id', 'x-REQUEST-id'];
  const r = raw(...names.flatMap((n) => [n, 'v']), 'Date', 'now');
  assert.deepEqual(run(r), ['Date', 'now']);
});

test('fields named by Connection are dropped; keep-alive and close name nothing', () => {
  assert.deepEqual(run(raw('Connection', 'keep-alive', 'X-Debug', '1', 'Date', 'd')), ['X-Debug', '1', 'Date', 'd']);
  assert.deepEqual(run(raw('Connection', 'close', 'X-Debug', '1')), ['X-Debug', '1']);
  assert.deepEqual(run(raw('Connection', 'Keep-Alive, X-Debug', 'X-Debug', '1', 'x-other', '2')), ['x-other', '2']);
  assert.deepEqual(run(raw('X-Debug', '1', 'connection', ' x-debug ,close')), []);
});

test('a route remove list applies by lower-case name, on top of the hop-by-hop rules', () => {
  assert.deepEqual(run(raw('Server', 'nginx', 'X-Powered-By', 'php', 'Date', 'd', 'Upgrade', 'h2c'), new Set(['server', 'x-powered-by'])), ['Date', 'd']);
});

test('request scan: ordinary fields are forwarded as sent; special ones are caught in any case or spelling', async () => {
  const { scanRequestHeaders } = await import('./request-headers.js');
  const ordinary = ['User-Agent', 'ua', 'accept', '*/*', 'Cookie', 'a=1', 'Content-Type', 'application/json', 'Authorization', 'Bearer t', 'Origin', 'https://a'];
  const special = [
    'HOST', 'api.example.com', 'Forwarded', 'for=1.2.3.4', 'True-Client-IP', '1.2.3.4', 'CF-Connecting-IP', '1.2.3.4', 'Remote-User', 'root',
    'Expect', '100-continue', 'Proxy-Authorization', 'Basic x', 'TE', 'trailers', 'Keep-Alive', 'timeout=5', 'X-Gatehouse-Subject', 'admin',
    'x_gatehouse_roles', 'admin', 'X-Forwarded-For', '9.9.9.9', 'X-Request-Id', 'abc', 'x-http-method-override', 'DELETE',
  ];
  const s = scanRequestHeaders([...ordinary, ...special], 100, false);
  assert.equal(s.error, undefined);
  assert.equal(s.host, 'api.example.com');
  assert.deepEqual(s.upstream, ordinary, 'only the ordinary fields go upstream, untouched');
  assert.equal(s.xff, undefined, 'an untrusted client cannot set X-Forwarded-For');
  const cl = scanRequestHeaders(['Host', 'a', 'CONTENT-LENGTH', '5'], 100, false);
  assert.equal(cl.contentLength, 5);
  assert.deepEqual(cl.upstream, ['content-length', '5']);
  const misspelled = scanRequestHeaders(['Host', 'a', 'Content_Length', '5'], 100, false);
  assert.equal(misspelled.error?.code, 'request.bad_framing');
  const nominated = scanRequestHeaders(['Host', 'a', 'Connection', 'X-Secret, Accept', 'Accept', '*/*', 'X-Secret', '1', 'Accept-Language', 'en'], 100, false);
  assert.deepEqual(nominated.upstream, ['Accept-Language', 'en'], 'fields named by Connection are hop-by-hop, even ordinary ones');
});

test('the upstream Content-Length is returned when it is one plain decimal, else -1', () => {
  const len = (...pairs: string[]) => filterResponseHeaders(raw(...pairs), [], undefined);
  assert.equal(len('Content-Length', '1024', 'Date', 'd'), 1024);
  assert.equal(len('content-length', '0'), 0);
  assert.equal(len('CONTENT-LENGTH', '7'), 7);
  assert.equal(len('Content-Type', 'text/plain'), -1, 'absent');
  assert.equal(len('Content-Length', '5', 'Content-Length', '5'), -1, 'repeated');
  assert.equal(len('Content-Length', ' 5'), -1, 'not plain digits');
  assert.equal(len('Content-Length', '1e3'), -1);
  assert.equal(len('Content-Length', ''), -1);
  assert.equal(len('Content-Length', '1234567890123456'), -1, 'too long');
  // A name of the same length and first letter is not mistaken for it.
  assert.equal(len('Content-Lengtx', '5'), -1);
  assert.equal(filterResponseHeaders(raw('Content-Length', '3'), [], new Set(['content-length'])), 3, 'also when the route removes it');
});
