import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSanPatterns } from './san-pattern.js';

test('exact values and * within one segment (SPIFFE ids, DNS names)', () => {
  const m = compileSanPatterns(['spiffe://example.org/ns/*/sa/*', 'api.example.com', '*.clients.example.com', 'svc-*-prod'], 'p');
  for (const ok of [
    'spiffe://example.org/ns/prod/sa/web',
    'spiffe://example.org/ns/a/sa/b.c',
    'api.example.com',
    'a.clients.example.com',
    'a.b.clients.example.com',
    'svc-pay-prod',
    'svc-a-b-prod',
  ]) assert.equal(m.test(ok), true, ok);
  for (const no of [
    'spiffe://example.org/ns/prod/sa/web/extra', // * never crosses /
    'spiffe://example.org/ns//sa/web', // * is one or more characters
    'spiffe://example.org/ns/prod/sa/',
    'spiffe://example.org/ns/prod/x/sa/web',
    'spiffe://evil.org/ns/prod/sa/web',
    'spiffe://example.org.evil/ns/prod/sa/web',
    'API.example.com',
    'clients.example.com',
    '.clients.example.com',
    'a.clients.example.com.evil',
    'svc--prod',
    'svc-prod',
    '',
  ]) assert.equal(m.test(no), false, no);
});

test('pieces are matched at their earliest fit without backtracking, and overlapping ends do not match', () => {
  const m = compileSanPatterns(['a*b*c', 'ab*ba'], 'p');
  assert.equal(m.test('axbyc'), true);
  assert.equal(m.test('abbbc'), true);
  assert.equal(m.test('abc'), false);
  assert.equal(m.test('aba'), false);
  assert.equal(m.test('abxba'), true);
  // Linear on long hostile input.
  const long = compileSanPatterns(['*a*a*a*a*a*b'], 'p');
  const start = performance.now();
  assert.equal(long.test('a'.repeat(100_000)), false);
  assert.ok(performance.now() - start < 200);
});

test('config errors: empty pattern, **', () => {
  assert.throws(() => compileSanPatterns([''], 'mtls.allowed_sans'), /mtls\.allowed_sans\[0\]: empty pattern/);
  assert.throws(() => compileSanPatterns(['spiffe://x/**'], 'mtls.allowed_sans'), /"\*\*" is not supported/);
});

test('agrees with a reference regular expression on random patterns and values', () => {
  // Reference semantics, test-only: * = [^/]+ , everything else literal.
  const ref = (p: string) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]+')}$`);
  const alphabet = ['a', 'b', '/', '.'];
  let seed = 42;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const word = (len: number, withStar: boolean) => {
    let s = '';
    for (let i = 0; i < len; i++) s += withStar && rnd(4) === 0 ? '*' : alphabet[rnd(alphabet.length)];
    return s;
  };
  for (let i = 0; i < 3000; i++) {
    const p = word(1 + rnd(7), true);
    if (p.includes('**')) continue;
    const m = compileSanPatterns([p], 'p');
    const r = ref(p);
    for (let j = 0; j < 20; j++) {
      const v = word(rnd(10), false);
      assert.equal(m.test(v), r.test(v), `pattern ${JSON.stringify(p)} value ${JSON.stringify(v)}`);
    }
  }
});
