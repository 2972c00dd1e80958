// SECURITY.md goal table rows 8-11: request line (method, version, target), Host, CONNECT and
// path ambiguity against a protected prefix. Raw bytes over a socket; recording upstreams prove
// what was forwarded, and to which cluster.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, SHORT_TIMEOUTS, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';
import { assertProblem } from '../helpers/problem.js';
import { settle } from '../helpers/wait.js';

const H = 'Host: gw.test\r\n';

/** `pub` serves the catch-all route, `adm` only the protected /admin prefix. */
let pub: TestUpstream;
let adm: TestUpstream;
let gh: TestGateway;

before(async () => {
  pub = await startUpstream();
  adm = await startUpstream();
  gh = await startGateway({
    routes: [
      { name: 'admin', match: { path: { prefix: '/admin' } }, cluster: 'admin' },
      { name: 'public', match: { path: { prefix: '/' } }, cluster: 'pub' },
    ],
    clusters: [
      { name: 'admin', endpoints: [adm.url] },
      { name: 'pub', endpoints: [pub.url] },
    ],
    limits: SHORT_TIMEOUTS,
  });
});
after(async () => {
  await gh.stop();
  await pub.close();
  await adm.close();
});

function snapshot() {
  return { p: pub.requests.length, a: adm.requests.length, pb: pub.rawBytes().length, ab: adm.rawBytes().length };
}
async function assertNothingForwarded(s: ReturnType<typeof snapshot>, label: string): Promise<void> {
  await settle();
  assert.equal(pub.requests.length, s.p, `${label}: nothing to the public cluster`);
  assert.equal(adm.requests.length, s.a, `${label}: nothing to the admin cluster`);
  assert.equal(pub.rawBytes().slice(s.pb) + adm.rawBytes().slice(s.ab), '', `${label}: not one byte upstream`);
}

/** After the first response byte, how long silence must last to count as "kept open". */
const QUIET_MS = 150;

async function refused(payload: string, status: number, code: string | RegExp, label: string, closed = true): Promise<void> {
  const s = snapshot();
  const r = await rawRequest(gh.port, payload, { quietMs: QUIET_MS });
  assertProblem(r, status, code, closed, label);
  await assertNothingForwarded(s, label);
}

// ---------------------------------------------------------------------------------------------
// Row 8: invalid method / version / target / HTTP/0.9 / h2 preface → 400/405/501/505, close.

test('row 8: invalid methods and request targets are refused', async () => {
  const cases: Array<[string, string]> = [
    ['method with a delimiter', `G(T / HTTP/1.1\r\n${H}\r\n`],
    ['lower-case method', `get / HTTP/1.1\r\n${H}\r\n`],
    ['unknown method', `FOO / HTTP/1.1\r\n${H}\r\n`],
    ['method with a space', `GE T / HTTP/1.1\r\n${H}\r\n`],
    ['empty method', ` / HTTP/1.1\r\n${H}\r\n`],
    ['space in the target', `GET /a b HTTP/1.1\r\n${H}\r\n`],
    ['asterisk form on GET', `GET * HTTP/1.1\r\n${H}\r\n`],
    ['trailing space after version', `GET / HTTP/1.1 \r\n${H}\r\n`],
    ['version without dot', `GET / HTTP/11\r\n${H}\r\n`],
    ['lower-case protocol', `GET / http/1.1\r\n${H}\r\n`],
  ];
  for (const [label, payload] of cases) await refused(payload, 400, /^request\.(bad_request|bad_path)$/, label);
});

