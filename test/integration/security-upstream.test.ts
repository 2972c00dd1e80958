// SECURITY.md goal table row 24: upstream misbehaviour (invalid response framing, CR/LF in
// response header values, 1xx floods, slow and huge responses) → 502/504 to the client, and the
// upstream connection closed. The upstreams here speak raw bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { startRawUpstream } from '../helpers/upstream.js';
import { startGateway, simpleSpec, SHORT_TIMEOUTS } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';
import { assertProblem } from '../helpers/problem.js';
import { pollUntil } from '../helpers/wait.js';

const REQUEST = 'GET /u HTTP/1.1\r\nHost: gw.test\r\n\r\n';

/**
 * Starts a raw upstream that runs `behave` on each connection once the request arrived, a gateway
 * in front of it, sends one request, and reports the answer and whether every upstream
 * connection that carried a request was closed by the gateway afterwards. (After an exchange is
 * aborted, undici's pool may open a fresh connection it sends nothing on; that one is idle, not
 * broken, and undici closes it after its keep-alive timeout.)
 */
async function exchange(behave: (s: net.Socket) => void, route: Record<string, unknown> = {}, brokenUpstream = true) {
  let open = 0;
  const u = await startRawUpstream((s) => {
    s.once('data', () => {
      open++;
      s.on('close', () => open--);
      behave(s);
    });
  });
  const g = await startGateway(simpleSpec(u.url, { timeout: '1s', ...route }, { limits: SHORT_TIMEOUTS }));
  try {
    const t0 = Date.now();
    const r = await rawRequest(g.port, REQUEST, { quietMs: 100, timeoutMs: 8000 });
    const took = Date.now() - t0;
    // The gateway must drop the broken upstream connection (never reuse it for another request).
    if (brokenUpstream) await pollUntil(() => open <= 0, 3000);
    return { r, took, upstreamOpen: open, connections: u.connections() };
  } finally {
    await g.stop();
    await u.close();
  }
}

