// SECURITY.md goal table rows 15-17: oversize request line / header section / field count,
// oversize bodies (declared and streamed), slow clients and connection floods. Limits are
// shortened in the config so the suite stays fast; deadlines are generous, never tight.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTrackingUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, startProxied, simpleSpec, type TestGateway } from '../helpers/gateway.js';
import { rawRequest, parse, type RawResult } from '../helpers/raw.js';
import { assertProblem, assertRefused } from '../helpers/problem.js';
import { settle, waitFor } from '../helpers/wait.js';

const H = 'Host: gw.test\r\n';
const LIMITS = {
  header_timeout: '500ms',
  request_timeout: '1s',
  idle_timeout: '2s',
  max_header_count: 20,
  max_header_bytes: '4KiB',
  max_uri_bytes: '1KiB',
  max_body_bytes: '1KiB',
};

let up: TestUpstream;
let gh: TestGateway;
let stop: () => Promise<void>;
before(async () => ({ up, gh, stop } = await startProxied({ limits: LIMITS })));
after(() => stop());

/** Sends a payload that must be refused and closed, with nothing at all forwarded upstream. */
const refused = (payload: string, status: number, code: string, label: string): Promise<RawResult> =>
  assertRefused(gh.port, up, payload, status, code, label);

/** A fresh request is still served promptly (the "probe" of row 17). */
async function probe(port: number): Promise<void> {
  const t0 = Date.now();
  const r = await rawRequest(port, `GET /probe HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, { timeoutMs: 4000 });
  assert.equal(r.status, 200, `probe: ${r.text.slice(0, 200)}`);
  assert.ok(Date.now() - t0 < 2000, `probe served in ${Date.now() - t0} ms (budget 2 s)`);
}

/** A raw connection kept open by the test: write when you like, see what came back and when it closed. */
function openConn(port: number) {
  const s = net.connect(port, '127.0.0.1');
  const state = { text: '', closedAt: 0, connected: false };
  const ready = new Promise<void>((resolve) => s.on('connect', () => {
    state.connected = true;
    resolve();
  }));
  s.on('data', (d) => (state.text += d.toString('latin1')));
  s.on('close', () => (state.closedAt = Date.now()));
  s.on('error', () => undefined);
  const closed = (ms: number) =>
    new Promise<boolean>((resolve) => {
      if (state.closedAt) return resolve(true);
      const t = setTimeout(() => resolve(false), ms);
      s.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
  return { s, state, ready, closed, result: () => parse(state.text, state.closedAt !== 0) };
}

// ---------------------------------------------------------------------------------------------
// Row 15: oversize line / header section / field count → 431 (414 for the URI), nothing, close.

test('row 15: more header fields than max_header_count → 431', async () => {
  const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-F${i}: v\r\n`).join('');
  // Host + 19 = 20 fields: at the limit, served.
  const ok = await rawRequest(gh.port, `GET /count HTTP/1.1\r\n${H}${fields(19)}\r\n`);
  assert.equal(ok.status, 200, ok.text.slice(0, 200));
  await refused(`GET /count HTTP/1.1\r\n${H}${fields(20)}\r\n`, 431, 'request.headers_too_large', '21 fields');
  await refused(`GET /count HTTP/1.1\r\n${H}${fields(500)}\r\n`, 431, 'request.headers_too_large', '501 fields');
  // Node counts trailers separately; a body can't be used to get more fields in either.
  await refused(`GET /count HTTP/1.1\r\n${H}${'X-Same: v\r\n'.repeat(25)}\r\n`, 431, 'request.headers_too_large', '25 repeats of one name');
});

test('row 15: a header section larger than max_header_bytes → 431', async () => {
  await refused(`GET /big HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(5000)}\r\n\r\n`, 431, 'request.headers_too_large', 'one 5 KB field');
  await refused(`GET /big HTTP/1.1\r\n${H}${`X-A: ${'b'.repeat(300)}\r\n`.repeat(15)}\r\n`, 431, 'request.headers_too_large', '15 x 300 B fields');
  // Never terminated: refused when the limit is crossed (431), not at the header timeout (408).
  await refused(`GET /big HTTP/1.1\r\n${H}X-Big: ${'c'.repeat(10_000)}`, 431, 'request.headers_too_large', 'unterminated 10 KB field');
});

test('row 15: a URI longer than max_uri_bytes → 414', async () => {
  await refused(`GET /${'u'.repeat(2000)} HTTP/1.1\r\n${H}\r\n`, 414, 'request.uri_too_long', '2 KB path');
  await refused(`GET /q?${'x=1&'.repeat(500)} HTTP/1.1\r\n${H}\r\n`, 414, 'request.uri_too_long', '2 KB query');
});

// ---------------------------------------------------------------------------------------------
// Row 16: oversize body → 413 within 3 s; nothing forwarded (declared) / upstream aborted (streamed).

