// Property tests for SigV4 canonicalisation and credential parsing on random input. Deterministic
// (seeded) and bounded so it runs at unit speed; raise FUZZ_ITERATIONS locally for a longer run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { canonicalHeaders, canonicalQuery, canonicalUri, parseQuery, pathsAgree, pctDecode, uriEncode } from '../../src/filters/sigv4/canonical.js';
import { detect, prepare, verifyRequest, type KeyRecord, type VerifierPolicy } from '../../src/filters/sigv4/verify.js';
import { normalizePath } from '../../src/routing/normalize-path.js';
import { pick, rng } from '../helpers/prng.js';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 5_000);

const PATH_TOKENS = ['/', '/', '//', '.', '..', '/./', '/../', 'a', 'B', '0', '-', '_', '~', '%20', '%2e', '%2E', '%41', '%7e', '%c3%a9', '%E1%88%B4', '%25', ':', '@', '!', '*', "'", '(', '+', '=', ',', '$'];
const HOSTILE = ['%', '%zz', '%2', '\u00e9', ' ', '\t', '\u0000', ';', '#', '?', '&'];
function randomPath(next: () => number, hostile: boolean): string {
  let s = '/';
  const n = Math.floor(next() * 12);
  for (let i = 0; i < n; i++) s += hostile && next() < 0.2 ? pick(next, HOSTILE) : pick(next, PATH_TOKENS);
  return s;
}
function randomBytes(next: () => number, max: number): string {
  let s = '';
  const n = Math.floor(next() * max);
  for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(next() * 256));
  return s;
}

const KEY: KeyRecord = { id: 'AKID', secret: 's3cr3t', enabled: true, sessionTokens: [], signingKeys: new Map() };
const POLICY: VerifierPolicy = {
  region: 'us-east-1', service: 'svc', maxSkewMs: 300_000, presigned: true, maxExpiresS: 3600, unsignedPayload: true, s3: false, requireSigned: ['x-a'], keys: new Map([['AKID', KEY]]),
};
const NOW = Date.UTC(2026, 0, 1);

describe('sigv4 canonicalisation (fuzz)', () => {
  it('uriEncode emits only unreserved octets, %XY and (for paths) slashes, and pctDecode inverts it', () => {
    const next = rng(1);
    for (let i = 0; i < ITERATIONS; i++) {
      const s = randomBytes(next, 24);
      const e = uriEncode(s, false);
      assert.match(e, /^(?:[A-Za-z0-9\-._~]|%[0-9A-F]{2})*$/, JSON.stringify(s));
      assert.equal(pctDecode(e), s);
      assert.equal(uriEncode(s, true).replace(/\//g, '%2F'), e);
    }
  });

  it('nothing throws on hostile paths, queries, headers and Authorization values', () => {
    const next = rng(2);
    const AUTH_TOKENS = ['AWS4-HMAC-SHA256', ' ', ',', ', ', '=', 'Credential', 'SignedHeaders', 'Signature', 'AKID', '/', '20260101', 'us-east-1', 'svc', 'aws4_request', 'host', ';', 'x-amz-date', 'a'.repeat(64), '0'.repeat(64)];
    for (let i = 0; i < ITERATIONS; i++) {
      const rawPath = randomPath(next, true);
      canonicalUri(rawPath, next() < 0.5);
      const rawQuery = randomBytes(next, 16).replace(/#/g, '');
      const params = parseQuery(rawQuery);
      if (params) canonicalQuery(params, 'X-Amz-Signature');
      let auth = '';
      for (let j = Math.floor(next() * 14); j > 0; j--) auth += pick(next, AUTH_TOKENS);
      const rawHeaders = ['Host', 'h', 'Authorization', auth, 'X-Amz-Date', pick(next, ['20260101T000000Z', randomBytes(next, 18)]), 'X-A', randomBytes(next, 6)];
      canonicalHeaders(rawHeaders, ['host', 'x-a']);
      const req = { method: 'GET', rawPath, rawQuery: next() < 0.3 ? `X-Amz-Signature=${randomBytes(next, 4)}&${rawQuery}` : rawQuery, rawHeaders };
      const d = detect(req);
      if (d.ok && d.form !== 'none') {
        const p = prepare(req, d, POLICY, NOW);
        assert.ok(p.ok === false || p.ok === true);
      }
    }
  });

  it('the canonical query does not depend on parameter order', () => {
    const next = rng(3);
    const NAMES = ['a', 'A', 'b', '%41', 'x y', '%7e', '_', 'a%2Fb'];
    for (let i = 0; i < ITERATIONS; i++) {
      const pieces: string[] = [];
      for (let j = Math.floor(next() * 6); j > 0; j--) pieces.push(`${pick(next, NAMES)}=${pick(next, ['', '1', '%20', 'v', 'V', '%c3%a9'])}`);
      const shuffled = [...pieces].sort(() => next() - 0.5);
      assert.equal(canonicalQuery(parseQuery(pieces.join('&'))!), canonicalQuery(parseQuery(shuffled.join('&'))!));
    }
  });

  it("a client that sends the gateway's own normalized path is never refused for path disagreement", () => {
    const next = rng(4);
    for (let i = 0; i < ITERATIONS; i++) {
      const n = normalizePath(randomPath(next, false), 4096);
      if (!n.ok) continue;
      assert.equal(pathsAgree(n.path, n.path, false), true, n.path);
      assert.equal(pathsAgree(n.path, n.path, true), true, n.path);
    }
  });

  it('interop: random paths and queries signed by the AWS SDK signer verify (and fail with one byte changed)', async () => {
    const next = rng(5);
    const signer = new SignatureV4({ credentials: { accessKeyId: 'AKID', secretAccessKey: 's3cr3t' }, region: 'us-east-1', service: 'svc', sha256: Sha256 });
    const VALUES = ['', 'v', 'a b', 'a+b', 'é', '/', '=', '&', '~', '%'];
    for (let i = 0; i < Math.min(ITERATIONS, 400); i++) {
      const path = randomPath(next, false);
      const query: Record<string, string[]> = {};
      for (let j = Math.floor(next() * 4); j > 0; j--) (query[pick(next, ['a', 'B', 'c d', 'é'])] ??= []).push(pick(next, VALUES));
      const s = await signer.sign(new HttpRequest({ method: 'GET', hostname: 'h', path, query, headers: { host: 'h' } }), { signingDate: new Date(NOW) });
      const rawQuery = Object.entries(query).flatMap(([k, vs]) => vs.map((v) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join('&');
      const rawHeaders = Object.entries(s.headers).flat();
      const r = verifyRequest({ method: 'GET', rawPath: path, rawQuery, rawHeaders }, Buffer.alloc(0), POLICY, NOW);
      assert.ok(r.ok && r.form !== 'none', JSON.stringify({ path, query, r }));
      const tampered = verifyRequest({ method: 'GET', rawPath: path + 'x', rawQuery, rawHeaders }, Buffer.alloc(0), POLICY, NOW);
      assert.equal(tampered.ok, false);
    }
  });
});
