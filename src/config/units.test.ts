import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseSize } from './units.js';

test('parseDuration reads every unit the schema allows', () => {
  assert.equal(parseDuration(250), 250);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('1.5s'), 1_500);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('0s'), 0);
  assert.equal(parseDuration('0.0004s'), 0); // rounded to whole milliseconds
});

test('parseDuration rejects what the schema rejects', () => {
  for (const bad of ['10', '10 s', '1d', '-1s', 's', '1.s', '', '1e3ms']) assert.throws(() => parseDuration(bad), RangeError, bad);
  for (const bad of [-1, 1.5, Number.NaN, Infinity]) assert.throws(() => parseDuration(bad), RangeError, String(bad));
});

test('parseSize uses 1000 for KB/MB/GB and 1024 for KiB/MiB/GiB', () => {
  assert.equal(parseSize(512), 512);
  assert.equal(parseSize('512B'), 512);
  assert.equal(parseSize('1KB'), 1_000);
  assert.equal(parseSize('60KiB'), 61_440);
  assert.equal(parseSize('10MB'), 10_000_000);
  assert.equal(parseSize('10MiB'), 10_485_760);
  assert.equal(parseSize('2GB'), 2_000_000_000);
  assert.equal(parseSize('2GiB'), 2_147_483_648);
});

test('parseSize rejects bad units, fractions and overflow', () => {
  for (const bad of ['1kb', '1K', '1.5MiB', '10', 'MiB', '1 MiB', '']) assert.throws(() => parseSize(bad), RangeError, bad);
  assert.throws(() => parseSize('99999999999GiB'), /too large/);
  assert.throws(() => parseSize(-1), RangeError);
});