test('row 24: invalid response framing → 502, upstream connection closed', async () => {
  const cases: Array<[string, string]> = [
    ['CL + TE', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['conflicting CL', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!'],
    ['negative CL', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok'],
    ['bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'],
    ['bad status line', 'HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n'],
    ['HTTP/0.9 style answer', 'hello world\r\n'],
    ['obs-fold in a response header', 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n'],
  ];
  for (const [label, text] of cases) {
    const x = await exchange((s) => s.write(text));
    assertProblem(x.r, 502, 'upstream.bad_response', 'unchecked', label);
    assert.equal(x.upstreamOpen, 0, `${label}: upstream connection closed`);
  }
});

test('row 24: a framing error after body bytes were relayed cuts the client connection', async () => {
  // Too late for a 502: the status line went out. The honest signal is a cut without the final
  // chunk, so the client cannot take the truncated body for a complete one.
  for (const text of [
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello',
  ]) {
    const x = await exchange((s) => {
      s.write(text);
      // The last case: fewer bytes than declared, then the upstream hangs up.
      if (text.includes('Content-Length')) setTimeout(() => s.destroy(), 50);
    });
    assert.equal(x.r.status, 200, JSON.stringify(text));
    assert.equal(x.r.closed, true, 'client connection cut');
    assert.ok(!x.r.text.includes('\r\n0\r\n\r\n'), 'no terminating chunk');
    assert.equal(x.upstreamOpen, 0);
  }
});

test('row 24: CR, LF or NUL inside a response header value → 502, the injected field never reaches the client', async () => {
  const cases: Array<[string, string]> = [
    ['bare CR', 'HTTP/1.1 200 OK\r\nX-Bad: a\rSet-Cookie: injected=1\r\nContent-Length: 0\r\n\r\n'],
    ['bare LF', 'HTTP/1.1 200 OK\r\nX-Bad: a\nSet-Cookie: injected=1\r\nContent-Length: 0\r\n\r\n'],
    ['NUL', 'HTTP/1.1 200 OK\r\nX-Bad: a\u0000Set-Cookie: injected=1\r\nContent-Length: 0\r\n\r\n'],
    ['CTL', 'HTTP/1.1 200 OK\r\nX-Bad: a\u0001b\r\nContent-Length: 0\r\n\r\n'],
  ];
  for (const [label, text] of cases) {
    const x = await exchange((s) => s.write(text));
    assertProblem(x.r, 502, 'upstream.bad_response', 'unchecked', label);
    assert.ok(!/injected/i.test(x.r.text), `${label}: nothing injected`);
    assert.equal(x.upstreamOpen, 0, `${label}: upstream connection closed`);
  }
});

test('row 24: a flood of 1xx responses → 502; a single 103 is not relayed and the final answer is', async () => {
  const flood = await exchange((s) => s.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n'.repeat(5000) + 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  assertProblem(flood.r, 502, 'upstream.bad_response', 'unchecked', '1xx flood');
  assert.equal(flood.upstreamOpen, 0, '1xx flood: upstream connection closed');

  // A drip of 1xx must not hold the exchange open past the route timeout either.
  const drip = await exchange((s) => {
    const t = setInterval(() => (s.writable ? s.write('HTTP/1.1 102 Processing\r\n\r\n') : clearInterval(t)), 100);
    s.on('close', () => clearInterval(t));
  }, { timeout: '500ms' });
  assert.ok([502, 504].includes(drip.r.status), `1xx drip: ${drip.r.status}`);
  assertProblem(drip.r, drip.r.status, drip.r.status === 502 ? 'upstream.bad_response' : 'upstream.timeout', 'unchecked', '1xx drip');
  assert.ok(drip.took < 5000, `1xx drip answered in ${drip.took} ms`);
  assert.equal(drip.upstreamOpen, 0, '1xx drip: upstream connection closed');

  const one = await exchange((s) => s.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), {}, false);
  assert.equal(one.r.status, 200, one.r.text.slice(0, 200));
  assert.equal(one.r.body, 'ok');
  assert.ok(!one.r.text.includes(' 103 '), 'the interim response is not relayed');
});

test('row 24: a response slower than the route timeout → 504, upstream connection closed', async () => {
  const silent = await exchange(() => undefined, { timeout: '300ms' });
  assertProblem(silent.r, 504, 'upstream.timeout', 'unchecked', 'no answer');
  assert.ok(silent.took < 5000, `answered in ${silent.took} ms`);
  assert.equal(silent.upstreamOpen, 0, 'upstream connection closed');

  // The head arrives, the body never does: nothing was relayed yet, so still a clean 504.
  const stalled = await exchange((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'), { timeout: '300ms' });
  assertProblem(stalled.r, 504, 'upstream.timeout', 'unchecked', 'stalled body');
  assert.equal(stalled.upstreamOpen, 0, 'stalled body: upstream connection closed');

  // A partial head, then silence.
  const partial = await exchange((s) => s.write('HTTP/1.1 200 OK\r\nX-A: 1\r\n'), { timeout: '300ms' });
  assertProblem(partial.r, 504, 'upstream.timeout', 'unchecked', 'partial head');
  assert.equal(partial.upstreamOpen, 0, 'partial head: upstream connection closed');
});

test('row 24: a huge response header section → 502, upstream connection closed', async () => {
  const cases: Array<[string, string]> = [
    ['200 KB of fields', 'HTTP/1.1 200 OK\r\n' + `X-A: ${'a'.repeat(1000)}\r\n`.repeat(200) + 'Content-Length: 2\r\n\r\nok'],
    ['one 100 KB field', `HTTP/1.1 200 OK\r\nX-A: ${'a'.repeat(100_000)}\r\nContent-Length: 2\r\n\r\nok`],
    ['unterminated header section', `HTTP/1.1 200 OK\r\n${'X-A: b\r\n'.repeat(20_000)}`],
  ];
  for (const [label, text] of cases) {
    const x = await exchange((s) => s.write(text));
    assertProblem(x.r, 502, 'upstream.bad_response', 'unchecked', label);
    assert.equal(x.upstreamOpen, 0, `${label}: upstream connection closed`);
  }
});
