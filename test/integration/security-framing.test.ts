// SECURITY.md goal table rows 1-7: request framing and smuggling. Every payload is written as raw
// bytes (no well-behaved client can produce them); a recording upstream proves what was, and
// above all what was not, forwarded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTrackingUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, startProxied, simpleSpec, SHORT_TIMEOUTS, type TestGateway } from '../helpers/gateway.js';
import { rawRequest, parse, type RawResult } from '../helpers/raw.js';
import { assertProblem, assertRefused } from '../helpers/problem.js';
import { settle, waitFor } from '../helpers/wait.js';

const H = 'Host: gw.test\r\n';

let up: TestUpstream;
let gh: TestGateway;
let stop: () => Promise<void>;
before(async () => ({ up, gh, stop } = await startProxied({ limits: SHORT_TIMEOUTS })));
after(() => stop());

/** Sends a payload that must be refused with nothing at all forwarded upstream. */
const refused = (payload: string, status: number, code: string | RegExp, label: string, closed = true): Promise<RawResult> =>
  assertRefused(gh.port, up, payload, status, code, label, closed);

/** Splits a byte stream of several Content-Length-framed responses. */
function splitResponses(text: string): RawResult[] {
  const out: RawResult[] = [];
  let rest = text;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd === -1) break;
    const m = /\r\ncontent-length: *(\d+)/i.exec(rest.slice(0, headEnd));
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(rest)?.[1] ?? 0);
    const len = status < 200 ? 0 : Number(m?.[1] ?? 0);
    const end = headEnd + 4 + len;
    out.push(parse(rest.slice(0, end), false));
    rest = rest.slice(end);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Row 1: CL + TE together, any spelling → 400 (501 for an unknown coding), nothing, close.

test('row 1: Content-Length together with Transfer-Encoding is refused in every spelling', async () => {
  const smuggle = 'GET /smuggled HTTP/1.1\r\n' + H + '\r\n';
  const cases: Array<[string, string, number]> = [
    ['TE chunked + CL', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggle}`, 400],
    ['CL + TE chunked', `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggle}`, 400],
    ['TE Chunked (case) + CL', `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n${smuggle}`, 400],
    ['TE with CL 0', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n5\r\nhello\r\n0\r\n\r\n${smuggle}`, 400],
    ['TE CHUNKED + CL', `POST / HTTP/1.1\r\n${H}transfer-encoding: CHUNKED\r\ncontent-length: 10\r\n\r\n0\r\n\r\n${smuggle}`, 400],
    ['unknown coding + CL', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: foo\r\nContent-Length: 3\r\n\r\nabc${smuggle}`, 400],
  ];
  for (const [label, payload, status] of cases) await refused(payload, status, 'request.bad_framing', label);
  // An unknown coding alone: nothing to frame the body with.
  await refused(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: foo\r\n\r\nabc`, 501, 'request.unsupported_encoding', 'unknown coding alone');
  assert.ok(!up.rawBytes().includes('/smuggled'));
});

// ---------------------------------------------------------------------------------------------
// Row 2: conflicting / malformed Content-Length → 400, nothing, close.

test('row 2: conflicting or malformed Content-Length is refused', async () => {
  const cases: Array<[string, string]> = [
    ['duplicate CL, same value', 'Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc'],
    ['duplicate CL, different values', 'Content-Length: 3\r\nContent-Length: 30\r\n\r\nabc'],
    ['CL list 1,1', 'Content-Length: 1,1\r\n\r\na'],
    ['CL list 1, 2', 'Content-Length: 1, 2\r\n\r\nab'],
    ['negative CL', 'Content-Length: -1\r\n\r\na'],
    ['non-digit CL', 'Content-Length: 1a\r\n\r\na'],
    ['hex CL', 'Content-Length: 0x10\r\n\r\na'],
    ['leading + CL', 'Content-Length: +1\r\n\r\na'],
    ['huge CL', 'Content-Length: 99999999999999999999999\r\n\r\na'],
    ['CL over 2^53', 'Content-Length: 9007199254740993\r\n\r\na'],
    ['empty CL', 'Content-Length: \r\n\r\n'],
  ];
  for (const [label, rest] of cases) {
    await refused(`POST / HTTP/1.1\r\n${H}${rest}GET /smuggled HTTP/1.1\r\n${H}\r\n`, 400, 'request.bad_framing', label);
  }
  assert.ok(!up.rawBytes().includes('/smuggled'));
});

