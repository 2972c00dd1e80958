import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generateKey, hashKey, parseKey, ID_LENGTH, SECRET_LENGTH, CHECKSUM_LENGTH, MAX_KEY_LENGTH } from './key-format.js';

test('a generated key has the visible prefix, a 12-char id, >=128 bits of base62 secret and a checksum', () => {
  const k = generateKey();
  assert.match(k.key, /^gh_[0-9a-z]{12}_[0-9A-Za-z]{38}$/);
  assert.equal(k.key.length, 3 + ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH);
  assert.ok(SECRET_LENGTH * Math.log2(62) >= 128);
  assert.equal(k.key.slice(3, 15), k.id);
  assert.deepEqual(parseKey(k.key), { id: k.id, key: k.key });
  assert.equal(k.hash, `sha256:${createHash('sha256').update(k.key).digest('hex')}`);
  assert.equal(hashKey(k.key), k.hash);
});

test('keys are distinct and the random source is used without modulo bias (bytes >= 248 are skipped)', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(generateKey().key);
  assert.equal(seen.size, 200);
  // A source that only yields 255 then 1 must still produce only '1's: 255 is rejected for base62 (limit 248).
  const k = generateKey((n) => Buffer.from(Array.from({ length: n }, (_, i) => (i % 2 ? 1 : 255))));
  assert.match(k.key, /^gh_1{12}_1{32}/);
});

test('malformed keys are refused before any lookup', () => {
  const { key } = generateKey();
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  for (const bad of [
    '',
    'gh_',
    key.slice(1), // prefix
    key.replace('gh_', 'GH_'),
    key.replace(/^gh_[0-9a-z]+_/, 'gh_abc_'), // id too short
    key.replace(/^gh_/, 'gh_ABCDEFGH').replace(/^(gh_[A-Za-z0-9]+)_/, '$1_'), // upper-case id
    flip(key, 20), // secret changed: checksum fails
    flip(key, key.length - 1), // checksum changed
    key + 'A',
    key.slice(0, -1),
    key.slice(0, 16) + 'a-b' + key.slice(19),
    key + ',' + key,
    `gh_${'a'.repeat(12)}_${'A'.repeat(MAX_KEY_LENGTH)}`,
    `gh_${'a'.repeat(12)}_${'A'.repeat(10)}`, // secret too short (< 128 bits)
  ]) {
    assert.equal(parseKey(bad), undefined, `accepted ${JSON.stringify(bad.slice(0, 40))}`);
  }
});

test('single-character mutations of a valid key never parse as another key; random input never throws', () => {
  const { key } = generateKey();
  const chars = 'abcXYZ019_-,. ';
  for (let i = 0; i < key.length; i++) {
    for (const c of chars) {
      if (c === key[i]) continue;
      const m = key.slice(0, i) + c + key.slice(i + 1);
      const p = parseKey(m);
      // CRC-32 catches every single-character change.
      assert.equal(p, undefined, `mutation at ${i} to ${JSON.stringify(c)} parsed`);
    }
  }
  let seed = 3;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  for (let i = 0; i < 5000; i++) {
    let s = rnd(3) === 0 ? 'gh_' : '';
    for (let j = rnd(80); j > 0; j--) s += String.fromCharCode(32 + rnd(95));
    parseKey(s);
  }
});
