// SECURITY.md goal table rows 13-14: client identity / forwarding headers and hop-by-hop abuse
// (nominated fields, h2c and WebSocket upgrades, Trailer and trailers). Raw bytes over a socket;
// the recording upstream shows exactly what it received.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, startProxied, SHORT_TIMEOUTS, type TestGateway } from '../helpers/gateway.js';
import net from 'node:net';
import { rawRequest, parse, type RawResult } from '../helpers/raw.js';
import { settle } from '../helpers/wait.js';

const H = 'Host: gw.test\r\n';

let up: TestUpstream;
let gh: TestGateway;
let stop: () => Promise<void>;
before(async () => ({ up, gh, stop } = await startProxied({ limits: SHORT_TIMEOUTS })));
after(() => stop());

/** Sends one request that must be served; returns the response and the upstream's raw view of it. */
async function served(port: number, u: TestUpstream, payload: string): Promise<{ r: RawResult; raw: string; headers: Record<string, string | string[] | undefined>; rawHeaders: string[] }> {
  const n = u.requests.length;
  const bytes = u.rawBytes().length;
  const r = await rawRequest(port, payload, { quietMs: 200 });
  assert.equal(r.status, 200, r.text.slice(0, 300));
  await settle();
  assert.equal(u.requests.length, n + 1, 'forwarded exactly once');
  const rec = u.requests[n]!;
  return { r, raw: u.rawBytes().slice(bytes), headers: rec.headers, rawHeaders: rec.rawHeaders };
}

/** Several requests one after the other on one connection, each written after the previous
 * answer (Content-Length framed) arrived. Resolves with the answers and whether the gateway closed. */
function sequential(port: number, payloads: string[]): Promise<{ answers: RawResult[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const answers: RawResult[] = [];
    let buf = '';
    let i = 0;
    let closed = false;
    const done = () => {
      clearTimeout(hard);
      s.destroy();
      resolve({ answers, closed });
    };
    const hard = setTimeout(done, 5000);
    s.on('connect', () => s.write(payloads[i++]!));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const headEnd = buf.indexOf('\r\n\r\n');
        if (headEnd === -1) return;
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, headEnd))?.[1] ?? 0);
        if (buf.length < headEnd + 4 + len) return;
        answers.push(parse(buf.slice(0, headEnd + 4 + len), false));
        buf = buf.slice(headEnd + 4 + len);
        if (i < payloads.length) s.write(payloads[i++]!);
        else setTimeout(done, 200);
      }
    });
    s.on('close', () => {
      closed = true;
      done();
    });
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
  });
}

