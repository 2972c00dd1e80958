// The sigv4 filter on a RequestContext without sockets: outcome, attributes set, counters bumped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import sigv4, { stripPresignParams, type Sigv4Filter } from './index.js';
import type { Sigv4Config } from './config.js';
import { splitTarget } from './canonical.js';
import { makeCtx } from '../../../test/helpers/make-ctx.js';
import { normalizePath } from '../../routing/normalize-path.js';
import { IDENTITY, makeIdentity } from '../common/identity.js';
import type { Reply } from '../../pipeline/filter.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { CompiledRoute } from '../../config/snapshot.js';
import type { ReplayCache } from '../../store/replay.js';

const NOW = Date.UTC(2026, 4, 20, 10, 0, 0);
const clock = { now: () => NOW };
const log = pino({ level: 'silent' });

const CONFIG: Sigv4Config = {
  region: 'us-east-1',
  service: 'execute-api',
  access_keys: [
    { id: 'AKIDBOB', secret: 'bob-secret', subject: 'bob', roles: ['admin'], usage_plan: 'free' },
    { id: 'AKIDANON', secret: 'anon-secret' },
  ],
};

function make(cfg: Partial<Sigv4Config> = {}, replay?: ReplayCache): Sigv4Filter {
  return sigv4.create({ ...CONFIG, ...cfg }, { clock, log, ...(replay ? { replay } : {}) }) as Sigv4Filter;
}

interface Signed {
  method: string;
  target: string;
  headers: Record<string, string>;
}

