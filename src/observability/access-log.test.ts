// The access-log line builder writes most values unescaped (they were validated upstream of it)
// and formats durations by hand: both shortcuts must still produce valid JSON with exact values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAccessLine, formatMs, isoTime } from './access-log.js';
import { makeCtx } from '../../test/helpers/make-ctx.js';

test('formatMs: microsecond resolution, the same number as rounding, valid JSON', () => {
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
    assert.equal(formatMs(ms), want, `formatMs(${ms})`);
    assert.equal(JSON.parse(formatMs(ms)), Math.round(ms * 1000) / 1000);
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
