// The access-log line builder writes most values unescaped (they were validated upstream of it)
// and formats durations by hand: both shortcuts must still produce valid JSON with exact values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccessLog, formatAccessLine, isoTime, type AccessFields } from './access-log.js';
import type { RequestContext } from '../pipeline/context.js';

const fieldsOf = (c: RequestContext): AccessFields => ({
  id: c.id, traceId: c.traceId, clientIp: c.clientIp, method: c.method, host: c.host, path: c.path, route: c.route, endpoint: c.endpoint,
  status: c.status, code: c.code, bytesIn: c.bytesIn, bytesOut: c.bytesOut, start: c.start, upstreamStart: c.upstreamStart,
  upstreamHeadersAt: c.upstreamHeadersAt, decisions: c.decisions,
});
import { makeCtx } from '../../test/helpers/make-ctx.js';

test('durations: microsecond resolution, the same number as rounding, valid JSON', () => {
  const cases: [number, string][] = [
    [0, '0.000'],
    [0.0004, '0.000'],
    [0.0005, '0.001'],
    [0.9995, '1.000'],
    [1.2, '1.200'],
    [12.3456, '12.346'],
    [999.9999, '1000.000'],
    // A WebSocket open for three days: no 32-bit overflow.
    [3 * 86_400_000 + 0.25, '259200000.250'],
  ];
  for (const [ms, want] of cases) {
    // A request that started at 0 and closed at `ms`, so the duration is exactly `ms`.
    const f: AccessFields = { ...fieldsOf(makeCtx({})), start: 0 };
    const line = formatAccessLine(f, ms, Date.now());
    const got = /"duration_ms":([^,]+),/.exec(line)![1];
    assert.equal(got, want, `duration ${ms}`);
    assert.equal(JSON.parse(line).duration_ms, Math.round(ms * 1000) / 1000);
  }
});

test('isoTime matches Date#toISOString across second boundaries', () => {
  for (const ms of [Date.UTC(2026, 10, 30, 7, 0, 0, 0), Date.UTC(2026, 10, 30, 7, 0, 0, 7), Date.UTC(2026, 10, 30, 7, 0, 0, 42), Date.UTC(2026, 10, 30, 7, 0, 1, 999)]) {
    assert.equal(isoTime(ms), new Date(ms).toISOString());
  }
});

test('an access line is one JSON object; a path with quotes, backslashes and non-ASCII is escaped', () => {
  const ctx = makeCtx({ method: 'POST', path: '/a"b\\c/\u00e9\u0001', host: 'api.example.com' });
  ctx.status = 201;
  ctx.bytesIn = 5;
  ctx.bytesOut = 7;
  const line = formatAccessLine(ctx, ctx.start + 1.5, Date.UTC(2026, 10, 30, 7, 0, 0, 5));
  assert.ok(line.endsWith('}\n'));
  const j = JSON.parse(line);
  assert.equal(j.path, '/a"b\\c/\u00e9\u0001');
  assert.equal(j.method, 'POST');
  assert.equal(j.host, 'api.example.com');
  assert.equal(j.request_id, 'test-request-id');
  assert.equal(j.duration_ms, 1.5);
  assert.equal(j.upstream_ms, null);
  assert.equal(j.time, '2026-11-30T07:00:00.005Z');
  assert.equal(j.status, 201);
});

test('batched lines: every request and refusal is written, in order, with the values it had when it closed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-alog-'));
  const file = join(dir, 'access.log');
  const log = createAccessLog({ enabled: true, path: file });
  // More than one formatting batch (256), with a refusal in the middle.
  for (let i = 0; i < 600; i++) {
    if (i === 300) log.writeRefusal({ id: 'refused-1', clientIp: '10.0.0.9', method: undefined, status: 400, code: 'request.bad_request' });
    const ctx = makeCtx({ path: `/r/${i}` });
    ctx.status = 200 + (i % 3);
    log.write(ctx, ctx.start + 1);
    // The context is reused by nobody, but a later change to it must not rewrite the line.
    ctx.status = 599;
  }
  await log.flush();
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 601);
  const parsed = lines.map((l) => JSON.parse(l));
  assert.equal(parsed[300].request_id, 'refused-1');
  assert.equal(parsed[300].status, 400);
  const requests = parsed.filter((_, i) => i !== 300);
  requests.forEach((j, i) => {
    assert.equal(j.path, `/r/${i}`);
    assert.equal(j.status, 200 + (i % 3));
    assert.equal(j.duration_ms, 1);
  });
  rmSync(dir, { recursive: true, force: true });
});