async function sign(o: { method?: string; target?: string; body?: string; id?: string; secret?: string; headers?: Record<string, string>; presign?: boolean }): Promise<Signed> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: o.id ?? 'AKIDBOB', secretAccessKey: o.secret ?? 'bob-secret' },
    region: 'us-east-1',
    service: 'execute-api',
    sha256: Sha256,
  });
  const { path, query } = splitTarget(o.target ?? '/');
  const q: Record<string, string> = {};
  for (const part of query ? query.split('&') : []) {
    const [k, v = ''] = part.split('=');
    q[decodeURIComponent(k!)] = decodeURIComponent(v);
  }
  const req = new HttpRequest({ method: o.method ?? 'GET', hostname: 'api.test', path, query: q, headers: { host: 'api.test', ...(o.headers ?? {}) }, body: o.body });
  if (o.presign) {
    const s = await signer.presign(req, { signingDate: new Date(NOW), expiresIn: 60 });
    const qs = Object.entries(s.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v as string)}`);
    return { method: s.method, target: `${path}?${qs.join('&')}`, headers: s.headers as Record<string, string> };
  }
  const s = await signer.sign(req, { signingDate: new Date(NOW) });
  return { method: s.method, target: o.target ?? '/', headers: s.headers as Record<string, string> };
}

/** A context as the pipeline builds it: normalized path for routing, raw target and headers kept. */
function ctxFor(s: Signed, body?: string, route?: Partial<CompiledRoute>): RequestContext {
  const { path, query } = splitTarget(s.target);
  const n = normalizePath(path, 16384);
  assert.ok(n.ok);
  const headers = body === undefined ? s.headers : { ...s.headers, 'content-length': String(Buffer.byteLength(body)) };
  const ctx = makeCtx({ method: s.method, path: n.path, query, headers, host: 'api.test' });
  ctx.req.url = s.target;
  ctx.req.rawHeaders = Object.entries(headers).flat();
  if (route) ctx.route = route as CompiledRoute;
  if (body !== undefined) {
    ctx.req.push(Buffer.from(body));
    ctx.req.push(null);
  }
  return ctx;
}

test('config is checked at load: duplicate key ids, skew and presign bounds', () => {
  assert.throws(() => make({ access_keys: [CONFIG.access_keys[0]!, CONFIG.access_keys[0]!] }), /duplicate access key id "AKIDBOB"/);
  assert.throws(() => make({ max_skew: '2h' }), /max_skew/);
  assert.throws(() => make({ max_skew: 0 }), /max_skew/);
  assert.throws(() => make({ presigned: { max_expires: '169h' } }), /max_expires/);
  make({ presigned: { max_expires: '168h' } });
});

test('no SigV4 credential: continue, nothing set, nothing counted', () => {
  const f = make();
  const ctx = makeCtx({ headers: { authorization: 'Bearer abc' } });
  ctx.req.rawHeaders = ['Authorization', 'Bearer abc'];
  assert.equal(f.onRequest!(ctx), undefined);
  assert.equal(ctx.get(IDENTITY), undefined);
  assert.deepEqual({ ...f.counters, rejected: { ...f.counters.rejected } }, { accepted: 0, rejected: {}, signatureChecks: 0, bodiesBuffered: 0, bytesBuffered: 0, previousCredential: 0 });
  assert.equal(f.challenge, 'AWS4-HMAC-SHA256');
});

test('a signed GET: synchronous accept, identity set, Authorization kept from the upstream', async () => {
  const f = make();
  const ctx = ctxFor(await sign({ target: '/items/1?a=1' }));
  const r = f.onRequest!(ctx);
  assert.equal(r, undefined, 'no body: no promise');
  assert.deepEqual(ctx.get(IDENTITY), makeIdentity({ kind: 'sigv4', subject: 'bob', roles: ['admin'], keyId: 'AKIDBOB', usagePlan: 'free', claims: { region: 'us-east-1', service: 'execute-api' } }));
  assert.deepEqual(ctx.upstreamRemove, ['authorization', 'x-amz-security-token']);
  assert.equal(ctx.upstreamQuery, undefined);
  assert.equal(f.counters.accepted, 1);
  assert.equal(f.counters.signatureChecks, 1);
  const anon = ctxFor(await sign({ id: 'AKIDANON', secret: 'anon-secret' }));
  assert.equal(f.onRequest!(anon), undefined);
  assert.equal(anon.get(IDENTITY)!.subject, 'AKIDANON', 'subject defaults to the key id');
});

test('a refusal is a 403 with the AWS error type; counted by reason; a cheap refusal runs no HMAC', async () => {
  const f = make();
  const s = await sign({ id: 'AKIDNOPE' });
  const r = f.onRequest!(ctxFor(s)) as Reply;
  assert.equal(r.status, 403);
  assert.equal(r.code, 'authn.sigv4.unknown_access_key');
  assert.deepEqual(r.headers, { 'x-amzn-ErrorType': 'UnrecognizedClientException' });
  assert.equal(f.counters.rejected['authn.sigv4.unknown_access_key'], 1);
  assert.equal(f.counters.signatureChecks, 0);
  const t = await sign({});
  const bad = f.onRequest!(ctxFor({ ...t, headers: { ...t.headers, host: 'evil.test' } })) as Reply;
  assert.equal(bad.code, 'authn.sigv4.signature_mismatch');
  assert.equal(bad.headers!['x-amzn-ErrorType'], 'InvalidSignatureException');
  assert.equal(f.counters.signatureChecks, 1);
});

test('path agreement is checked against ctx.path before any crypto', async () => {
  const f = make();
  const s = await sign({ target: '/a/%2E%2E/b' });
  const ctx = ctxFor(s);
  assert.equal(ctx.path, '/b');
  const r = f.onRequest!(ctx) as Reply;
  assert.equal(r.status, 400);
  assert.equal(r.code, 'authn.sigv4.path_mismatch');
  assert.equal(f.counters.signatureChecks, 0);
});

test('a body is buffered into ctx.body and checked; a wrong byte refuses', async () => {
  const f = make();
  const s = await sign({ method: 'POST', target: '/p', body: '{"n":1}' });
  const ctx = ctxFor(s, '{"n":1}');
  const r = f.onRequest!(ctx);
  assert.ok(r instanceof Promise);
  assert.equal(await r, undefined);
  assert.equal(ctx.body!.toString(), '{"n":1}');
  assert.equal(ctx.get(IDENTITY)!.subject, 'bob');
  assert.equal(f.counters.bodiesBuffered, 1);
  assert.equal(f.counters.bytesBuffered, 7);
  const bad = ctxFor(s, '{"n":2}');
  const rb = (await f.onRequest!(bad)) as Reply;
  assert.equal(rb.code, 'authn.sigv4.payload_hash_mismatch');
  assert.equal(bad.get(IDENTITY), undefined);
});

test("a body over the route's limit ends the read with a 413 and close", async () => {
  const f = make();
  const s = await sign({ method: 'POST', target: '/p', body: 'too long' });
  const r = (await f.onRequest!(ctxFor(s, 'too long', { maxBodyBytes: 4 }))) as Reply;
  assert.equal(r.status, 413);
  assert.equal(r.code, 'request.body_too_large');
  assert.equal(r.close, true);
});

test('presigned: identity set and the X-Amz-* parameters removed from the forwarded query', async () => {
  const f = make();
  const ctx = ctxFor(await sign({ target: '/dl?file=a%20b&v=2', presign: true }));
  assert.equal(f.onRequest!(ctx), undefined);
  assert.equal(ctx.get(IDENTITY)!.keyId, 'AKIDBOB');
  assert.equal(ctx.upstreamQuery, 'file=a%20b&v=2');
  assert.deepEqual(ctx.upstreamRemove, ['x-amz-security-token']);
  assert.equal(stripPresignParams('X-Amz-Date=1&a=1&&X%2DAmz-Signature=x&b'), 'a=1&b');
});

test('forward_credentials: nothing removed', async () => {
  const f = make({ forward_credentials: true });
  const ctx = ctxFor(await sign({}));
  assert.equal(f.onRequest!(ctx), undefined);
  assert.equal(ctx.upstreamRemove, undefined);
});

test('replay protection with an asynchronous store (the Redis shape): second use refused', async () => {
  const seen = new Map<string, number>();
  const store: ReplayCache = {
    seen: async (k, ttl) => {
      const had = seen.has(k);
      seen.set(k, ttl);
      return had;
    },
  };
  const f = make({ replay_protection: true }, store);
  const s = await sign({ target: '/x' });
  assert.equal(await f.onRequest!(ctxFor(s)), undefined);
  const again = ctxFor(s);
  const r = (await f.onRequest!(again)) as Reply;
  assert.equal(r.code, 'authn.sigv4.replayed');
  assert.equal(again.get(IDENTITY), undefined);
  // Remembered for as long as the signature could be accepted: until x-amz-date + 5 min, plus 1 s.
  assert.deepEqual([...seen.values()], [301_000]);
});

test('an identity set by an earlier authenticator is not replaced, but a bad signature still refuses', async () => {
  const f = make();
  const first = makeIdentity({ kind: 'mtls', subject: 'spiffe://x' });
  const ok = ctxFor(await sign({}));
  ok.set(IDENTITY, first);
  assert.equal(f.onRequest!(ok), undefined);
  assert.equal(ok.get(IDENTITY), first);
  const s = await sign({});
  const bad = ctxFor({ ...s, headers: { ...s.headers, authorization: s.headers.authorization!.replace(/.$/, '0') } });
  bad.set(IDENTITY, first);
  const r = f.onRequest!(bad) as Reply;
  assert.ok(r.code === 'authn.sigv4.signature_mismatch' || r.code === 'authn.sigv4.malformed');
});
