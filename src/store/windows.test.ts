import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuotaWindow, isTimeZone } from './windows.js';

const iso = (t: number) => new Date(t).toISOString();

test('UTC day, week (Monday first) and month windows', () => {
  const t = Date.UTC(2026, 1, 18, 15, 30); // Wednesday 2026-02-18
  const day = new QuotaWindow('day');
  assert.equal(iso(day.start(t)), '2026-02-18T00:00:00.000Z');
  assert.equal(iso(day.end(t)), '2026-02-19T00:00:00.000Z');
  const week = new QuotaWindow('week');
  assert.equal(iso(week.start(t)), '2026-02-16T00:00:00.000Z');
  assert.equal(iso(week.end(t)), '2026-02-23T00:00:00.000Z');
  const month = new QuotaWindow('month');
  assert.equal(iso(month.start(t)), '2026-02-01T00:00:00.000Z');
  assert.equal(iso(month.end(t)), '2026-03-01T00:00:00.000Z');
  assert.deepEqual(month.around(t).map(iso), ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z']);
});

test('time zones follow local midnight, including 23- and 25-hour days across DST', () => {
  const berlin = new QuotaWindow('day', 'Europe/Berlin');
  const spring = Date.UTC(2026, 2, 29, 12); // DST starts 2026-03-29 in the EU
  assert.equal(iso(berlin.start(spring)), '2026-03-28T23:00:00.000Z');
  assert.equal(berlin.end(spring) - berlin.start(spring), 23 * 3600_000);
  const autumn = Date.UTC(2026, 9, 25, 12); // DST ends 2026-10-25
  assert.equal(iso(berlin.start(autumn)), '2026-10-24T22:00:00.000Z');
  assert.equal(berlin.end(autumn) - berlin.start(autumn), 25 * 3600_000);
  const ny = new QuotaWindow('month', 'America/New_York');
  assert.equal(iso(ny.start(Date.UTC(2026, 6, 1, 3))), '2026-06-01T04:00:00.000Z', '23:00 on June 30 in New York is still June');
});

test('offsets shift the boundary: days from 06:00, weeks from Sunday', () => {
  const d = new QuotaWindow('day', 'UTC', 6 * 3600_000);
  assert.equal(iso(d.start(Date.UTC(2026, 0, 2, 5, 59))), '2026-01-01T06:00:00.000Z');
  assert.equal(iso(d.start(Date.UTC(2026, 0, 2, 6, 0))), '2026-01-02T06:00:00.000Z');
  const sunday = new QuotaWindow('week', 'UTC', 6 * 86_400_000);
  assert.equal(iso(sunday.start(Date.UTC(2026, 0, 7))), '2026-01-04T00:00:00.000Z'); // Wed → previous Sunday
  assert.equal(isTimeZone('Europe/Berlin'), true);
  assert.equal(isTimeZone('Mars/Olympus'), false);
});
