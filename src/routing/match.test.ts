import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteMatchConfig } from '../config/schema.js';
import type { MatchInput } from './types.js';
import { compileMatch, matchRoute } from './match.js';

interface Req {
  host?: string;
  method?: string;
  path?: string;
  query?: string;
  headers?: Record<string, string>;
}
const input = (r: Req): MatchInput => ({
  host: r.host ?? 'example.com',
  method: r.method ?? 'GET',
  path: r.path ?? '/',
  query: r.query ?? '',
  header: (name) => r.headers?.[name],
});
const matcher = (config: RouteMatchConfig | undefined) => {
  const m = compileMatch(config);
  return (r: Req) => matchRoute(m, input(r), undefined);
};
const matches = (config: RouteMatchConfig | undefined, r: Req) => matcher(config)(r) !== null;

describe('compileMatch / matchRoute', () => {
  it('matches everything without constraints', () => {
    assert.equal(matcher(undefined)({ path: '/x' }), undefined);
    assert.equal(matcher({})({ host: 'a.b', method: 'DELETE' }), undefined);
  });

  describe('host', () => {
    it('matches exact names case-insensitively through compile-time lower-casing', () => {
      const m = matcher({ host: ['API.Example.com', 'other.org.'] });
      assert.notEqual(m({ host: 'api.example.com' }), null);
      assert.notEqual(m({ host: 'other.org' }), null);
      assert.equal(m({ host: 'example.com' }), null);
      assert.equal(m({ host: 'xapi.example.com' }), null);
    });

    it('matches wildcards over one or more labels, never the bare domain (Envoy semantics)', () => {
      const m = matcher({ host: ['*.example.com'] });
      assert.notEqual(m({ host: 'a.example.com' }), null);
      assert.notEqual(m({ host: 'a.b.example.com' }), null);
      assert.equal(m({ host: 'example.com' }), null);
      assert.equal(m({ host: 'badexample.com' }), null);
      assert.equal(m({ host: 'a.example.com.evil' }), null);
    });

    it("treats '*' and an empty list as any host", () => {
      assert.ok(matches({ host: ['*'] }, { host: 'whatever.test' }));
      assert.ok(matches({ host: [] }, { host: 'whatever.test' }));
    });

    it('refuses patterns it could never match as written', () => {
      for (const h of ['', 'a*.example.com', 'foo.*', '*.', 'example.com:8080', 'a b', '*.[::1]', '**.example.com']) {
        assert.throws(() => compileMatch({ host: [h] }), /invalid host/, h);
      }
    });
  });

  describe('path', () => {
    it('exact', () => {
      const m = matcher({ path: { exact: '/a/b' } });
      assert.equal(m({ path: '/a/b' }), undefined);
      assert.equal(m({ path: '/a/b/' }), null);
      assert.equal(m({ path: '/a' }), null);
      assert.equal(m({ path: '/A/b' }), null, 'case-sensitive');
    });

    it('prefix on segment boundaries', () => {
      const admin = matcher({ path: { prefix: '/admin' } });
      for (const p of ['/admin', '/admin/', '/admin/x', '/admin/x/y']) assert.equal(admin({ path: p }), undefined, p);
      for (const p of ['/administrator', '/admin.php', '/adm', '/', '/Admin', '/x/admin']) assert.equal(admin({ path: p }), null, p);
    });

    it('a prefix with a trailing slash matches only below it', () => {
      const api = matcher({ path: { prefix: '/api/' } });
      assert.notEqual(api({ path: '/api/' }), null);
      assert.notEqual(api({ path: '/api/x' }), null);
      assert.equal(api({ path: '/api' }), null);
      assert.equal(api({ path: '/apix' }), null);
    });

    it("prefix '/' matches every path", () => {
      const all = matcher({ path: { prefix: '/' } });
      for (const p of ['/', '/a', '/a/b/']) assert.equal(all({ path: p }), undefined);
    });

    it('config paths are normalized like request paths', () => {
      assert.ok(matches({ path: { exact: '/caf%c3%a9' } }, { path: '/caf%C3%A9' }));
      assert.ok(matches({ path: { prefix: '/%61pi//v1' } }, { path: '/api/v1/x' }));
      assert.throws(() => compileMatch({ path: { prefix: '/a%2fb' } }), /invalid path/);
      assert.throws(() => compileMatch({ path: { exact: '/a?b' } }), /must not contain/);
    });

    it('needs exactly one of exact, prefix, template', () => {
      assert.throws(() => compileMatch({ path: {} }), /exactly one/);
      assert.throws(() => compileMatch({ path: { exact: '/a', prefix: '/a' } }), /exactly one/);
    });

    it('templates capture whole, non-empty segments', () => {
      const m = matcher({ path: { template: '/users/{id}/posts/{post}' } });
      assert.deepEqual({ ...m({ path: '/users/42/posts/7' }) }, { id: '42', post: '7' });
      assert.equal(m({ path: '/users/42/posts' }), null);
      assert.equal(m({ path: '/users/42/posts/' }), null, 'empty segment');
      assert.equal(m({ path: '/users/42/posts/7/' }), null, 'trailing slash');
      assert.equal(m({ path: '/users/42/posts/7/x' }), null);
      assert.equal(m({ path: '/Users/42/posts/7' }), null, 'case-sensitive');
      assert.equal(m({ path: '/users/4/2/posts/7' }), null);
    });

    it('a template without parameters still reports an (empty) params object', () => {
      const hit = matcher({ path: { template: '/health' } })({ path: '/health' });
      assert.ok(hit !== null && hit !== undefined);
      assert.deepEqual(Object.keys(hit), []);
    });

    it('a final {rest*} captures the remaining path, possibly empty', () => {
      const m = matcher({ path: { template: '/files/{bucket}/{key*}' } });
      assert.deepEqual({ ...m({ path: '/files/b/a/c.txt' }) }, { bucket: 'b', key: 'a/c.txt' });
      assert.deepEqual({ ...m({ path: '/files/b/dir/' }) }, { bucket: 'b', key: 'dir/' });
      assert.deepEqual({ ...m({ path: '/files/b/' }) }, { bucket: 'b', key: '' });
      assert.deepEqual({ ...m({ path: '/files/b' }) }, { bucket: 'b', key: '' });
      assert.equal(m({ path: '/files' }), null);
      assert.equal(m({ path: '/filesx/b' }), null);
      const all = matcher({ path: { template: '/{all*}' } });
      assert.deepEqual({ ...all({ path: '/' }) }, { all: '' });
      assert.deepEqual({ ...all({ path: '/a/b' }) }, { all: 'a/b' });
    });

    it('parameters named like Object.prototype members stay plain values', () => {
      const hit = matcher({ path: { template: '/{__proto__}/{constructor}' } })({ path: '/x/y' });
      assert.ok(hit);
      assert.equal(hit['__proto__'], 'x');
      assert.equal(hit['constructor'], 'y');
      assert.equal(hit['toString'], undefined);
    });

    it('refuses malformed templates', () => {
      for (const t of ['/u{id}', '/{id}x', '/{a}{b}', '/{}', '/{1x}', '/{a-b}', '/{rest*}/x', '/{a}/{a}', '/{a', '/a}']) {
        assert.throws(() => compileMatch({ path: { template: t } }), /template/, t);
      }
    });

    it('matches adversarial paths in linear time (no regex built from config)', () => {
      const m = matcher({ path: { template: '/{a}/{b}/{c}/{d}/x' } });
      const long = '/' + 'a/'.repeat(50_000);
      const start = performance.now();
      assert.equal(m({ path: long }), null);
      assert.ok(performance.now() - start < 100);
    });
  });

  it('methods', () => {
    const m = matcher({ methods: ['GET', 'POST'] });
    assert.ok(m({ method: 'GET' }) !== null);
    assert.ok(m({ method: 'POST' }) !== null);
    assert.equal(m({ method: 'HEAD' }), null);
    assert.equal(m({ method: 'get' }), null, 'methods are case-sensitive');
    assert.ok(matches({ methods: [] }, { method: 'PATCH' }), 'an empty list is no constraint');
  });

  describe('headers', () => {
    it('exact, prefix, present true/false; names are case-insensitive', () => {
      assert.ok(matches({ headers: [{ name: 'X-Env', exact: 'prod' }] }, { headers: { 'x-env': 'prod' } }));
      assert.ok(!matches({ headers: [{ name: 'X-Env', exact: 'prod' }] }, { headers: { 'x-env': 'prod2' } }));
      assert.ok(!matches({ headers: [{ name: 'x-env', exact: 'prod' }] }, {}));
      assert.ok(matches({ headers: [{ name: 'x-v', prefix: 'v2' }] }, { headers: { 'x-v': 'v2.1' } }));
      assert.ok(!matches({ headers: [{ name: 'x-v', prefix: 'v2' }] }, { headers: { 'x-v': 'v1' } }));
      assert.ok(matches({ headers: [{ name: 'x-a', present: true }] }, { headers: { 'x-a': '' } }));
      assert.ok(!matches({ headers: [{ name: 'x-a', present: true }] }, {}));
      assert.ok(matches({ headers: [{ name: 'x-a', present: false }] }, {}));
      assert.ok(!matches({ headers: [{ name: 'x-a', present: false }] }, { headers: { 'x-a': '1' } }));
    });

    it('requires presence when no condition is given', () => {
      assert.ok(matches({ headers: [{ name: 'x-a' }] }, { headers: { 'x-a': '' } }));
      assert.ok(!matches({ headers: [{ name: 'x-a' }] }, {}));
    });

    it('all matchers must hold', () => {
      const config = { headers: [{ name: 'a', exact: '1' }, { name: 'b', present: false }] };
      assert.ok(matches(config, { headers: { a: '1' } }));
      assert.ok(!matches(config, { headers: { a: '1', b: '2' } }));
      assert.ok(!matches(config, { headers: { b: '2' } }));
    });

    it('contradictory conditions never match', () => {
      assert.ok(!matches({ headers: [{ name: 'a', exact: '1', present: false }] }, {}));
      assert.ok(!matches({ headers: [{ name: 'a', exact: '1', present: false }] }, { headers: { a: '1' } }));
    });
  });

  describe('query', () => {
    it('exact, prefix, present true/false on decoded names and values', () => {
      const q = (config: RouteMatchConfig['query'], query: string) => matches({ query: config }, { query });
      assert.ok(q([{ name: 'v', exact: '2' }], 'a=1&v=2'));
      assert.ok(!q([{ name: 'v', exact: '2' }], 'v=3'));
      assert.ok(q([{ name: 'v', prefix: 'be' }], 'v=beta'));
      assert.ok(q([{ name: 'my key', exact: 'a/b c' }], 'my%20key=a%2Fb+c'));
      assert.ok(q([{ name: 'flag' }], 'flag'));
      assert.ok(q([{ name: 'flag', exact: '' }], 'x=1&flag'));
      assert.ok(!q([{ name: 'flag' }], 'flags=1'));
      assert.ok(q([{ name: 'debug', present: false }], 'a=1'));
      assert.ok(q([{ name: 'debug', present: false }], ''));
      assert.ok(!q([{ name: 'debug', present: false }], 'debug=0'));
      assert.ok(!q([{ name: 'V', exact: '2' }], 'v=2'), 'names are case-sensitive');
      assert.ok(q([{ name: 'v', exact: '2' }], '&&v=2&'));
    });

    it('a repeated parameter is present but matches no value', () => {
      const q = (config: RouteMatchConfig['query'], query: string) => matches({ query: config }, { query });
      assert.ok(!q([{ name: 'v', exact: '2' }], 'v=2&v=1'));
      assert.ok(!q([{ name: 'v', exact: '2' }], 'v=2&v=2'));
      assert.ok(!q([{ name: 'v', prefix: '' }], 'v=2&v=1'));
      assert.ok(q([{ name: 'v' }], 'v=2&v=1'));
      assert.ok(!q([{ name: 'v', present: false }], 'v=2&v=1'));
    });

    it('bad percent-encoding anywhere in the query fails every query matcher', () => {
      const q = (config: RouteMatchConfig['query'], query: string) => matches({ query: config }, { query });
      assert.ok(!q([{ name: 'v', exact: '2' }], 'v=2&x=%zz'));
      assert.ok(!q([{ name: 'v', present: false }], '%E0%A4%A=1'));
      assert.ok(!q([{ name: 'v' }], 'v=%'));
      // Routes without query matchers do not care.
      assert.ok(matches({ path: { prefix: '/' } }, { query: '%zz' }));
    });
  });

  it('every part must hold', () => {
    const m = matcher({
      host: ['api.example.com'],
      methods: ['POST'],
      path: { template: '/v1/{thing}' },
      headers: [{ name: 'content-type', prefix: 'application/json' }],
      query: [{ name: 'dry_run', present: false }],
    });
    const ok: Req = { host: 'api.example.com', method: 'POST', path: '/v1/widgets', headers: { 'content-type': 'application/json' } };
    assert.deepEqual({ ...m(ok) }, { thing: 'widgets' });
    assert.equal(m({ ...ok, host: 'example.com' }), null);
    assert.equal(m({ ...ok, method: 'GET' }), null);
    assert.equal(m({ ...ok, path: '/v2/widgets' }), null);
    assert.equal(m({ ...ok, headers: {} }), null);
    assert.equal(m({ ...ok, query: 'dry_run=1' }), null);
  });
});