test('row 16: a declared body over max_body_bytes is refused before it is sent', async () => {
  const n = up.requests.length;
  const bytes = up.rawBytes().length;
  const c = openConn(gh.port);
  await c.ready;
  const t0 = Date.now();
  // Only the head: the answer must not wait for a body that was never sent.
  c.s.write(`POST /upload HTTP/1.1\r\n${H}Content-Type: application/octet-stream\r\nContent-Length: 10000000\r\n\r\n`);
  assert.ok(await c.closed(3000), 'closed within 3 s');
  assert.ok(Date.now() - t0 < 3000);
  assertProblem(c.result(), 413, 'request.body_too_large', true, 'declared 10 MB');
  await settle(50);
  assert.equal(up.requests.length, n);
  assert.equal(up.rawBytes().slice(bytes), '');
});

test('row 16: a chunked body that grows past max_body_bytes → 413 and the upstream request is aborted', async () => {
  const { u, seen } = await startTrackingUpstream();
  const g = await startGateway(simpleSpec(u.url, {}, { limits: LIMITS }));
  try {
    const c = openConn(g.port);
    await c.ready;
    const t0 = Date.now();
    c.s.write(`POST /stream HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`);
    // 512 B chunks, one every 50 ms: the limit (1 KiB) is crossed by the third.
    for (let i = 0; i < 8 && !c.state.closedAt; i++) {
      c.s.write(`200\r\n${'z'.repeat(512)}\r\n`);
      await settle(50);
    }
    assert.ok(await c.closed(3000), 'client connection closed');
    assert.ok(Date.now() - t0 < 3500, 'within 3 s of crossing the limit');
    const r = c.result();
    if (r.status !== 0) assertProblem(r, 413, 'request.body_too_large', true, 'streamed');
    else assert.equal(r.text, '', 'either a 413 or a cut before any response byte');
    await waitFor(() => seen.length === 1 && seen[0]!.aborted, 3000, 'upstream abort');
    assert.equal(seen[0]!.completed, false, 'the upstream never saw the body end');
    assert.ok(seen[0]!.bytes <= 1024, `upstream got at most the limit (${seen[0]!.bytes} B)`);
    assert.ok(!/\r\n0\r\n\r\n/.test(u.rawBytes()), 'no terminating chunk upstream');
    await probe(g.port);
  } finally {
    await g.stop();
    await u.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Row 17: slow headers / slow body / connection floods → 408 or close within budget; a fresh
// probe still served in ≤ 2 s; nothing partial forwarded.

test('row 17: slow headers → 408 and close within the header timeout; the probe is still served', async () => {
  const n = up.requests.length;
  const bytes = up.rawBytes().length;
  for (const partial of ['GET /slow HTT', `GET /slow HTTP/1.1\r\n${H}X-Drip: a`]) {
    const c = openConn(gh.port);
    await c.ready;
    const t0 = Date.now();
    c.s.write(partial);
    assert.ok(await c.closed(5000), `closed (${JSON.stringify(partial)})`);
    const took = Date.now() - t0;
    assert.ok(took < 5000, `closed in ${took} ms`);
    assertProblem(c.result(), 408, 'request.timeout', true, partial);
    await probe(gh.port);
  }
  // A byte-by-byte drip of the header section does not reset the header timeout.
  const c = openConn(gh.port);
  await c.ready;
  const t0 = Date.now();
  const head = `GET /drip HTTP/1.1\r\n${H}X-Drip: ${'d'.repeat(200)}\r\n\r\n`;
  for (let i = 0; i < head.length && !c.state.closedAt; i++) {
    c.s.write(head[i]!);
    await settle(25);
  }
  assert.ok(await c.closed(5000), 'drip closed');
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(c.result().status, 408);
  await settle(50);
  assert.deepEqual(up.requests.slice(n).map((r) => r.url).filter((u) => u !== '/probe'), [], 'only probes reached the upstream');
  assert.ok(!up.rawBytes().slice(bytes).includes('/slow') && !up.rawBytes().slice(bytes).includes('/drip'));
  await probe(gh.port);
});

test('row 17: slow body → closed within the request timeout, the upstream request aborted', async () => {
  const { u, seen } = await startTrackingUpstream();
  const g = await startGateway(simpleSpec(u.url, {}, { limits: LIMITS }));
  try {
    // Declared 100, sent 10, then silence.
    const c = openConn(g.port);
    await c.ready;
    const t0 = Date.now();
    c.s.write(`POST /rudy HTTP/1.1\r\n${H}Content-Length: 100\r\n\r\n${'x'.repeat(10)}`);
    assert.ok(await c.closed(5000), 'closed');
    assert.ok(Date.now() - t0 < 5000, `closed in ${Date.now() - t0} ms`);
    assertProblem(c.result(), 408, 'request.timeout', true, 'slow body');
    await waitFor(() => seen.length === 1 && seen[0]!.aborted, 3000, 'upstream abort');
    assert.equal(seen[0]!.completed, false);
    await probe(g.port);

    // The same with `Connection: close`: the client's own close request changes nothing.
    const cc = openConn(g.port);
    await cc.ready;
    const tc = Date.now();
    cc.s.write(`POST /rudy-close HTTP/1.1\r\n${H}Connection: close\r\nContent-Length: 100\r\n\r\n${'x'.repeat(10)}`);
    assert.ok(await cc.closed(5000), 'closed (Connection: close)');
    assert.ok(Date.now() - tc < 5000);
    assertProblem(cc.result(), 408, 'request.timeout', true, 'slow body, Connection: close');
    const rc = () => seen.filter((x) => x.url === '/rudy-close');
    await waitFor(() => rc().length === 1 && rc()[0]!.aborted, 3000, 'upstream abort (Connection: close)');

    // A drip (one byte every 100 ms) never completes either: request_timeout is a total budget.
    const d = openConn(g.port);
    await d.ready;
    const t1 = Date.now();
    d.s.write(`POST /drip HTTP/1.1\r\n${H}Content-Length: 100\r\n\r\n`);
    for (let i = 0; i < 100 && !d.state.closedAt && Date.now() - t1 < 6000; i++) {
      d.s.write('y');
      await settle(100);
    }
    assert.ok(await d.closed(5000), 'drip closed');
    assert.ok(d.state.closedAt - t1 < 5000, `drip closed in ${d.state.closedAt - t1} ms`);
    const drip = () => seen.filter((x) => x.url === '/drip');
    await waitFor(() => drip().length === 1 && drip()[0]!.aborted, 3000, 'upstream abort (drip)');
    assert.equal(drip()[0]!.completed, false);
    await probe(g.port);
  } finally {
    await g.stop();
    await u.close();
  }
});

test('row 17: per-IP connection cap: the 6th concurrent connection is refused, the first 5 keep working', async () => {
  const g = await startGateway(simpleSpec(up.url, {}, { limits: { ...LIMITS, idle_timeout: '10s', max_connections_per_ip: 5 } }));
  try {
    const conns = Array.from({ length: 5 }, () => openConn(g.port));
    await Promise.all(conns.map((c) => c.ready));
    for (const c of conns) c.s.write(`GET /held HTTP/1.1\r\n${H}\r\n`);
    await waitFor(() => conns.every((c) => c.state.text.includes('\r\n\r\n')), 3000, 'five answers');
    assert.ok(conns.every((c) => c.result().status === 200));

    const sixth = openConn(g.port);
    sixth.s.on('connect', () => sixth.s.write(`GET /sixth HTTP/1.1\r\n${H}\r\n`));
    assert.ok(await sixth.closed(3000), 'the 6th connection is closed');
    assert.equal(sixth.state.text, '', 'and never answered');

    // The five still work.
    for (const c of conns) c.state.text = '';
    for (const c of conns) c.s.write(`GET /again HTTP/1.1\r\n${H}\r\n`);
    await waitFor(() => conns.every((c) => c.state.text.includes('\r\n\r\n')), 3000, 'five second answers');
    assert.ok(conns.every((c) => c.result().status === 200 && !c.state.closedAt));
    assert.ok(!up.requests.some((r) => r.url === '/sixth'));

    // Once one is released, a new connection is admitted again.
    conns[0]!.s.destroy();
    await settle(300);
    await probe(g.port);
    for (const c of conns) c.s.destroy();
  } finally {
    await g.stop();
  }
});

test('row 17: max_requests_per_connection: the 3rd answer carries Connection: close', async () => {
  const g = await startGateway(simpleSpec(up.url, {}, { limits: { ...LIMITS, max_requests_per_connection: 3 } }));
  try {
    const c = openConn(g.port);
    await c.ready;
    const answers: RawResult[] = [];
    for (let i = 1; i <= 3; i++) {
      c.state.text = '';
      c.s.write(`GET /n${i} HTTP/1.1\r\n${H}\r\n`);
      await waitFor(() => {
        const r = c.result();
        return r.status !== 0 && r.body.length >= Number(r.headers['content-length'] ?? 0);
      }, 3000, `answer ${i}`);
      answers.push(c.result());
    }
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
    assert.notEqual(answers[0]!.headers['connection']?.toLowerCase(), 'close');
    assert.notEqual(answers[1]!.headers['connection']?.toLowerCase(), 'close');
    assert.equal(answers[2]!.headers['connection']?.toLowerCase(), 'close');
    assert.ok(await c.closed(3000), 'the gateway closes after the 3rd answer');
  } finally {
    await g.stop();
  }
});
