import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteMatchConfig, StringMatchConfig } from '../config/schema.js';
import type { MatchInput, RouteEntry, RouteHit } from './types.js';
import { Router, findShadowedRoutes } from './router.js';
import { compileMatch, matchRoute } from './match.js';

const input = (r: Partial<Omit<MatchInput, 'header'>> & { headers?: Record<string, string> }): MatchInput => ({
  host: r.host ?? 'example.com',
  method: r.method ?? 'GET',
  path: r.path ?? '/',
  query: r.query ?? '',
  header: (name) => r.headers?.[name],
});
const routes = (...matches: (RouteMatchConfig | undefined)[]): RouteEntry<string>[] =>
  matches.map((match, i) => ({ match, value: `r${i}` }));

describe('Router', () => {
  it('returns undefined when nothing matches', () => {
    assert.equal(new Router([]).match(input({})), undefined);
    assert.equal(new Router(routes({ path: { exact: '/a' } })).match(input({ path: '/b' })), undefined);
  });

  it('first match wins, in declared order', () => {
    const router = new Router(routes({ path: { prefix: '/api' } }, { path: { prefix: '/api/v1' } }, undefined));
    assert.equal(router.match(input({ path: '/api/v1/x' }))?.value, 'r0');
    assert.equal(router.match(input({ path: '/other' }))?.value, 'r2');
    const reversed = new Router(routes({ path: { prefix: '/api/v1' } }, { path: { prefix: '/api' } }));
    assert.equal(reversed.match(input({ path: '/api/v1/x' }))?.value, 'r0');
    assert.equal(reversed.match(input({ path: '/api/v2' }))?.value, 'r1');
  });

  it('returns template parameters, and undefined params for other routes', () => {
    const router = new Router(routes({ path: { template: '/users/{id}' } }, { path: { prefix: '/' } }));
    const hit = router.match(input({ path: '/users/7' }));
    assert.equal(hit?.value, 'r0');
    assert.deepEqual({ ...hit?.params }, { id: '7' });
    const other = router.match(input({ path: '/x' }));
    assert.deepEqual(other, { value: 'r1', params: undefined });
  });

  it('keeps declared order across exact, wildcard and any-host routes', () => {
    const router = new Router(
      routes(
        { host: ['*.example.com'], path: { prefix: '/wild' } },
        { host: ['api.example.com'], path: { prefix: '/' } },
        { path: { prefix: '/any' } },
        { host: ['*.example.com'] },
        undefined,
      ),
    );
    assert.equal(router.match(input({ host: 'api.example.com', path: '/wild/x' }))?.value, 'r0');
    assert.equal(router.match(input({ host: 'api.example.com', path: '/any' }))?.value, 'r1');
    assert.equal(router.match(input({ host: 'www.example.com', path: '/any' }))?.value, 'r2');
    assert.equal(router.match(input({ host: 'www.example.com', path: '/x' }))?.value, 'r3');
    assert.equal(router.match(input({ host: 'example.com', path: '/x' }))?.value, 'r4');
  });

  it('selects on methods, headers and query', () => {
    const router = new Router(
      routes(
        { methods: ['POST'], path: { prefix: '/' } },
        { headers: [{ name: 'x-canary', exact: '1' }] },
        { query: [{ name: 'v', exact: '2' }] },
        { query: [{ name: 'v', present: true }] },
        undefined,
      ),
    );
    assert.equal(router.match(input({ method: 'POST' }))?.value, 'r0');
    assert.equal(router.match(input({ headers: { 'x-canary': '1' } }))?.value, 'r1');
    assert.equal(router.match(input({ query: 'v=2' }))?.value, 'r2');
    assert.equal(router.match(input({ query: 'v=3' }))?.value, 'r3');
    assert.equal(router.match(input({ query: 'v=%zz' }))?.value, 'r4');
    assert.equal(router.match(input({}))?.value, 'r4');
  });

  it('throws at construction on an invalid pattern', () => {
    assert.throws(() => new Router(routes({ host: ['a*b.com'] })), /invalid host/);
    assert.throws(() => new Router(routes({ path: { template: '/{a}{b}' } })), /template/);
  });
});

// --- Randomized properties over a small universe, so that overlaps are frequent. ---

/** mulberry32: a seeded PRNG, so that any failure reproduces. */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const some = <T>(xs: readonly T[], p: number): T[] => xs.filter(() => next() < p);
  return { next, pick, some };
}
type Rng = ReturnType<typeof rng>;

