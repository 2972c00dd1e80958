import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { Readable } from 'node:stream';
import { startUpstream, deadPort, startRawUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, simpleSpec, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';

let up: TestUpstream;
let gh: TestGateway;

before(async () => {
  up = await startUpstream();
  gh = await startGateway({
    routes: [
      { name: 'strip', match: { path: { prefix: '/api' } }, cluster: 'up', rewrite: { strip_prefix: '/api', prefix: '/v1' },
        request_headers: { set: { 'x-env': 'test' }, remove: ['x-drop-me'] }, response_headers: { add: { 'x-served-by': 'gatehouse' }, remove: ['x-internal'] } },
      { name: 'users', match: { path: { template: '/users/{id}' }, methods: ['GET'] }, cluster: 'up' },
      { name: 'small', match: { path: { prefix: '/small' } }, cluster: 'up', max_body_bytes: 16 },
      { name: 'rest', match: { path: { prefix: '/' } }, cluster: 'up' },
    ],
    clusters: [{ name: 'up', endpoints: [up.url] }],
  });
});
after(async () => {
  await gh.stop();
  await up.close();
});

const problem = async (res: Awaited<ReturnType<typeof request>>) => {
  assert.equal(res.headers['content-type'], 'application/problem+json');
  const body = (await res.body.json()) as Record<string, unknown>;
  assert.equal(body.request_id, res.headers['x-request-id']);
  assert.equal(typeof body.code, 'string');
  assert.equal(body.status, res.statusCode);
  assert.ok(!JSON.stringify(body).includes('    at '), 'no stack trace');
  return body;
};

test('forwards a GET with the normalized path, rewrite and header operations', async () => {
  const res = await request(`${gh.url}/api/a/../orders//1?x=1&y=%2F`, { headers: { 'x-drop-me': '1', 'x-env': 'spoofed', 'x-keep': 'k' } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['x-served-by'], 'gatehouse');
  assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  const seen = (await res.body.json()) as { url: string; headers: Record<string, string> };
  assert.equal(seen.url, '/v1/orders/1?x=1&y=%2F');
  assert.equal(seen.headers['x-env'], 'test');
  assert.equal(seen.headers['x-drop-me'], undefined);
  assert.equal(seen.headers['x-keep'], 'k');
  assert.equal(seen.headers['x-request-id'], res.headers['x-request-id']);
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['via'], '1.1 gatehouse');
});

test('response header removal applies to upstream fields', async () => {
  const u2 = await startUpstream((_q, res) => {
    res.writeHead(200, { 'x-internal': 'secret', 'content-length': '2' });
    res.end('ok');
  });
  const g2 = await startGateway(simpleSpec(u2.url, { response_headers: { remove: ['x-internal'] } }));
  try {
    const res = await request(`${g2.url}/x`);
    assert.equal(res.headers['x-internal'], undefined);
    assert.equal(await res.body.text(), 'ok');
  } finally {
    await g2.stop();
    await u2.close();
  }
});

test('Content-Length bodies: a body in several writes, HEAD, and pipelined requests on one connection', async () => {
  // The proxy ends the client response with the chunk that completes the upstream's Content-Length;
  // a body that arrives in pieces, and a HEAD answer that announces a length it never sends, must
  // still come out whole, in order, on a connection that stays open. (A raw client: undici's own
  // client closes its connection after every HEAD.)
  const u2 = await startUpstream((q, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
    if (q.method === 'HEAD') return void res.end();
    res.write('hello');
    setTimeout(() => res.end('world'), 30);
  });
  const g2 = await startGateway(simpleSpec(u2.url));
  try {
    const methods = ['GET', 'HEAD', 'GET', 'HEAD', 'GET'];
    const r = await rawRequest(g2.port, methods.map((m) => `${m} /split HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    assert.equal(r.closed, false, 'the connection stays open');
    const answers = r.text.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 5, r.text);
    answers.forEach((a, i) => {
      assert.match(a, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(a, /\r\ncontent-length: 10\r\n/i);
      assert.equal(a.slice(a.indexOf('\r\n\r\n') + 4), methods[i] === 'HEAD' ? '' : 'helloworld', `answer ${i + 1} (${methods[i]})`);
    });
    const lines = await g2.accessLog((ls) => ls.filter((l) => l.path === '/split').length >= 5);
    const split = lines.filter((l) => l.path === '/split');
    assert.deepEqual(split.map((l) => [l.method, l.bytes_out, l.status, l.code]), methods.map((m) => [m, m === 'HEAD' ? 0 : 10, 200, null]));
  } finally {
    await g2.stop();
    await u2.close();
  }
});

test('a body that completes its Content-Length in one chunk reaches the client before the upstream closes', async () => {
  // The upstream sends head and whole body, then resets the connection: the client still gets the
  // complete answer, and the next request goes through on a new upstream connection.
  const raw = await startRawUpstream((s) => {
    s.once('data', () => {
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nfull');
      setTimeout(() => s.destroy(), 20);
    });
  });
  const g2 = await startGateway(simpleSpec(raw.url));
  try {
    for (let i = 0; i < 3; i++) {
      const res = await request(`${g2.url}/whole`);
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), 'full');
      await new Promise((r) => setTimeout(r, 40));
    }
  } finally {
    await g2.stop();
    await raw.close();
  }
});

test('template routes and method matching: a POST to a GET-only template falls through', async () => {
  const a = await request(`${gh.url}/users/42`);
  assert.equal(a.statusCode, 200);
  await a.body.dump();
  const hit = (l: Record<string, unknown>) => l.route === 'users' && l.path === '/users/42';
  const logs = await gh.accessLog((ls) => ls.some(hit));
  assert.ok(logs.some(hit));
});

test('spoofed forwarding and identity headers never reach the upstream', async () => {
  const res = await request(`${gh.url}/spoof`, {
    headers: {
      'x-forwarded-for': '1.2.3.4', 'x-real-ip': '1.2.3.4', forwarded: 'for=1.2.3.4', 'x-request-id': 'client-chosen',
      'x-gatehouse-subject': 'admin', 'x_gatehouse_roles': 'admin', 'remote-user': 'admin', 'x-forwarded-user': 'admin',
      'x-auth-request-email': 'a@b', 'x-original-url': '/admin', 'x-http-method-override': 'DELETE',
    },
  });
  const seen = (await res.body.json()) as { headers: Record<string, string> };
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  assert.notEqual(res.headers['x-request-id'], 'client-chosen');
  for (const h of ['x-real-ip', 'forwarded', 'x-gatehouse-subject', 'x_gatehouse_roles', 'remote-user', 'x-forwarded-user', 'x-auth-request-email', 'x-original-url', 'x-http-method-override']) {
    assert.equal(seen.headers[h], undefined, `${h} must be stripped`);
  }
});

test('trusted proxies: their X-Forwarded-For is extended and their request id kept', async () => {
  const g2 = await startGateway(simpleSpec(up.url, {}, { trusted_proxies: ['127.0.0.0/8'] }));
  try {
    const res = await request(`${g2.url}/t`, { headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-request-id': 'abc-123' } });
    const seen = (await res.body.json()) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(res.headers['x-request-id'], 'abc-123');
    const bad = await request(`${g2.url}/t`, { headers: { 'x-request-id': 'has spaces and "quotes"' } });
    await bad.body.dump();
    assert.notEqual(bad.headers['x-request-id'], 'has spaces and "quotes"');
  } finally {
    await g2.stop();
  }
});

test('hop-by-hop fields and those named in Connection are not forwarded', async () => {
  const res = await rawRequest(gh.port, 'GET /hop HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret-Hop\r\nX-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: x-t\r\nProxy-Authorization: Basic eA==\r\nX-Kept: yes\r\n\r\n');
  assert.equal(res.status, 200);
  const seen = JSON.parse(res.body) as { headers: Record<string, string> };
  for (const h of ['x-secret-hop', 'keep-alive', 'te', 'trailer', 'proxy-authorization']) assert.equal(seen.headers[h], undefined, h);
  assert.equal(seen.headers['x-kept'], 'yes');
});

test('404 for no route, as problem+json with a request id', async () => {
  const g2 = await startGateway({ routes: [{ name: 'only', match: { path: { exact: '/only' } }, cluster: 'up' }], clusters: [{ name: 'up', endpoints: [up.url] }] });
  try {
    const res = await request(`${g2.url}/other`);
    assert.equal(res.statusCode, 404);
    const body = await problem(res);
    assert.equal(body.code, 'route.not_found');
  } finally {
    await g2.stop();
  }
});

test('400 for encoded slash and other ambiguous paths; nothing forwarded', async () => {
  const before = up.requests.length;
  for (const p of ['/a%2fb', '/a%5cb', '/a%00', '/a;b=1', '/%zz']) {
    const res = await request(`${gh.url}${p}`);
    assert.equal(res.statusCode, 400, p);
    assert.equal((await problem(res)).code, 'request.bad_path');
  }
  assert.equal(up.requests.length, before);
});

test('path normalization: dot segments, double slashes and encoded unreserved characters', async () => {
  for (const [sent, expected] of [['/a/../b', '/b'], ['//b', '/b'], ['/%62', '/b'], ['/x/%2e%2e/y', '/y']] as const) {
    const res = await request(`${gh.url}${sent}`);
    const seen = (await res.body.json()) as { url: string };
    assert.equal(seen.url, expected, sent);
  }
});

test('413 when a declared body exceeds the route limit, before anything is forwarded', async () => {
  const before = up.requests.length;
  const res = await request(`${gh.url}/small`, { method: 'POST', body: 'x'.repeat(17) });
  assert.equal(res.statusCode, 413);
  assert.equal((await problem(res)).code, 'request.body_too_large');
  assert.equal(up.requests.length, before);
});

test('413 when a chunked body grows past the limit while streaming', async () => {
  const res = await request(`${gh.url}/small`, { method: 'POST', body: Readable.from([Buffer.alloc(10), Buffer.alloc(10)]) });
  assert.equal(res.statusCode, 413);
  assert.equal((await problem(res)).code, 'request.body_too_large');
});

test('414 for an overlong URI', async () => {
  const res = await request(`${gh.url}/${'a'.repeat(17 * 1024)}`);
  assert.equal(res.statusCode, 414);
  assert.equal((await problem(res)).code, 'request.uri_too_long');
});

test('streams a multi-MB body both ways', async () => {
  const size = 8 * 1024 * 1024;
  const echo = await startUpstream((req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    req.pipe(res);
  }, { streamBody: true });
  const g2 = await startGateway(simpleSpec(echo.url, { max_body_bytes: '64MiB' }));
  try {
    const chunk = Buffer.alloc(64 * 1024, 7);
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= size) return this.push(null);
        sent += chunk.length;
        this.push(chunk);
      },
    });
    const res = await request(`${g2.url}/echo`, { method: 'PUT', body });
    assert.equal(res.statusCode, 200);
    let got = 0;
    for await (const c of res.body) got += (c as Buffer).length;
    assert.equal(got, size);
  } finally {
    await g2.stop();
    await echo.close();
  }
});

test('503 when the endpoint refuses connections', async () => {
  const port = await deadPort();
  const g2 = await startGateway(simpleSpec(`http://127.0.0.1:${port}`));
  try {
    const res = await request(`${g2.url}/x`);
    assert.equal(res.statusCode, 503);
    assert.equal((await problem(res)).code, 'upstream.connect_failure');
  } finally {
    await g2.stop();
  }
});

test('504 when the upstream does not answer within the route timeout', async () => {
  const hang = await startUpstream(() => undefined);
  const g2 = await startGateway(simpleSpec(hang.url, { timeout: '200ms' }));
  try {
    const res = await request(`${g2.url}/slow`);
    assert.equal(res.statusCode, 504);
    assert.equal((await problem(res)).code, 'upstream.timeout');
  } finally {
    await g2.stop();
    await hang.close();
  }
});

test('502 when the upstream resets or sends garbage', async () => {
  const garbage = await startRawUpstream((s) => s.once('data', () => s.end('HTTP/1.1 2OO OK\r\nbad\r\n\r\n')));
  const reset = await startRawUpstream((s) => s.once('data', () => s.resetAndDestroy()));
  const crlf = await startRawUpstream((s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nX-Bad: a\rb\r\nContent-Length: 0\r\n\r\n')));
  try {
    for (const u of [garbage, reset, crlf]) {
      const g2 = await startGateway(simpleSpec(u.url));
      try {
        const res = await request(`${g2.url}/x`);
        assert.equal(res.statusCode, 502);
        assert.equal((await problem(res)).code, 'upstream.bad_response');
      } finally {
        await g2.stop();
      }
    }
  } finally {
    await garbage.close();
    await reset.close();
    await crlf.close();
  }
});

test('access log: one JSON line per request with the documented fields', async () => {
  const res = await request(`${gh.url}/logged?q=secret-token`);
  await res.body.dump();
  const mine = (l: Record<string, unknown>) => l.request_id === res.headers['x-request-id'];
  const lines = await gh.accessLog((ls) => ls.some(mine));
  const line = lines.find(mine);
  assert.ok(line, 'line for the request');
  for (const k of ['time', 'request_id', 'client_ip', 'method', 'path', 'route', 'cluster', 'endpoint', 'status', 'bytes_in', 'bytes_out', 'duration_ms', 'upstream_ms']) {
    assert.ok(k in line, `field ${k}`);
  }
  assert.equal(line.path, '/logged');
  assert.equal(line.status, 200);
  assert.equal(line.route, 'rest');
  assert.ok(!JSON.stringify(lines).includes('secret-token'), 'query values are not logged');
});

test('access log: answers the HTTP parser forced (before any request existed) are logged too', async () => {
  const r = await rawRequest(gh.port, 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
  assert.equal(r.status, 400);
  const id = r.headers['x-request-id'];
  assert.ok(id, 'the raw answer carries a request id');
  const mine = (l: Record<string, unknown>) => l.request_id === id;
  const lines = await gh.accessLog((ls) => ls.some(mine));
  const line = lines.find(mine);
  assert.ok(line, 'a log line with the same request id');
  assert.equal(line.status, 400);
  assert.equal(line.code, 'request.bad_framing');
  assert.equal(line.path, null);
  assert.equal(line.client_ip, '127.0.0.1');
});

test('a client that disconnects cancels its upstream request and is logged as such', async () => {
  let upstreamClosed!: () => void;
  const closed = new Promise<void>((r) => (upstreamClosed = r));
  let received = 0;
  const hang = await startUpstream((req, res) => {
    received++;
    // Never answers; the gateway must tear this exchange down when its client leaves.
    res.on('close', () => upstreamClosed());
    void req;
  });
  const g2 = await startGateway(simpleSpec(hang.url));
  try {
    const { connect } = await import('node:net');
    const s = connect(g2.port, '127.0.0.1');
    s.write('GET /leave HTTP/1.1\r\nHost: a\r\n\r\n');
    for (let i = 0; i < 200 && received === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(received, 1);
    s.destroy();
    await closed; // the upstream request was aborted, not left hanging until the route timeout
    const mine = (l: Record<string, unknown>) => l.path === '/leave';
    const lines = await g2.accessLog((ls) => ls.some(mine));
    assert.equal(lines.find(mine)?.code, 'client.disconnected');
  } finally {
    await g2.stop();
    await hang.close();
  }
});
