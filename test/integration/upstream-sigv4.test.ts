// Upstream SigV4 signing (cluster aws_sigv4) end to end: real gateways, recording upstreams, the
// AWS SDK's signer recomputing every received signature independently, the gateway's own sigv4
// verifier as a second gateway, retries, body limits, redaction and credential rotation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import http from 'node:http';
import { request } from 'undici';
import { startUpstream, type Recorded, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { sdkAuthorization, type AwsCredentials } from '../helpers/aws-sign.js';
import { createGateway } from '../../src/gateway.js';
import { loadConfigFile } from '../../src/config/index.js';
import type { ClusterConfig } from '../../src/config/schema.js';
import { waitFor } from '../helpers/wait.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
let now = NOW;
const clock = { now: () => now };

const ID = 'AKIDGATEWAY0001';
const SECRET = 'gw-secret-Kx9/3vQ+zzTopSecretValue0123456789';
const TOKEN = 'FQoGZXIvYXdzSessionTokenValue//////////wEaDQ==';
const CREDS: AwsCredentials = { accessKeyId: ID, secretAccessKey: SECRET };
const signing = (extra: Partial<NonNullable<ClusterConfig['aws_sigv4']>> = {}) => ({ region: 'eu-west-1', service: 'execute-api', access_key_id: ID, secret_access_key: SECRET, ...extra });
const EMPTY_SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
/** The signing time a received request names (its x-amz-date), in ms. */
const signedAt = (r: Recorded) => {
  const d = String(r.headers['x-amz-date']);
  return Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8), +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15));
};

let up: TestUpstream;
let gh: TestGateway;
const auditDir = mkdtempSync(join(tmpdir(), 'gh-awsig-audit-'));

before(async () => {
  up = await startUpstream();
  gh = await startGateway({
    clock,
    routes: [
      { name: 'token', match: { path: { prefix: '/tok' } }, cluster: 'aws-token' },
      { name: 's3', match: { path: { prefix: '/s3' } }, cluster: 'aws-s3' },
      { name: 'small', match: { path: { prefix: '/small' } }, cluster: 'aws', max_body_bytes: 1024 },
      { name: 'rewrite', match: { path: { prefix: '/rw' } }, cluster: 'aws', rewrite: { strip_prefix: '/rw', prefix: '/prod' } },
      { name: 'all', match: { path: { prefix: '/' } }, cluster: 'aws' },
    ],
    clusters: [
      { name: 'aws', endpoints: [up.url], aws_sigv4: signing() },
      { name: 'aws-token', endpoints: [up.url], aws_sigv4: signing({ session_token: TOKEN }) },
      { name: 'aws-s3', endpoints: [up.url], aws_sigv4: signing({ service: 's3', payload: 'unsigned', s3_style_paths: true }) },
    ],
    // As the loader reports them for ${secret:...} references.
    secretPaths: ['clusters[0].aws_sigv4.access_key_id', 'clusters[0].aws_sigv4.secret_access_key', 'clusters[1].aws_sigv4.secret_access_key', 'clusters[1].aws_sigv4.session_token', 'clusters[2].aws_sigv4.secret_access_key'],
    top: { audit: { enabled: true, dir: auditDir, flush_interval: '50ms' } },
  });
});
after(async () => {
  await gh.stop();
  await up.close();
});

/** A request with a Transfer-Encoding: chunked body sent in `parts`, a few ms apart (node:http, so
 * the framing is certain). */
function sendChunked(url: string, parts: readonly Buffer[], headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    let i = 0;
    const next = () => {
      if (i === parts.length) return void req.end();
      req.write(parts[i++]);
      setTimeout(next, 5);
    };
    next();
  });
}

/** The one request the upstream received for this exact URL. */
function received(u: TestUpstream, url: string): Recorded {
  const hits = u.requests.filter((r) => r.url === url);
  assert.equal(hits.length, 1, `the upstream received ${url} once (got ${hits.length})`);
  return hits[0]!;
}

const all = (r: Recorded, name: string) => {
  const out: string[] = [];
  for (let i = 0; i < r.rawHeaders.length; i += 2) if (r.rawHeaders[i]!.toLowerCase() === name) out.push(r.rawHeaders[i + 1]!);
  return out;
};