/** The upstream's header section (without the body), lower-cased, for "never as sent" checks. */
function headSection(raw: string): string {
  const end = raw.indexOf('\r\n\r\n');
  return (end === -1 ? raw : raw.slice(0, end)).toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Row 13: client identity / forwarding headers: the request proceeds, the spoofed value never
// reaches the upstream (removed, or overwritten with the gateway's own value).

test('row 13: spoofed forwarding, identity and client-cert headers never reach the upstream as sent', async () => {
  const spoof = '203.0.113.66';
  const fields = [
    `X-Forwarded-For: ${spoof}`,
    'X-Forwarded-Proto: https',
    'X-Forwarded-Host: evil.example',
    'X-Forwarded-Port: 8443',
    'X-Forwarded-Prefix: /evil',
    `Forwarded: for=${spoof};proto=https;host=evil.example`,
    `X-Real-IP: ${spoof}`,
    `True-Client-IP: ${spoof}`,
    `CF-Connecting-IP: ${spoof}`,
    `X-Client-IP: ${spoof}`,
    `X-Cluster-Client-IP: ${spoof}`,
    'X-Gatehouse-Subject: spoofed-admin',
    'X-Gatehouse-Roles: spoofed-admin',
    'x-gatehouse-key-id: spoofed-key',
    'X_Gatehouse_Subject: spoofed-admin',
    'X_GATEHOUSE_ROLES: spoofed-admin',
    `X_Forwarded_For: ${spoof}`,
    `X-Real_IP: ${spoof}`,
    'X-Forwarded-Client-Cert: By=spiffe://evil;Hash=00;Subject="CN=spoofed-admin"',
    'X-SSL-Client-Cert: -----BEGIN%20CERTIFICATE-----spoofed',
    'X-SSL-Client-Verify: SUCCESS',
    'X-SSL-Client-S-DN: CN=spoofed-admin',
    'X_SSL_Client_Verify: SUCCESS',
    'X-Client-Cert: spoofed',
    'X-Request-Id: spoofed-request-id',
    'Remote-User: spoofed-admin',
    'X-Original-URL: /admin',
    'X-HTTP-Method-Override: DELETE',
  ];
  const { r, raw, headers } = await served(gh.port, up, `GET /who HTTP/1.1\r\n${H}${fields.join('\r\n')}\r\n\r\n`);
  const head = headSection(raw);
  for (const needle of [spoof, 'evil', 'spoofed', '8443', 'success', 'by=spiffe']) {
    assert.ok(!head.includes(needle), `"${needle}" never reaches the upstream`);
  }
  for (const name of ['forwarded', 'x-real-ip', 'true-client-ip', 'cf-connecting-ip', 'x-client-ip', 'x-cluster-client-ip', 'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-client-cert', 'x-ssl-client-cert', 'x-ssl-client-verify', 'x-client-cert', 'remote-user', 'x-original-url', 'x-http-method-override']) {
    assert.equal(headers[name], undefined, `${name} removed`);
  }
  assert.ok(!/^x[-_]gatehouse[-_]/m.test(head), 'no x-gatehouse-* or X_Gatehouse_* field upstream');
  assert.ok(!/^[a-z0-9-]*_/m.test(head), 'no underscore twin of a removed field upstream');
  // The gateway's own values replace the client's.
  assert.equal(headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(headers['x-forwarded-proto'], 'http');
  assert.equal(headers['x-forwarded-host'], 'gw.test');
  assert.equal(headers['x-request-id'], r.headers['x-request-id']);
  assert.notEqual(r.headers['x-request-id'], 'spoofed-request-id');
  assert.equal(r.closed, false, 'keep-alive');
});

test('row 13: a repeated X-Forwarded-For from an untrusted client is dropped as a whole', async () => {
  const { headers, raw } = await served(gh.port, up, `GET /who HTTP/1.1\r\n${H}X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2, 10.0.0.3\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Proto: http\r\n\r\n`);
  assert.equal(headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(headers['x-forwarded-proto'], 'http');
  assert.ok(!headSection(raw).includes('10.0.0.'));
  assert.equal(headSection(raw).match(/^x-forwarded-for:/gm)?.length, 1, 'exactly one X-Forwarded-For');
});

// ---------------------------------------------------------------------------------------------
// Row 14: hop-by-hop abuse, h2c / WebSocket tunnels, Trailer: proceed; nominated and hop-by-hop
// fields never upstream; no tunnel without a 101 from a WebSocket route; keep.

test('row 14: fields nominated by Connection are stripped, and so are the hop-by-hop ones', async () => {
  const { r, headers, raw } = await served(gh.port, up, `GET /hop HTTP/1.1\r\n${H}Connection: close, X-Foo\r\nX-Foo: nominated-secret\r\nX-Kept: yes\r\n\r\n`);
  assert.equal(headers['x-foo'], undefined);
  assert.ok(!raw.includes('nominated-secret'));
  assert.equal(headers['x-kept'], 'yes');
  // The client asked for close: honoured.
  assert.equal(r.headers['connection']?.toLowerCase(), 'close');
  assert.equal(r.closed, true);

  const second = await served(gh.port, up, `GET /hop HTTP/1.1\r\n${H}Connection: keep-alive, x-bar, X-Gatehouse-Fake\r\nX-Bar: nominated-secret\r\nKeep-Alive: timeout=999\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nProxy-Authorization: Basic c2VjcmV0\r\n\r\n`);
  const head = headSection(second.raw);
  for (const name of ['x-bar', 'keep-alive', 'proxy-connection', 'te', 'proxy-authorization']) assert.ok(!new RegExp(`^${name}:`, 'm').test(head), `${name} not forwarded`);
  assert.ok(!head.includes('nominated-secret') && !head.includes('timeout=999') && !head.includes('c2vjcmv0'));
  assert.equal(second.r.closed, false, 'keep-alive');
});

test('row 14: an h2c upgrade on an ordinary route is served as a plain request, no 101, nothing of it forwarded', async () => {
  const { r, raw } = await served(gh.port, up, `GET /upg HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`);
  assert.ok(!r.text.includes(' 101 '), 'no 101 Switching Protocols');
  assert.ok(!/^upgrade:/im.test(r.text.slice(0, r.text.indexOf('\r\n\r\n'))), 'no Upgrade in the response');
  const head = headSection(raw);
  assert.ok(!/^(upgrade|http2-settings):/m.test(head), 'no Upgrade / HTTP2-Settings upstream');
  assert.ok(!head.includes('h2c') && !head.includes('aamaaabk'), 'no h2c value upstream');
  assert.ok(!/^connection:.*upgrade/m.test(head), 'no Connection: upgrade upstream');
  assert.equal(r.closed, false, 'the connection stays usable');
  // The same connection keeps working as HTTP/1.1. (Written after the first answer: Node's parser
  // pauses at the end of any request that carries Upgrade and drops the rest of that read, so a
  // request pipelined behind it in the same packet is lost, never misparsed.)
  const n = up.requests.length;
  const both = await sequential(gh.port, [
    `GET /upg-1 HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`,
    `GET /upg-2 HTTP/1.1\r\n${H}\r\n`,
  ]);
  assert.deepEqual(both.answers.map((a) => a.status), [200, 200]);
  await settle();
  assert.deepEqual(up.requests.slice(n).map((x) => x.url), ['/upg-1', '/upg-2']);
});

test('row 14: a WebSocket upgrade to a route without websocket: true is no tunnel', async () => {
  const ws = await startUpstream((req, res) => {
    // An upstream that would happily switch protocols if the gateway let the upgrade through.
    if (req.headers.upgrade) {
      res.writeHead(101, { connection: 'upgrade', upgrade: 'websocket' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-length': '2' });
    res.end('ok');
  });
  const g = await startGateway({
    routes: [
      { name: 'sock', match: { path: { prefix: '/sock' } }, cluster: 'ws', websocket: true },
      { name: 'plain', match: { path: { prefix: '/' } }, cluster: 'ws' },
    ],
    clusters: [{ name: 'ws', endpoints: [ws.url] }],
    limits: SHORT_TIMEOUTS,
  });
  try {
    const n = ws.requests.length;
    const bytes = ws.rawBytes().length;
    const r = await rawRequest(g.port, `GET /plain HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`, { quietMs: 200 });
    assert.equal(r.status, 200, r.text.slice(0, 200));
    assert.ok(!r.text.includes(' 101 '));
    await settle();
    assert.equal(ws.requests.length, n + 1);
    assert.ok(!/^(upgrade|connection:.*upgrade)/im.test(headSection(ws.rawBytes().slice(bytes))), 'no upgrade request upstream');
  } finally {
    await g.stop();
    await ws.close();
  }
});

test('row 14: Trailer is not forwarded, and trailers never become upstream header fields', async () => {
  const { headers, raw, r } = await served(
    gh.port,
    up,
    `POST /trailers HTTP/1.1\r\n${H}Trailer: X-Smuggled, Authorization\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Smuggled: trailer-value\r\nAuthorization: Bearer trailer-token\r\nX-Forwarded-For: 203.0.113.66\r\n\r\n`,
  );
  assert.equal(headers['trailer'], undefined);
  assert.equal(headers['x-smuggled'], undefined);
  assert.equal(headers['authorization'], undefined);
  assert.equal(headers['x-forwarded-for'], '127.0.0.1');
  assert.ok(!raw.includes('trailer-value') && !raw.includes('trailer-token') && !raw.includes('203.0.113.66'), 'trailer values nowhere upstream');
  assert.equal(up.requests.at(-1)!.body.toString(), 'hello');
  assert.equal(r.closed, false);
});