// ---------------------------------------------------------------------------------------------
// Row 3: TE obfuscation → 400/501, nothing, close.

test('row 3: Transfer-Encoding obfuscation is refused', async () => {
  const body = '0\r\n\r\nGET /smuggled HTTP/1.1\r\n' + H + '\r\n';
  const cases: Array<[string, string, number, string | RegExp]> = [
    ['gzip, chunked', 'Transfer-Encoding: gzip, chunked\r\n', 501, 'request.unsupported_encoding'],
    ['chunked, gzip (chunked not last)', 'Transfer-Encoding: chunked, gzip\r\n', 400, 'request.bad_framing'],
    [',chunked', 'Transfer-Encoding: ,chunked\r\n', 501, 'request.unsupported_encoding'],
    ['xchunked', 'Transfer-Encoding: xchunked\r\n', 501, 'request.unsupported_encoding'],
    ['chunked;q=1', 'Transfer-Encoding: chunked;q=1\r\n', 501, /^request\.(unsupported_encoding|bad_framing)$/],
    ['duplicate TE fields', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', 400, 'request.bad_framing'],
    ['duplicate TE, identity second', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n', 400, 'request.bad_framing'],
    ['obs-fold on TE', 'Transfer-Encoding:\r\n chunked\r\n', 400, /^request\.(bad_request|bad_framing)$/],
    ['obs-fold continuation line', 'X-Foo: a\r\n b\r\nTransfer-Encoding: chunked\r\n', 400, /^request\.(bad_request|bad_framing)$/],
    ['space before colon', 'Transfer-Encoding : chunked\r\n', 400, /^request\.(bad_request|bad_framing)$/],
    ['tab before colon', 'Transfer-Encoding\t: chunked\r\n', 400, /^request\.(bad_request|bad_framing)$/],
    ['unicode look-alike name (dotless i)', 'Transfer-Encod\u0131ng: chunked\r\n', 400, /^request\.(bad_request|bad_framing)$/],
    ['unicode look-alike name (long s)', 'Tran\u017Ffer-Encoding: chunked\r\n', 400, /^request\.(bad_request|bad_framing)$/],
    ['underscore name Transfer_Encoding', 'Transfer_Encoding: chunked\r\n', 400, 'request.bad_framing'],
    ['underscore name with CL', 'Transfer_Encoding: chunked\r\nContent-Length: 5\r\n', 400, 'request.bad_framing'],
    ['underscore Content_Length', 'Content_Length: 5\r\n', 400, 'request.bad_framing'],
  ];
  for (const [label, fields, status, code] of cases) {
    // Sent as UTF-8: the look-alike names arrive as multi-byte sequences, as an attacker sends them.
    await refused(`POST / HTTP/1.1\r\n${H}${fields}\r\n${body}`, status, code, label);
  }
  const raw = up.rawBytes();
  assert.ok(!raw.includes('/smuggled'));
  assert.ok(!/transfer_encoding|content_length/i.test(raw), 'an underscore framing twin never reaches the upstream');
});

// ---------------------------------------------------------------------------------------------
// Row 4: GET/HEAD with a body, odd Expect → 400 (our choice), no separate request upstream.

test('row 4: GET or HEAD with a body is refused, the body is never read as a request', async () => {
  const smuggle = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;
  await refused(`GET / HTTP/1.1\r\n${H}Content-Length: ${smuggle.length}\r\n\r\n${smuggle}`, 400, 'request.bad_framing', 'GET + CL');
  const chunk = smuggle.length.toString(16);
  await refused(`GET / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${chunk}\r\n${smuggle}\r\n0\r\n\r\n`, 400, 'request.bad_framing', 'GET + chunked');
  // HEAD: the answer has no body by definition, so only status, id and the close are visible.
  const n = up.requests.length;
  const r = await rawRequest(gh.port, `HEAD / HTTP/1.1\r\n${H}Content-Length: ${smuggle.length}\r\n\r\n${smuggle}`);
  assert.equal(r.status, 400);
  assert.match(String(r.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  assert.equal(r.headers['connection'], 'close');
  assert.equal(r.closed, true);
  await settle();
  assert.equal(up.requests.length, n);
  assert.ok(!up.rawBytes().includes('/smuggled'));
});

test('row 4: Expect: 100-continue works (100 first, then the forwarded answer)', async () => {
  const n = up.requests.length;
  const text = await new Promise<string>((resolve, reject) => {
    const s = net.connect(gh.port, '127.0.0.1');
    let buf = '';
    let sentBody = false;
    s.on('connect', () => s.write(`POST /expect HTTP/1.1\r\n${H}Content-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (!sentBody && buf.includes('\r\n\r\n')) {
        sentBody = true;
        // The body only after the interim response, as a real client would.
        assert.match(buf, /^HTTP\/1\.1 100 Continue\r\n\r\n/);
        s.write('hello');
      }
    });
    const hard = setTimeout(() => s.destroy(), 5000);
    s.on('close', () => {
      clearTimeout(hard);
      resolve(buf);
    });
    s.on('error', reject);
  });
  const [cont, final] = splitResponses(text);
  assert.equal(cont?.status, 100);
  assert.equal(final?.status, 200);
  assert.equal(up.requests.length, n + 1);
  const rec = up.requests[n]!;
  assert.equal(rec.url, '/expect');
  assert.equal(rec.body.toString(), 'hello');
  assert.equal(rec.headers['expect'], undefined, 'Expect is hop-by-hop here: Node answered it');
});

test('row 4: an odd Expect is answered 417 and nothing is forwarded', async () => {
  await refused(`POST / HTTP/1.1\r\n${H}Expect: foo\r\nContent-Length: 2\r\n\r\nhi`, 417, 'request.expectation_failed', 'Expect: foo');
  await refused(`POST / HTTP/1.1\r\n${H}Expect: 100-continue, foo\r\nContent-Length: 2\r\n\r\nhi`, 417, 'request.expectation_failed', 'Expect list');
});

// ---------------------------------------------------------------------------------------------
// Row 5: pipelined requests: each handled on its own, answered in order, only good ones forwarded.

test('row 5: two pipelined requests in one write are answered in order, each forwarded once', async () => {
  const n = up.requests.length;
  const r = await rawRequest(gh.port, `GET /p1 HTTP/1.1\r\n${H}\r\nGET /p2 HTTP/1.1\r\n${H}\r\n`);
  const res = splitResponses(r.text);
  assert.deepEqual(res.map((x) => x.status), [200, 200]);
  assert.deepEqual(res.map((x) => (JSON.parse(x.body) as { url: string }).url), ['/p1', '/p2']);
  assert.equal(r.closed, false);
  await settle();
  assert.deepEqual(up.requests.slice(n).map((x) => x.url), ['/p1', '/p2']);
});

test('row 5: a bad pipelined request is refused on its own; the good ones around it are served', async () => {
  const n = up.requests.length;
  const r = await rawRequest(gh.port, `GET /q1 HTTP/1.1\r\n${H}\r\nGET /q2%2f..%2fadmin HTTP/1.1\r\n${H}\r\nGET /q3 HTTP/1.1\r\n${H}\r\n`);
  const res = splitResponses(r.text);
  assert.deepEqual(res.map((x) => x.status), [200, 400, 200], r.text);
  assertProblem({ ...res[1]!, closed: false }, 400, 'request.bad_path', false, 'second');
  assert.equal(r.closed, false);
  await settle();
  assert.deepEqual(up.requests.slice(n).map((x) => x.url), ['/q1', '/q3']);
});

test('row 5: a pipelined request the parser refuses is answered after the good one, then close', async () => {
  const n = up.requests.length;
  const bytes = up.rawBytes().length;
  const r = await rawRequest(gh.port, `GET /r1 HTTP/1.1\r\n${H}\r\nGET /r2 HTTP/1.1\r\n${H}X-A: a\u0000b\r\n\r\nGET /r3 HTTP/1.1\r\n${H}\r\n`);
  const res = splitResponses(r.text);
  assert.deepEqual(res.map((x) => x.status), [200, 400], r.text);
  assert.equal((JSON.parse(res[0]!.body) as { url: string }).url, '/r1');
  assertProblem({ ...res[1]!, closed: true }, 400, 'request.bad_request', true, 'second');
  assert.equal(r.closed, true);
  await settle();
  assert.deepEqual(up.requests.slice(n).map((x) => x.url), ['/r1']);
  assert.ok(!up.rawBytes().slice(bytes).includes('/r2'));
  assert.ok(!up.rawBytes().slice(bytes).includes('/r3'));
});

// ---------------------------------------------------------------------------------------------
// Row 6: chunk framing errors → 400 (413 for oversize), close; the headers may have gone upstream
// (streaming), but the upstream request is then aborted and no second request follows.

test('row 6: chunk framing errors are refused; the upstream request is aborted, no second request', async () => {
  const { u, seen } = await startTrackingUpstream();
  const g = await startGateway(simpleSpec(u.url, {}, { limits: SHORT_TIMEOUTS }));
  try {
    const smuggle = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;
    const cases: Array<[string, string, number]> = [
      ['bad chunk size hex', `zz\r\nhello\r\n0\r\n\r\n${smuggle}`, 400],
      ['chunk size with 0x', `0x5\r\nhello\r\n0\r\n\r\n${smuggle}`, 400],
      ['negative chunk size', `-5\r\nhello\r\n0\r\n\r\n${smuggle}`, 400],
      ['chunk size overflow', `${'f'.repeat(20)}\r\nhello\r\n0\r\n\r\n${smuggle}`, 400],
      ['missing CRLF after chunk data', `5\r\nhello${smuggle}`, 400],
      ['bare LF after chunk size', `5\nhello\r\n0\r\n\r\n${smuggle}`, 400],
      ['chunk longer than declared', `3\r\nhello\r\n0\r\n\r\n${smuggle}`, 400],
      ['chunk extension flood (80 KiB)', `5;${'a=b;'.repeat(20_000)}\r\nhello\r\n0\r\n\r\n${smuggle}`, 413],
    ];
    for (const [label, body, status] of cases) {
      const before = seen.length;
      const r = await rawRequest(g.port, `POST /chunks HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${body}`);
      assertProblem(r, status, 'request.bad_framing', true, label);
      // At most the one (aborted) request; never completed, never a second one.
      await settle(100);
      await waitFor(() => seen.slice(before).every((x) => x.aborted), 3000, `${label}: upstream abort`);
      const mine = seen.slice(before);
      assert.ok(mine.length <= 1, `${label}: no second request upstream`);
      assert.ok(mine.every((x) => !x.completed && x.url === '/chunks'), `${label}: not completed upstream`);
    }
    await settle(100);
    assert.ok(seen.every((x) => x.aborted && !x.completed), 'every upstream request was aborted');
    assert.ok(!u.rawBytes().includes('/smuggled'));
    assert.ok(!/\r\n0\r\n\r\n/.test(u.rawBytes()), 'no upstream body was terminated');
  } finally {
    await g.stop();
    await u.close();
  }
});

// SECURITY.md asks for 4 KiB per chunk line; Node's parser caps chunk extensions at 16 KiB per line
// (HPE_CHUNK_EXTENSIONS_OVERFLOW) and the cap is not configurable from JavaScript. This pins the
// bound we do enforce; the gap to 4 KiB is listed in ROADMAP.md.
test('row 6: a chunk line just over the 16 KiB parser cap is refused with 413', async () => {
  await refused(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;${'a'.repeat(17 * 1024)}\r\nhello\r\n0\r\n\r\n`, 413, 'request.bad_framing', '17 KiB chunk extension');
});

// ---------------------------------------------------------------------------------------------
// Row 7: bare CR / bare LF / NUL / CTL in the start line or fields → 400, nothing, close.

test('row 7: bare CR, NUL and control characters are refused', async () => {
  const cases: Array<[string, string]> = [
    ['bare CR in a header value', `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`],
    ['bare CR ending a header line', `GET / HTTP/1.1\r\n${H}X-A: a\rX-B: b\r\n\r\n`],
    ['NUL in a header value', `GET / HTTP/1.1\r\n${H}X-A: a\u0000b\r\n\r\n`],
    ['DEL in a header value', `GET / HTTP/1.1\r\n${H}X-A: a\u007fb\r\n\r\n`],
    ['control char in a header value', `GET / HTTP/1.1\r\n${H}X-A: a\u0001b\r\n\r\n`],
    ['NUL in a header name', `GET / HTTP/1.1\r\n${H}X-\u0000A: b\r\n\r\n`],
    ['CTL in the target', `GET /\u0001 HTTP/1.1\r\n${H}\r\n`],
    ['NUL in the target', `GET /a\u0000b HTTP/1.1\r\n${H}\r\n`],
    ['CTL in the method', `G\u0001T / HTTP/1.1\r\n${H}\r\n`],
    ['bare CR in the start line', `GET / HTTP/1.1\rX-A: b\r\n${H}\r\n`],
    ['TAB in the target', `GET /a\tb HTTP/1.1\r\n${H}\r\n`],
  ];
  for (const [label, payload] of cases) await refused(payload, 400, /^request\.(bad_request|bad_path)$/, label);
});

test('row 7: bare LF line endings are refused (Node 20 parses strictly; the table would allow CRLF-only forwarding)', async () => {
  // Node 20's llhttp rejects a bare LF after the version ("Expected CRLF after version") and after
  // a header value ("Missing expected CR after header value"). The table also allows accepting
  // them if the upstream then sees CRLF only: both outcomes are checked in full.
  const cases: Array<[string, string]> = [
    ['all lines LF', `GET /lf HTTP/1.1\nHost: gw.test\nX-A: b\n\n`],
    ['request line LF', `GET /lf HTTP/1.1\n${H}\r\n`],
    ['one header line LF', `GET /lf HTTP/1.1\r\nHost: gw.test\nX-A: b\r\n\r\n`],
    ['final empty line LF', `GET /lf HTTP/1.1\r\n${H}X-A: b\r\n\n`],
  ];
  for (const [label, payload] of cases) {
    const n = up.requests.length;
    const bytes = up.rawBytes().length;
    const r = await rawRequest(gh.port, payload);
    if (r.status === 400) {
      assertProblem(r, 400, /^request\.(bad_request|bad_framing)$/, true, label);
      await settle();
      assert.equal(up.requests.length, n, label);
      assert.equal(up.rawBytes().slice(bytes), '', label);
    } else {
      assert.equal(r.status, 200, `${label}: either refused or served`);
      const sent = up.rawBytes().slice(bytes);
      assert.ok(!/(^|[^\r])\n/.test(sent), `${label}: upstream sees CRLF line endings only`);
    }
  }
});
