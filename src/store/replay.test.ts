import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryReplayCache } from './replay.js';

test('memory replay cache: seen within the TTL, forgotten after it', () => {
  let now = 1_000_000;
  const c = createMemoryReplayCache({ clock: { now: () => now } });
  assert.equal(c.seen('a', 1000), false);
  assert.equal(c.seen('a', 1000), true);
  now += 999;
  assert.equal(c.seen('a', 1000), true, 'still inside the first TTL');
  now += 2;
  assert.equal(c.seen('a', 1000), false, 'expired: recorded afresh');
  assert.equal(c.seen('a', 1000), true);
});

test('memory replay cache: expired entries are swept as new ones arrive', () => {
  let now = 0;
  const c = createMemoryReplayCache({ clock: { now: () => now } });
  for (let i = 0; i < 100; i++) c.seen(`k${i}`, 10);
  now = 100;
  for (let i = 0; i < 20; i++) c.seen(`n${i}`, 10);
  assert.ok(c.size < 100, `size ${c.size}`);
  assert.equal(c.evictions, 0);
});

test('memory replay cache: bounded; the oldest live entry goes first and is counted', () => {
  const c = createMemoryReplayCache({ clock: { now: () => 0 }, maxEntries: 3 });
  for (const k of ['a', 'b', 'c', 'd']) assert.equal(c.seen(k, 60_000), false);
  assert.equal(c.size, 3);
  assert.equal(c.evictions, 1);
  assert.equal(c.seen('d', 60_000), true);
  assert.equal(c.seen('a', 60_000), false, 'evicted: a replay the cache can no longer catch');
});
