// AWS's SigV4 test suite end to end: each signed request (.sreq) sent as raw bytes to a real
// gateway whose clock is fixed at the suite's date (2015-08-30T12:36:00Z), behind a recording
// upstream. The cases that are not legal HTTP/1.1 on the wire are refused by the parser before any
// filter runs; src/filters/sigv4/vectors.test.ts covers them at the canonicalisation level.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';
import { VECTOR_SECRET, VECTOR_TIME, VECTOR_TOKEN, readCase, vectorCases } from '../helpers/sigv4-vectors.js';

/** Not HTTP/1.1 on the wire: raw UTF-8 in the path, a raw space in the target, an obs-fold value. */
const NOT_ON_THE_WIRE = new Set(['get-utf8', 'get-space', 'get-header-value-multiline']);

let up: TestUpstream;
let gh: TestGateway;
before(async () => {
  up = await startUpstream();
  const base = { region: 'us-east-1', service: 'service' };
  gh = await startGateway({
    clock: { now: () => VECTOR_TIME },
    routes: [
      {
        // The two post-sts-token cases carry a session token: the key is a temporary credential there.
        name: 'sts', match: { headers: [{ name: 'x-amz-security-token', present: true }] }, cluster: 'up',
        filters: { authz: { allow: 'authenticated' }, sigv4: { ...base, access_keys: [{ id: 'AKIDEXAMPLE', secret: VECTOR_SECRET, session_tokens: [VECTOR_TOKEN] }] } },
      },
      { name: 'plain', cluster: 'up', filters: { authz: { allow: 'authenticated' }, sigv4: { ...base, access_keys: [{ id: 'AKIDEXAMPLE', secret: VECTOR_SECRET, subject: 'example' }] } } },
    ],
    clusters: [{ name: 'up', endpoints: [up.url] }],
  });
});
after(async () => {
  await gh.stop();
  await up.close();
});

/** The .sreq as HTTP/1.1 bytes: CRLF line ends, Content-Length for a body (not signed), close. */
function wire(sreq: string): Buffer {
  const split = sreq.indexOf('\n\n');
  const head = split === -1 ? sreq : sreq.slice(0, split);
  const body = split === -1 ? '' : sreq.slice(split + 2);
  const lines = head.split('\n');
  if (body !== '') lines.push(`Content-Length: ${Buffer.byteLength(body, 'latin1')}`);
  lines.push('Connection: close');
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body, 'latin1');
}

for (const rel of vectorCases()) {
  const name = rel.split('/').filter(Boolean).pop()!;
  test(`vector ${name} over a socket`, async () => {
    let sreq = readCase(rel, 'sreq');
    if (name === 'get-vanilla-utf8-query') {
      // Raw UTF-8 in the query is not legal on the wire; its percent-encoded form decodes to the
      // same octets, so the same signature must verify.
      sreq = sreq.replace('/?\u00e1\u0088\u00b4=bar', '/?%E1%88%B4=bar');
    }
    const before = up.requests.length;
    const res = await rawRequest(gh.port, wire(sreq));
    if (NOT_ON_THE_WIRE.has(name)) {
      assert.equal(res.status, 400, res.text);
      assert.equal(up.requests.length, before);
      return;
    }
    if (name === 'post-sts-header-after') {
      // The token was added after signing: Gatehouse requires a presented token to be signed.
      assert.equal(res.status, 403, res.text);
      assert.equal(JSON.parse(res.body).code, 'authn.sigv4.unsigned_header');
      assert.equal(res.headers['x-amzn-errortype'], 'IncompleteSignatureException');
      assert.equal(up.requests.length, before);
      return;
    }
    assert.equal(res.status, 200, res.text);
    assert.equal(up.requests.length, before + 1);
    const got = up.requests[up.requests.length - 1]!;
    assert.equal(got.headers['x-gatehouse-auth-method'], 'sigv4');
    assert.equal(got.headers.authorization, undefined);
    const body = sreq.includes('\n\n') ? sreq.slice(sreq.indexOf('\n\n') + 2) : '';
    assert.equal(got.body.toString('latin1'), body);
  });
}

test('one second past the window, a suite request is refused', async () => {
  const g = await startGateway({
    clock: { now: () => VECTOR_TIME + 5 * 60_000 + 1000 },
    routes: [{ name: 'plain', cluster: 'up', filters: { authz: { allow: 'authenticated' }, sigv4: { region: 'us-east-1', service: 'service', access_keys: [{ id: 'AKIDEXAMPLE', secret: VECTOR_SECRET }] } } }],
    clusters: [{ name: 'up', endpoints: [up.url] }],
  });
  try {
    const before = up.requests.length;
    const res = await rawRequest(g.port, wire(readCase('get-vanilla/', 'sreq')));
    assert.equal(res.status, 403);
    assert.equal(JSON.parse(res.body).code, 'authn.sigv4.request_expired');
    assert.equal(up.requests.length, before);
  } finally {
    await g.stop();
  }
});