test('batched lines: a lone line reaches the file on its own, without a flush', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-alog-'));
  const file = join(dir, 'access.log');
  const log = createAccessLog({ enabled: true, path: file });
  log.write(makeCtx({ path: '/lonely' }), performance.now());
  // Generous deadline: the batch timers are 50 ms + a write; this only proves no flush is needed.
  const deadline = Date.now() + 5000;
  let text = '';
  while (Date.now() < deadline) {
    text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (text.includes('/lonely')) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.match(text, /"path":"\/lonely"/);
  await log.flush();
  rmSync(dir, { recursive: true, force: true });
});

test('an access line with every optional field set: route, cluster, endpoint, code, upstream time, trace id, decisions', () => {
  const ctx = makeCtx({ method: 'GET', path: '/orders/7', host: 'api.example.com' });
  ctx.route = { name: 'orders', cluster: { name: 'orders-svc' } } as unknown as typeof ctx.route;
  ctx.endpoint = 'http://10.0.0.5:8080';
  ctx.status = 503;
  ctx.code = 'upstream.overflow';
  ctx.bytesOut = 12_345_678;
  ctx.traceId = '0af7651916cd43dd8448eb211c80319c';
  ctx.upstreamStart = ctx.start + 0.25;
  ctx.upstreamHeadersAt = ctx.start + 2.125;
  ctx.recordDecision({ filter: 'authz', allowed: false, code: 'authz.explicit_deny', policy: 'p', statement: 's1', enforced: true });
  const j = JSON.parse(formatAccessLine(ctx, ctx.start + 3.0004, Date.UTC(2026, 10, 30, 7, 0, 59, 999)));
  assert.deepEqual(j, {
    time: '2026-11-30T07:00:59.999Z',
    request_id: 'test-request-id',
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    client_ip: '127.0.0.1',
    method: 'GET',
    host: 'api.example.com',
    path: '/orders/7',
    route: 'orders',
    cluster: 'orders-svc',
    endpoint: 'http://10.0.0.5:8080',
    status: 503,
    code: 'upstream.overflow',
    bytes_in: 0,
    bytes_out: 12_345_678,
    duration_ms: 3,
    upstream_ms: 1.875,
    decisions: [{ filter: 'authz', allowed: false, code: 'authz.explicit_deny', policy: 'p', statement: 's1', enforced: true }],
  });
});

test('an access line bigger than the encoder\'s buffer, with escapes, non-ASCII and counts past 2^32', () => {
  // 8,000 characters of path (the default URI limit's order) against a 1 KiB starting buffer.
  const path = `/files/${'é"\\\u0001/'.repeat(1600)}`;
  const ctx = makeCtx({ path });
  ctx.status = 206;
  ctx.bytesIn = 2 ** 32 + 7;
  ctx.bytesOut = Number.MAX_SAFE_INTEGER;
  const j = JSON.parse(formatAccessLine(ctx, ctx.start, Date.UTC(2026, 10, 30, 7, 0, 0, 0)));
  assert.equal(j.path, path);
  assert.equal(j.status, 206);
  assert.equal(j.bytes_in, 2 ** 32 + 7);
  assert.equal(j.bytes_out, Number.MAX_SAFE_INTEGER);
  assert.equal(j.duration_ms, 0);
  assert.equal(j.time, '2026-11-30T07:00:00.000Z');
});
