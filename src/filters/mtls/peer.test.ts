import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { Socket } from 'node:net';
import { describeCert, parseSubjectAltName, peerOf } from './peer.js';
import { issue, makeCa } from '../../../test/helpers/certs.js';

test('SAN text: types kept apart, JSON-quoted values decoded, a quoted comma cannot smuggle a second entry', () => {
  assert.deepEqual(parseSubjectAltName('DNS:a.example.com, URI:spiffe://example.org/ns/a/sa/b, email:x@y.z, IP Address:127.0.0.1'), [
    { type: 'DNS', value: 'a.example.com' },
    { type: 'URI', value: 'spiffe://example.org/ns/a/sa/b' },
    { type: 'email', value: 'x@y.z' },
    { type: 'IP', value: '127.0.0.1' },
  ]);
  assert.deepEqual(parseSubjectAltName('DNS:"evil\\u002c URI:spiffe://example.org/admin", DNS:b'), [
    { type: 'DNS', value: 'evil, URI:spiffe://example.org/admin' },
    { type: 'DNS', value: 'b' },
  ]);
  assert.deepEqual(parseSubjectAltName('othername:<unsupported>, DNS:c'), [{ type: 'DNS', value: 'c' }]);
  assert.deepEqual(parseSubjectAltName(''), []);
  assert.deepEqual(parseSubjectAltName('DNS:"unterminated, URI:x'), []);
});

test('a real certificate: SANs by type, CN, one-line DN, sha256 fingerprint of the DER, validity', () => {
  const ca = makeCa('Unit CA');
  const now = Date.now();
  const c = issue(ca, {
    subject: { C: 'US', O: 'Acme, Inc', CN: 'client one' },
    sans: { uri: ['spiffe://example.org/ns/a/sa/b'], dns: ['a.example.com', 'weird, name'], email: ['x@y.z'], ip: ['127.0.0.1'] },
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_000),
  });
  const p = describeCert(new X509Certificate(c.cert));
  assert.deepEqual(p.uris, ['spiffe://example.org/ns/a/sa/b']);
  assert.deepEqual(p.dns, ['a.example.com', 'weird, name']);
  assert.deepEqual(p.emails, ['x@y.z']);
  assert.deepEqual([...p.sans].sort(), ['127.0.0.1', 'a.example.com', 'spiffe://example.org/ns/a/sa/b', 'weird, name', 'x@y.z']);
  assert.equal(p.cn, 'client one');
  assert.equal(p.subject, 'C=US, O=Acme\\, Inc, CN=client one');
  assert.equal(p.issuer, 'O=Gatehouse Tests, CN=Unit CA');
  assert.equal(p.fingerprint, c.fingerprint);
  assert.equal(p.notBefore, Math.floor((now - 60_000) / 1000) * 1000);
  assert.equal(p.notAfter, Math.floor((now + 3_600_000) / 1000) * 1000);
});

test('a plain TCP socket has no peer certificate; the answer is cached per socket', () => {
  const s = new Socket();
  const a = peerOf(s);
  assert.equal(a.cert, undefined);
  assert.equal(a.authorized, false);
  assert.equal(peerOf(s), a);
});

test('SAN parser never throws on random text', () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const pieces = ['DNS:', 'URI:', 'email:', 'IP Address:', ', ', '"', '\\', 'a', 'b', ':', '\\u002c', 'x'];
  for (let i = 0; i < 5000; i++) {
    let s = '';
    for (let j = rnd(12); j > 0; j--) s += pieces[rnd(pieces.length)];
    const out = parseSubjectAltName(s);
    for (const e of out) assert.ok(typeof e.value === 'string');
  }
});