/** The received request carries exactly the signature the AWS SDK computes for it. */
async function assertSigned(r: Recorded, o: { credentials?: AwsCredentials; service?: string; s3?: boolean; date?: number } = {}): Promise<string> {
  const auth = all(r, 'authorization');
  assert.equal(auth.length, 1, 'one Authorization');
  const expected = await sdkAuthorization(r, { credentials: o.credentials ?? CREDS, region: 'eu-west-1', service: o.service ?? 'execute-api', date: o.date ?? NOW, s3: o.s3 ?? false });
  assert.equal(auth[0], expected);
  return auth[0]!;
}

test('GET with a query: Host becomes the endpoint authority, x-forwarded-host keeps the client host, the SDK agrees', async () => {
  const url = '/items?b=2&a=1&a=0&empty=&sp=x%20y';
  const res = await request(`${gh.url}${url}`, { headers: { host: 'client.example', 'user-agent': 'ua/1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
  assert.equal(res.statusCode, 200);
  await res.body.text();
  const r = received(up, url);
  assert.equal(r.headers.host, `127.0.0.1:${up.port}`);
  assert.equal(r.headers['x-forwarded-host'], 'client.example');
  assert.equal(r.headers['x-amz-date'], '20260115T120000Z');
  assert.equal(r.headers['x-amz-content-sha256'], EMPTY_SHA);
  const auth = await assertSigned(r);
  assert.match(auth, /SignedHeaders=host;x-amz-content-sha256;x-amz-date,/, 'proxy-added and client fields (ua, via, x-forwarded-*, x-request-id, traceparent) are not signed');
});

test('POST with a JSON body (Content-Length): the body is hashed, signed and forwarded exactly', async () => {
  const body = JSON.stringify({ order: 'book', qty: 2, note: 'ünïcødé' });
  const res = await request(`${gh.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-amz-target': 'Orders.Create' }, body });
  assert.equal(res.statusCode, 200);
  await res.body.text();
  const r = received(up, '/orders');
  assert.equal(r.body.toString(), body);
  assert.equal(r.headers['x-amz-content-sha256'], sha(body));
  const auth = await assertSigned(r);
  assert.match(auth, /SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target,/);
});

test('a chunked body is buffered, then signed and forwarded with its length', async () => {
  const parts = [Buffer.from('first chunk;'), Buffer.from('second chunk;'), Buffer.alloc(3000, 'z')];
  const res = await sendChunked(`${gh.url}/upload`, parts, { 'content-type': 'application/octet-stream' });
  assert.equal(res.status, 200);
  const r = received(up, '/upload');
  const whole = Buffer.concat(parts);
  assert.ok(r.body.equals(whole));
  assert.equal(r.headers['transfer-encoding'], undefined);
  assert.equal(r.headers['content-length'], String(whole.length));
  assert.equal(r.headers['x-amz-content-sha256'], sha(whole));
  await assertSigned(r);
});

test('session token: sent as x-amz-security-token and signed', async () => {
  const res = await request(`${gh.url}/tok/me`);
  assert.equal(res.statusCode, 200);
  await res.body.text();
  const r = received(up, '/tok/me');
  assert.deepEqual(all(r, 'x-amz-security-token'), [TOKEN]);
  const auth = await assertSigned(r, { credentials: { ...CREDS, sessionToken: TOKEN } });
  assert.match(auth, /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/);
});

test('payload unsigned (S3 rules): UNSIGNED-PAYLOAD, single-encoded path, and the body streams', async () => {
  const url = '/s3/my%20bucket/%E2%9C%93%20report%2Bfinal.csv';
  const res = await request(`${gh.url}${url}`, { method: 'PUT', headers: { 'x-amz-meta-owner': 'ops' }, body: Readable.from([Buffer.from('a,b\n'), Buffer.from('1,2\n')]) });
  assert.equal(res.statusCode, 200);
  await res.body.text();
  const r = received(up, url);
  assert.equal(r.body.toString(), 'a,b\n1,2\n');
  assert.equal(r.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
  const auth = await assertSigned(r, { service: 's3', s3: true });
  assert.match(auth, /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-owner,/);

  // Streaming: the upstream has the signed request before the client sent the rest of the body
  // (with payload: signed this would wait for the whole body).
  const streaming = await startUpstream((req, res2) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => res2.writeHead(200, { 'content-length': String(String(n).length) }).end(String(n)));
  }, { streamBody: true });
  const g = await startGateway({ clock, routes: [{ name: 's3', match: { path: { prefix: '/' } }, cluster: 's3' }], clusters: [{ name: 's3', endpoints: [streaming.url], aws_sigv4: signing({ service: 's3', payload: 'unsigned' }) }] });
  try {
    const body = new PassThrough();
    const pending = request(`${g.url}/bucket/key`, { method: 'PUT', body });
    body.write('first part;');
    await waitFor(() => streaming.requests.length === 1, 5000, 'the upstream to receive the request head');
    const head = streaming.requests[0]!;
    assert.equal(head.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
    await assertSigned(head, { service: 's3' });
    body.end('second part');
    const done = await pending;
    assert.equal(done.statusCode, 200);
    assert.equal(await done.body.text(), String('first part;second part'.length));
  } finally {
    await g.stop();
    await streaming.close();
  }
});

test('paths with spaces, unicode and escapes, and rewritten paths: the signed path is the one on the wire', async () => {
  const url = '/docs/a%20b/%E2%9C%93/c%2Bd/x:y@z!/%7Et?q=a%20b&u=%E2%9C%93&plus=1+2';
  const res = await request(`${gh.url}${url}`);
  assert.equal(res.statusCode, 200);
  await res.body.text();
  // The gateway decodes escaped unreserved characters (%7E → ~) before routing and forwarding.
  await assertSigned(received(up, '/docs/a%20b/%E2%9C%93/c%2Bd/x:y@z!/~t?q=a%20b&u=%E2%9C%93&plus=1+2'));
  const rw = await request(`${gh.url}/rw/v%201/items?id=7`);
  assert.equal(rw.statusCode, 200);
  await rw.body.text();
  await assertSigned(received(up, '/prod/v%201/items?id=7'));
});

test('client-supplied Authorization, X-Amz-Date, X-Amz-Security-Token and X-Amz-Content-Sha256 are replaced, never forwarded', async () => {
  const res = await request(`${gh.url}/replace`, {
    headers: {
      authorization: 'AWS4-HMAC-SHA256 Credential=AKIDCLIENT/20200101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=00',
      'x-amz-date': '20200101T000000Z',
      'x-amz-security-token': 'client-session-token',
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    },
  });
  assert.equal(res.statusCode, 200);
  await res.body.text();
  const r = received(up, '/replace');
  for (const n of ['authorization', 'x-amz-date', 'x-amz-content-sha256']) assert.equal(all(r, n).length, 1, `one ${n}`);
  assert.deepEqual(all(r, 'x-amz-security-token'), [], 'the client token is dropped (this cluster has none)');
  assert.ok(!JSON.stringify(r.rawHeaders).includes('AKIDCLIENT') && !JSON.stringify(r.rawHeaders).includes('20200101T000000Z'));
  assert.equal(r.headers['x-amz-content-sha256'], EMPTY_SHA);
  await assertSigned(r);
});

test('a signed-payload body over max_body_bytes: 413 problem+json with the request id, nothing forwarded', async () => {
  const before = up.requests.length;
  const chunked = await sendChunked(`${gh.url}/small/up`, [Buffer.alloc(800, 'a'), Buffer.alloc(800, 'b')]).catch(() => undefined);
  // The gateway answers 413 and closes as soon as the limit is passed; the client may see the
  // answer or (while still writing) only the close.
  if (chunked !== undefined) {
    assert.equal(chunked.status, 413);
    assert.equal(chunked.headers['content-type'], 'application/problem+json');
    const body = JSON.parse(chunked.body) as { code: string; request_id: string };
    assert.equal(body.code, 'request.body_too_large');
    assert.equal(body.request_id, chunked.headers['x-request-id']);
  }
  const lines = await gh.accessLog((l) => l.some((x) => x.path === '/small/up' && x.status === 413));
  assert.ok(lines.some((x) => x.path === '/small/up' && x.status === 413 && x.code === 'request.body_too_large'), 'the chunked body was refused with 413');
  const sized = await request(`${gh.url}/small/up`, { method: 'POST', body: Buffer.alloc(2000, 'c') });
  assert.equal(sized.statusCode, 413);
  assert.equal(((await sized.body.json()) as { code: string }).code, 'request.body_too_large');
  assert.equal(up.requests.length, before, 'nothing reached the upstream');
});

test('retry to a second endpoint: each attempt signed for its own endpoint host and time', async () => {
  const bad = await startUpstream((_req, res) => {
    now += 7_000; // the backoff is "long": the retry must carry a fresh x-amz-date
    res.writeHead(503, { 'content-length': '0' }).end();
  });
  const good = await startUpstream();
  const g = await startGateway({
    clock,
    routes: [{ name: 'r', match: { path: { prefix: '/' } }, cluster: 'aws', retry_policy: { retry_on: ['5xx'], num_retries: 1, retry_non_idempotent: true, backoff: { base_interval: '1ms' } } }],
    clusters: [{ name: 'aws', endpoints: [bad.url, good.url], aws_sigv4: signing() }],
  });
  try {
    now = NOW;
    for (let i = 0; i < 4; i++) {
      const res = await request(`${g.url}/retry-${i}`);
      assert.equal(res.statusCode, 200);
      await res.body.text();
    }
    // A chunked body was buffered to be signed, so it can be replayed: it is retried too.
    for (let i = 0; i < 2; i++) {
      const r = await sendChunked(`${g.url}/retry-chunked-${i}`, [Buffer.from('{"a":'), Buffer.from(`${i}}`)]);
      assert.equal(r.status, 200);
      const delivered = good.requests.filter((x) => x.url === `/retry-chunked-${i}`);
      assert.equal(delivered.length, 1);
      assert.equal(delivered[0]!.body.toString(), `{"a":${i}}`);
    }
    assert.ok(bad.requests.length > 0, 'some first attempts went to the failing endpoint');
    for (const first of bad.requests) {
      const second = received(good, first.url);
      assert.equal(first.headers.host, `127.0.0.1:${bad.port}`);
      assert.equal(second.headers.host, `127.0.0.1:${good.port}`);
      assert.notEqual(first.headers['x-amz-date'], second.headers['x-amz-date'], 'the retry is signed anew, at its own time');
      assert.notEqual(first.headers.authorization, second.headers.authorization);
      assert.equal(signedAt(second) - signedAt(first), 7_000);
      await assertSigned(first, { date: signedAt(first) });
      await assertSigned(second, { date: signedAt(second) });
    }
  } finally {
    now = NOW;
    await g.stop();
    await bad.close();
    await good.close();
  }
});

test('a mirror cluster that signs gets a copy signed for its own host (not the "-shadow" Host)', async () => {
  const main = await startUpstream();
  const shadow = await startUpstream();
  const g = await startGateway({
    clock,
    routes: [{ name: 'm', match: { path: { prefix: '/' } }, cluster: 'main', mirror: { cluster: 'shadow' } }],
    clusters: [{ name: 'main', endpoints: [main.url] }, { name: 'shadow', endpoints: [shadow.url], aws_sigv4: signing() }],
  });
  try {
    const res = await request(`${g.url}/mirrored?x=1`, { method: 'POST', headers: { 'content-length': '0' } });
    assert.equal(res.statusCode, 200);
    await res.body.text();
    await waitFor(() => shadow.requests.length === 1, 5000, 'the shadow copy');
    const copy = shadow.requests[0]!;
    assert.equal(copy.headers.host, `127.0.0.1:${shadow.port}`);
    await assertSigned(copy);
    assert.equal(received(main, '/mirrored?x=1').headers.authorization, undefined, 'the primary cluster does not sign');
  } finally {
    await g.stop();
    await main.close();
    await shadow.close();
  }
});

test('end to end: gateway A signs, gateway B verifies with its sigv4 filter (200); a wrong secret gets B\'s 403, relayed by A', async () => {
  const echo = await startUpstream();
  const b = await startGateway({
    clock,
    routes: [{ name: 'api', match: { path: { prefix: '/' } }, cluster: 'echo', filters: { sigv4: { region: 'eu-west-1', service: 'execute-api', access_keys: [{ id: ID, secret: SECRET, subject: 'gateway-a' }] }, authz: { allow: 'authenticated' } } }],
    clusters: [{ name: 'echo', endpoints: [echo.url] }],
  });
  const a = await startGateway({
    clock,
    routes: [
      { name: 'wrong', match: { path: { prefix: '/wrong' } }, cluster: 'b-wrong' },
      { name: 'ok', match: { path: { prefix: '/' } }, cluster: 'b' },
    ],
    clusters: [
      { name: 'b', endpoints: [b.url], aws_sigv4: signing() },
      { name: 'b-wrong', endpoints: [b.url], aws_sigv4: signing({ secret_access_key: 'not-the-right-secret' }) },
    ],
  });
  try {
    const get = await request(`${a.url}/orders/1?expand=items&x=a%20b`, { headers: { authorization: 'Bearer whatever-the-client-sends' } });
    assert.equal(get.statusCode, 200);
    const seen = (await get.body.json()) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-gatehouse-subject'], 'gateway-a', 'B authenticated A by its signature');
    const post = await request(`${a.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"qty":1}' });
    assert.equal(post.statusCode, 200);
    await post.body.text();
    const chunked = await sendChunked(`${a.url}/orders/bulk`, [Buffer.from('[1,'), Buffer.from('2]')]);
    assert.equal(chunked.status, 200, 'B checked the payload hash of the buffered chunked body');
    assert.equal(echo.requests.at(-1)!.body.toString(), '[1,2]');
    const before = echo.requests.length;
    const wrong = await request(`${a.url}/wrong/orders/1`);
    assert.equal(wrong.statusCode, 403);
    assert.equal(wrong.headers['x-amzn-errortype'], 'InvalidSignatureException');
    const body = await wrong.body.text();
    assert.equal((JSON.parse(body) as { code: string }).code, 'authn.sigv4.signature_mismatch');
    assert.ok(!body.includes('not-the-right-secret') && !body.includes(SECRET));
    assert.equal(echo.requests.length, before, 'B forwarded nothing');
  } finally {
    await a.stop();
    await b.stop();
    await echo.close();
  }
});

test('redaction: the credentials appear in no access-log line, no /config, no error body, no audit record', async () => {
  const bad = await request(`${gh.url}/small/x`, { method: 'POST', body: Buffer.alloc(4096) });
  const errorBody = await bad.body.text();
  const bq = await request(`${gh.url}/bad?a=%zz`);
  assert.equal(bq.statusCode, 400);
  const badQuery = (await bq.body.text());
  assert.equal((JSON.parse(badQuery) as { code: string }).code, 'request.bad_request');
  const cfg = await request(`${gh.adminUrl}/config`);
  const config = await cfg.body.text();
  assert.equal(cfg.statusCode, 200);
  const lines = await gh.accessLog((l) => l.some((x) => x.code === 'request.bad_request'));
  await waitFor(() => readdirSync(auditDir).some((f) => readFileSync(join(auditDir, f), 'utf8').includes('request.bad_request')), 5000, 'the audit record of the last request');
  const audit = readdirSync(auditDir).map((f) => readFileSync(join(auditDir, f), 'utf8')).join('\n');
  assert.ok(audit.length > 0 && lines.length > 0);
  for (const [what, text] of [['error body', errorBody + badQuery], ['/config', config], ['access log', JSON.stringify(lines)], ['audit', audit]] as const) {
    // The access key id is not secret (AWS logs it), but it comes from a reference on clusters[0]
    // and nothing but the signer has any use for it.
    for (const s of what === '/config' ? [SECRET, TOKEN] : [SECRET, TOKEN, ID]) assert.ok(!text.includes(s), `${what} does not contain ${s.slice(0, 4)}…`);
  }
  assert.match(config, /"secret_access_key": ?"\[redacted\]"/);
});

test('credential rotation: the secret file changes while requests flow; no request fails, new ones use the new key, the cluster (and its pools) stays', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-awsig-rot-'));
  const secretFile = join(dir, 'aws-secret');
  const OLD = 'rotation-secret-OLD-0123456789abcdefghij';
  const NEW = 'rotation-secret-NEW-9876543210zyxwvutsrq';
  writeFileSync(secretFile, OLD);
  const slow = await startUpstream((req, res, body) => {
    // A few milliseconds per answer: requests are in flight across the swap.
    setTimeout(() => {
      const out = JSON.stringify({ url: req.url, bodyBytes: body.length });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
    }, 3);
  });
  const path = join(dir, 'gatehouse.yaml');
  writeFileSync(
    path,
    `listeners: [{ port: 0 }]
admin: { port: 0 }
access_log: { path: ${join(dir, 'access.log')} }
secrets: { refresh_interval: 50ms }
routes:
  - name: all
    cluster: aws
clusters:
  - name: aws
    endpoints: [${slow.url}]
    aws_sigv4:
      region: eu-west-1
      service: execute-api
      access_key_id: ${ID}
      secret_access_key: \${secret:file:${secretFile}}
`,
  );
  const loaded = await loadConfigFile(path);
  assert.deepEqual(loaded.warnings.filter((w) => w.includes('secret_access_key')), [], 'a secret reference draws no literal-secret warning');
  const messages: string[] = [];
  const gw = await createGateway(loaded.config, { configPath: path, secretPaths: loaded.secretPaths, say: (l) => void messages.push(l) });
  const base = `http://127.0.0.1:${gw.ports()[0]}`;
  const cluster = gw.snapshot().clusters.get('aws');
  const statuses: number[] = [];
  let n = 0;
  let rotated = false;
  try {
    const worker = async () => {
      while (!rotated || slow.requests.filter((r) => r.url.startsWith('/after')).length < 40) {
        const i = n++;
        const res = await request(`${base}/${rotated ? 'after' : 'before'}/${i}`, { method: i % 2 ? 'POST' : 'GET', ...(i % 2 ? { body: `{"i":${i}}` } : {}) });
        statuses.push(res.statusCode);
        await res.body.text();
        if (i === 60) {
          writeFileSync(`${secretFile}.tmp`, NEW);
          renameSync(`${secretFile}.tmp`, secretFile);
          await waitFor(() => messages.some((m) => m.includes('secret references changed')), 5000, 'the rotation');
          rotated = true;
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    assert.ok(statuses.every((s) => s === 200), `no request failed (${statuses.filter((s) => s !== 200).length} did)`);
    assert.equal(gw.snapshot().clusters.get('aws'), cluster, 'the cluster was kept: a credential change swaps only the signer');
    // Every received request is signed with the old or the new secret; after the first new one, never the old.
    // Every received request is signed with the old or the new secret: the old one until the swap,
    // and every request sent after the rotation was applied (/after/...) with the new one.
    const keyOf = async (r: Recorded) => {
      const sign = (secretAccessKey: string) => sdkAuthorization(r, { credentials: { accessKeyId: ID, secretAccessKey }, region: 'eu-west-1', service: 'execute-api', date: signedAt(r) });
      return r.headers.authorization === (await sign(OLD)) ? 'old' : r.headers.authorization === (await sign(NEW)) ? 'new' : 'invalid';
    };
    const seen = { before: new Set<string>(), after: new Set<string>() };
    for (const r of slow.requests) seen[r.url.startsWith('/after') ? 'after' : 'before'].add(await keyOf(r));
    assert.ok(seen.before.has('old') && !seen.before.has('invalid'), `before: ${[...seen.before].join(', ')}`);
    assert.deepEqual([...seen.after], ['new'], 'every request sent after the rotation is signed with the new secret');
    assert.ok(slow.requests.filter((r) => r.url.startsWith('/after')).length >= 40);
    assert.ok(!messages.join('\n').includes(OLD) && !messages.join('\n').includes(NEW), 'operational messages never carry the secret');
  } finally {
    await gw.stop();
    await slow.close();
  }
});