test('row 8: unsupported HTTP versions, HTTP/0.9 and the h2 preface are refused', async () => {
  const cases: Array<[string, string, number]> = [
    ['HTTP/2.0 request line', `GET / HTTP/2.0\r\n${H}\r\n`, 505],
    ['HTTP/2.0 with a body', `POST / HTTP/2.0\r\n${H}Content-Length: 3\r\n\r\nabc`, 505],
    ['HTTP/2.0 upgrade', `GET / HTTP/2.0\r\n${H}Connection: upgrade\r\nUpgrade: websocket\r\n\r\n`, 505],
    ['HTTP/1.2', `GET / HTTP/1.2\r\n${H}\r\n`, 505],
    ['HTTP/3.0', `GET / HTTP/3.0\r\n${H}\r\n`, 505],
    ['HTTP/0.9 version-less request line', `GET /\r\n\r\n`, 505],
    ['HTTP/0.9 version-less request line with fields', `GET /\r\n${H}\r\n`, 505],
    ['explicit HTTP/0.9', `GET / HTTP/0.9\r\n${H}\r\n`, 505],
    ['h2 connection preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505],
  ];
  for (const [label, payload, status] of cases) await refused(payload, status, 'request.version_not_supported', label);
});

test('row 8: a bare HTTP/0.9 line with nothing after it is closed within the header timeout', async () => {
  // llhttp reads `GET /\r\n` as a version-less start line and waits for the header section, so
  // the only signal before the header timeout is silence; then 408 and close.
  const s = snapshot();
  const t0 = Date.now();
  const r = await rawRequest(gh.port, 'GET /\r\n', { timeoutMs: 8000, quietMs: 5000 });
  assert.ok(Date.now() - t0 < 5000, 'closed within the budget');
  assertProblem(r, 408, 'request.timeout', true, 'GET /');
  await assertNothingForwarded(s, 'GET /');
});

test('row 8: TRACE is refused with 405 and never forwarded', async () => {
  await refused(`TRACE / HTTP/1.1\r\n${H}\r\n`, 405, 'request.method_not_allowed', 'TRACE');
  await refused(`TRACE /admin HTTP/1.1\r\n${H}Max-Forwards: 0\r\n\r\n`, 405, 'request.method_not_allowed', 'TRACE /admin');
});

// ---------------------------------------------------------------------------------------------
// Row 9: Host missing, duplicated, list, userinfo, empty, mismatching absolute-form → 400, close.

test('row 9: bad Host headers are refused', async () => {
  const cases: Array<[string, string]> = [
    ['missing Host (HTTP/1.1)', 'GET / HTTP/1.1\r\n\r\n'],
    ['missing Host (HTTP/1.0)', 'GET / HTTP/1.0\r\n\r\n'],
    ['duplicate Host, same value', `GET / HTTP/1.1\r\n${H}${H}\r\n`],
    ['duplicate Host, different values', `GET / HTTP/1.1\r\n${H}Host: evil.test\r\n\r\n`],
    ['Host list', 'GET / HTTP/1.1\r\nHost: gw.test, evil.test\r\n\r\n'],
    ['Host with userinfo', 'GET / HTTP/1.1\r\nHost: user@evil.test\r\n\r\n'],
    ['Host with userinfo and allowed host', 'GET / HTTP/1.1\r\nHost: gw.test@evil.test\r\n\r\n'],
    ['empty Host', 'GET / HTTP/1.1\r\nHost: \r\n\r\n'],
    ['Host with a path', 'GET / HTTP/1.1\r\nHost: gw.test/admin\r\n\r\n'],
    ['Host with a bad port', 'GET / HTTP/1.1\r\nHost: gw.test:80x\r\n\r\n'],
    ['Host with a space', 'GET / HTTP/1.1\r\nHost: gw .test\r\n\r\n'],
    ['absolute-form to another host', `GET http://other.example/ HTTP/1.1\r\n${H}\r\n`],
    ['absolute-form with userinfo', `GET http://user@gw.test/ HTTP/1.1\r\n${H}\r\n`],
    ['absolute-form, other scheme', `GET ftp://gw.test/ HTTP/1.1\r\n${H}\r\n`],
  ];
  for (const [label, payload] of cases) await refused(payload, 400, /^request\.(bad_host|bad_path|bad_request)$/, label);
});

test('row 9: absolute-form naming our own Host is served like origin-form', async () => {
  const s = snapshot();
  const r = await rawRequest(gh.port, `GET http://GW.test:80/x?y=1 HTTP/1.1\r\n${H}\r\n`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.closed, false);
  await settle();
  assert.equal(pub.requests.length, s.p + 1);
  const rec = pub.requests.at(-1)!;
  assert.equal(rec.url, '/x?y=1', 'origin-form upstream');
  assert.equal(rec.headers.host, 'gw.test');
  // Absolute-form routes on the same normalized path as origin-form: /admin goes to the admin cluster.
  const r2 = await rawRequest(gh.port, `GET http://gw.test/admin/../admin/k HTTP/1.1\r\n${H}\r\n`);
  assert.equal(r2.status, 200);
  await settle();
  assert.equal(adm.requests.at(-1)?.url, '/admin/k');
});

// ---------------------------------------------------------------------------------------------
// Row 10: CONNECT → 405, nothing, close.

test('row 10: CONNECT is refused and never tunnelled', async () => {
  await refused('CONNECT other.example:443 HTTP/1.1\r\nHost: other.example:443\r\n\r\n', 405, 'request.method_not_allowed', 'CONNECT authority-form');
  await refused(`CONNECT gw.test:80 HTTP/1.1\r\n${H}\r\nGET /admin HTTP/1.1\r\n${H}\r\n`, 405, 'request.method_not_allowed', 'CONNECT then a tunnelled request');
  await refused(`CONNECT /admin HTTP/1.1\r\n${H}\r\n`, 405, 'request.method_not_allowed', 'CONNECT origin-form');
});

// ---------------------------------------------------------------------------------------------
// Row 11: path ambiguity against a protected prefix: routing sees the same canonical path that is
// forwarded; ambiguous encodings are refused (keep-alive).

test('row 11: dot segments and encodings resolve before routing; the forwarded path is the routed path', async () => {
  const cases: Array<[string, 'admin' | 'pub', string]> = [
    ['/admin/../public', 'pub', '/public'],
    ['/public/../admin', 'admin', '/admin'],
    ['/public/../admin/users', 'admin', '/admin/users'],
    ['/public/%2e%2e/admin', 'admin', '/admin'],
    ['/public/%2E%2E/admin', 'admin', '/admin'],
    ['/public/.%2e/admin', 'admin', '/admin'],
    ['/%61dmin', 'admin', '/admin'],
    ['/%61dmin/x', 'admin', '/admin/x'],
    ['//admin', 'admin', '/admin'],
    ['/./admin', 'admin', '/admin'],
    ['/admin/./x/..', 'admin', '/admin/'],
    ['/ADMIN', 'pub', '/ADMIN'],
    ['/Admin/x', 'pub', '/Admin/x'],
    ['/administrator', 'pub', '/administrator'],
    ['/admin-panel', 'pub', '/admin-panel'],
    ['/../admin', 'admin', '/admin'],
  ];
  const s = snapshot();
  // Concurrently, one connection each; a `case` query parameter ties each upstream request to its case.
  const answers = await Promise.all(cases.map(([target], i) => rawRequest(gh.port, `GET ${target}?case=${i} HTTP/1.1\r\n${H}\r\n`, { quietMs: 300 })));
  await settle();
  const got = new Map<string, { cluster: string; url: string }>();
  for (const rec of adm.requests.slice(s.a)) got.set(/case=(\d+)/.exec(rec.url)![1]!, { cluster: 'admin', url: rec.url });
  for (const rec of pub.requests.slice(s.p)) got.set(/case=(\d+)/.exec(rec.url)![1]!, { cluster: 'pub', url: rec.url });
  assert.equal(adm.requests.length - s.a + pub.requests.length - s.p, cases.length, 'each case forwarded exactly once');
  cases.forEach(([target, cluster, url], i) => {
    assert.equal(answers[i]!.status, 200, `${target}: ${answers[i]!.text.slice(0, 200)}`);
    assert.equal(answers[i]!.closed, false, `${target}: keep-alive`);
    assert.equal(got.get(String(i))?.cluster, cluster, `${target}: cluster`);
    assert.equal(got.get(String(i))?.url, `${url}?case=${i}`, `${target}: forwarded path`);
  });
});

test('row 11: encodings a backend could read as another path are refused', async () => {
  const cases = [
    '/admin%2f..', '/admin%2f..%2fpublic', '/public%2f..%2fadmin', '/public/..%2fadmin', '/public%5c..%5cadmin',
    '/public\\..\\admin', '/admin;jsessionid=x', '/public/..;/admin', '/admin%00', '/admin%', '/admin%zz', '/admin#frag',
  ];
  const s = snapshot();
  const answers = await Promise.all(cases.map((target) => rawRequest(gh.port, `GET ${target} HTTP/1.1\r\n${H}\r\n`, { quietMs: 300 })));
  cases.forEach((target, i) => assertProblem(answers[i]!, 400, 'request.bad_path', false, target));
  await assertNothingForwarded(s, 'ambiguous paths');
});