const HOST_PATTERNS = ['a.com', 'b.com', 'x.a.com', 'y.x.a.com', '*.a.com', '*.x.a.com', '*'];
const HOSTS = ['a.com', 'b.com', 'x.a.com', 'y.x.a.com', 'z.y.x.a.com', 'q.a.com', 'c.com'];
const PATH_CONFIGS = [
  { exact: '/' }, { exact: '/api' }, { exact: '/api/v1' }, { exact: '/api/v1/' }, { exact: '/admin/x' },
  { prefix: '/' }, { prefix: '/api' }, { prefix: '/api/' }, { prefix: '/api/v1' }, { prefix: '/api/v1/' },
  { prefix: '/admin' }, { prefix: '/x' },
  { template: '/api/{v}' }, { template: '/api/{v}/{rest*}' }, { template: '/{a}' }, { template: '/{rest*}' },
  { template: '/api/v1/{id}' }, { template: '/admin/{rest*}' }, { template: '/{a}/v1' }, { template: '/{a}/{b}/' },
  { template: '/api/v1' }, { template: '/' },
];
const PATHS = [
  '/', '/api', '/api/', '/api/v1', '/api/v1/', '/api/v1/7', '/api/v1/7/', '/api/v2/x/y', '/admin', '/admin/',
  '/admin/x', '/administrator', '/x', '/x/y', '/x/v1', '/apix', '/q/r/',
];
const METHODS = ['GET', 'POST', 'PUT'];
const VALUES = ['1', '12', '2', ''];

function randomStringMatch(r: Rng, names: readonly string[]): StringMatchConfig {
  const m: StringMatchConfig = { name: r.pick(names) };
  const kind = r.next();
  if (kind < 0.3) m.exact = r.pick(VALUES);
  else if (kind < 0.55) m.prefix = r.pick(VALUES);
  else if (kind < 0.75) m.present = r.next() < 0.5;
  return m;
}

function randomMatch(r: Rng): RouteMatchConfig | undefined {
  if (r.next() < 0.05) return undefined;
  const m: RouteMatchConfig = {};
  if (r.next() < 0.5) m.host = r.some(HOST_PATTERNS, 0.3);
  if (r.next() < 0.8) m.path = r.pick(PATH_CONFIGS);
  if (r.next() < 0.3) m.methods = r.some(METHODS, 0.5);
  if (r.next() < 0.25) m.headers = [randomStringMatch(r, ['x-a', 'x-b'])];
  if (r.next() < 0.25) m.query = [randomStringMatch(r, ['a', 'b'])];
  return m;
}

function randomInput(r: Rng): MatchInput {
  const headers: Record<string, string> = {};
  for (const name of ['x-a', 'x-b']) if (r.next() < 0.5) headers[name] = r.pick(VALUES);
  const query = r.some(['a=1', 'a=12', 'b=2', 'b', 'a=2', 'b=%zz', 'a=1'], 0.3).join('&');
  return input({ host: r.pick(HOSTS), method: r.pick(METHODS), path: r.pick(PATHS), query, headers });
}

/** The reference semantics: try every route in declared order, no index. */
function linearScan<R>(entries: readonly RouteEntry<R>[]): (req: MatchInput) => RouteHit<R> | undefined {
  const compiled = entries.map((e) => ({ match: compileMatch(e.match), value: e.value }));
  return (req) => {
    for (const c of compiled) {
      const params = matchRoute(c.match, req, undefined);
      if (params !== null) return { value: c.value, params };
    }
    return undefined;
  };
}

const plain = (hit: RouteHit<string> | undefined) => hit && { value: hit.value, params: hit.params && { ...hit.params } };

describe('Router properties', () => {
  it('the host index picks exactly what a linear scan in declared order picks', () => {
    const r = rng(0x5eed);
    let hits = 0;
    for (let config = 0; config < 300; config++) {
      const entries = routes(...Array.from({ length: 1 + Math.floor(r.next() * 12) }, () => randomMatch(r)));
      const router = new Router(entries);
      const linear = linearScan(entries);
      for (let req = 0; req < 100; req++) {
        const i = randomInput(r);
        const expected = linear(i);
        if (expected) hits++;
        assert.deepEqual(plain(router.match(i)), plain(expected), JSON.stringify({ entries, i, q: i.query }));
      }
    }
    assert.ok(hits > 5_000, `the generator should produce plenty of hits (got ${hits})`);
  });

  it('a route reported as shadowed never wins against the route that shadows it', () => {
    const r = rng(0xbadc0de);
    let reported = 0;
    for (let n = 0; n < 3000; n++) {
      const entries = routes(randomMatch(r), randomMatch(r));
      const shadowed = findShadowedRoutes(entries);
      if (shadowed.length === 0) continue;
      reported++;
      assert.deepEqual(shadowed, [{ index: 1, shadowedBy: 0 }]);
      const [earlier, later] = entries.map((e) => compileMatch(e.match));
      for (let req = 0; req < 200; req++) {
        const i = randomInput(r);
        if (matchRoute(later!, i, undefined) !== null) {
          assert.notEqual(matchRoute(earlier!, i, undefined), null, JSON.stringify({ entries, i, q: i.query }));
        }
      }
    }
    assert.ok(reported > 100, `the generator should produce shadowed pairs (got ${reported})`);
  });
});
