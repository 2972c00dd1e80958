import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestId } from './request-id.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('request ids are version-4 UUIDs, unique across several refills of the random pool', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const id = requestId();
    assert.match(id, V4);
    seen.add(id);
  }
  assert.equal(seen.size, 2000);
});

test('request ids use every hex digit in every random position (not a fixed or short-cycle pattern)', () => {
  // 4000 ids: each random nibble position sees all 16 digits with overwhelming probability.
  const digits = Array.from({ length: 36 }, () => new Set<string>());
  for (let i = 0; i < 4000; i++) {
    const id = requestId();
    for (let j = 0; j < 36; j++) digits[j]!.add(id[j]!);
  }
  for (let j = 0; j < 36; j++) {
    if ([8, 13, 18, 23].includes(j)) assert.deepEqual([...digits[j]!], ['-']);
    else if (j === 14) assert.deepEqual([...digits[j]!], ['4']);
    else if (j === 19) assert.deepEqual([...digits[j]!].sort(), ['8', '9', 'a', 'b']);
    else assert.equal(digits[j]!.size, 16, `position ${j}`);
  }
});

test('an id is an independent string: the next call does not change an earlier one', () => {
  const a = requestId();
  const copy = `${a}`;
  for (let i = 0; i < 300; i++) requestId();
  assert.equal(a, copy);
});
