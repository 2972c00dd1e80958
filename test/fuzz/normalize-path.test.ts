// Property tests for normalizePath on random targets. Deterministic (seeded), bounded in count
// so it stays a unit-speed test; raise FUZZ_ITERATIONS locally for a longer run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath } from '../../src/routing/normalize-path.js';
import { rng } from '../helpers/prng.js';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 20_000);
const LIMIT = 256;

// Tokens weighted towards what the normalizer has rules for. Half the targets use only tokens it
// accepts (so the output properties are exercised often), half add hostile ones and raw bytes.
const VALID_TOKENS = [
  '/', '/', '/', '//', '.', '..', '/./', '/../', '%2e', '%2E', '%25', '%41', '%7e', '%c3%a9', '%C0%AE', '%20',
  'a', 'b', 'Z', '0', '-', '_', '~', '?', '&', '=', '{', '}', ':', '@', '+', "'", '*',
];
const HOSTILE_TOKENS = ['%', '%2f', '%5c', '%00', '%3B', '%zz', '%2', '#', ';', '\\', ' ', '\t'];
function randomTarget(next: () => number): string {
  const hostile = next() < 0.5;
  let s = next() < 0.95 ? '/' : '';
  const parts = Math.floor(next() * 24);
  for (let i = 0; i < parts; i++) {
    const r = next();
    if (!hostile || r < 0.75) s += VALID_TOKENS[Math.floor(next() * VALID_TOKENS.length)];
    else if (r < 0.85) s += HOSTILE_TOKENS[Math.floor(next() * HOSTILE_TOKENS.length)];
    else if (r < 0.95) s += String.fromCharCode(Math.floor(next() * 256)); // any byte, as in Node's latin1 req.url
    else s += '%' + Math.floor(next() * 256).toString(16).padStart(2, '0');
  }
  return s;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

function checkCanonical(path: string, from: string): void {
  const where = JSON.stringify({ from, path });
  assert.equal(path[0], '/', where);
  assert.ok(!path.includes('//'), where);
  for (const seg of path.split('/')) assert.ok(seg !== '.' && seg !== '..', where);
  assert.ok(!/[\x00-\x20\x7f-\uffff\\;#?]/.test(path), where);
  for (const m of path.matchAll(/%(..)/g)) {
    assert.match(m[1]!, /^[0-9A-F]{2}$/, where);
    const ch = String.fromCharCode(parseInt(m[1]!, 16));
    assert.ok(!UNRESERVED.test(ch), `encoded unreserved character in ${where}`);
    assert.ok(!['/', '\\', ';'].includes(ch) && ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f, where);
  }
}

describe('normalizePath (fuzz)', () => {
  it(`${ITERATIONS} random targets: never throws; output canonical and idempotent`, () => {
    const next = rng(20240501);
    let accepted = 0;
    let slowPath = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const target = randomTarget(next);
      const r = normalizePath(target, LIMIT);
      if (!r.ok) {
        assert.ok(r.code === 'request.bad_path' || r.code === 'request.uri_too_long');
        continue;
      }
      accepted++;
      const q = target.indexOf('?');
      if (r.path !== (q === -1 ? target : target.slice(0, q))) slowPath++;
      assert.equal(r.query, q === -1 ? '' : target.slice(q + 1));
      checkCanonical(r.path, target);
      const again = normalizePath(r.path, LIMIT);
      assert.ok(again.ok && again.path === r.path && again.query === '', JSON.stringify({ target, path: r.path }));
    }
    // Guard the generator itself: a change that made nearly everything rejected would pass vacuously.
    assert.ok(accepted > ITERATIONS / 5, `accepted ${accepted}`);
    assert.ok(slowPath > ITERATIONS / 20, `changed ${slowPath}`);
  });

  it('agrees with a literal transcription of RFC 3986 5.2.4, once slashes are merged', () => {
    // (Node 20's own URL parser is no oracle here: it leaves '/b/.a/../x' unresolved.)
    const next = rng(7);
    const alphabet = ['a', '.', '/', '/', '..', '%2e', '%2E'];
    for (let i = 0; i < ITERATIONS / 4; i++) {
      let target = '/';
      const n = Math.floor(next() * 16);
      for (let j = 0; j < n; j++) target += alphabet[Math.floor(next() * alphabet.length)];
      const r = normalizePath(target, LIMIT);
      assert.ok(r.ok);
      const expected = removeDotSegments(target.replace(/%2e/gi, '.')).replace(/\/{2,}/g, '/') || '/';
      assert.equal(r.path, expected, target);
    }
  });

  it('regression seeds', () => {
    const seeds: Array<[string, string | null]> = [
      ['//..//x', '/x'],
      ['/%2e%2e//%2e%2e/x', '/x'],
      ['/.%2e/.%2E/%2e./x/', '/x/'],
      ['/a/%2e%2e%2f', null],
      ['/%%32%65', null],
      ['/%252e%252e/', '/%252e%252e/'],
      ['/a/b/c/%2e%2e/%2e%2e/%2e%2e/%2e%2e', '/'],
      ['/a/..%00/', null],
      ['/\u00ff', null],
    ];
    for (const [target, want] of seeds) {
      const r = normalizePath(target, LIMIT);
      assert.deepEqual(r.ok ? r.path : null, want, target);
    }
  });
});

/** RFC 3986 section 5.2.4, step by step as written there; slow and obviously faithful. */
function removeDotSegments(path: string): string {
  let input = path;
  let output = '';
  const dropLastSegment = () => {
    output = output.slice(0, Math.max(0, output.lastIndexOf('/')));
  };
  while (input !== '') {
    if (input.startsWith('../')) input = input.slice(3);
    else if (input.startsWith('./')) input = input.slice(2);
    else if (input.startsWith('/./')) input = input.slice(2);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../')) {
      input = input.slice(3);
      dropLastSegment();
    } else if (input === '/..') {
      input = '/';
      dropLastSegment();
    } else if (input === '.' || input === '..') input = '';
    else {
      const next = input.indexOf('/', 1);
      const seg = next === -1 ? input : input.slice(0, next);
      output += seg;
      input = input.slice(seg.length);
    }
  }
  return output;
}
