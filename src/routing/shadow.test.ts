import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteMatchConfig } from '../config/schema.js';
import { findShadowedRoutes } from './router.js';

const shadowed = (...matches: (RouteMatchConfig | undefined)[]) =>
  findShadowedRoutes(matches.map((match, i) => ({ match, value: i })));
/** Whether the second route is reported as shadowed by the first. */
const covers = (earlier: RouteMatchConfig | undefined, later: RouteMatchConfig | undefined) => shadowed(earlier, later).length === 1;

describe('findShadowedRoutes', () => {
  it('reports each shadowed route once, with the first route that shadows it', () => {
    assert.deepEqual(
      shadowed({ path: { prefix: '/api' } }, { path: { prefix: '/api' } }, { path: { exact: '/other' } }, { path: { prefix: '/api/v1' } }),
      [
        { index: 1, shadowedBy: 0 },
        { index: 3, shadowedBy: 0 },
      ],
    );
    assert.deepEqual(shadowed(), []);
    assert.deepEqual(shadowed(undefined, { path: { exact: '/' } }), [{ index: 1, shadowedBy: 0 }]);
  });

  it('a catch-all shadows everything after it, and nothing covers a catch-all but a catch-all', () => {
    assert.ok(covers(undefined, { host: ['a.com'], methods: ['GET'], headers: [{ name: 'x' }], path: { template: '/{a}' } }));
    assert.ok(covers({ path: { prefix: '/' } }, undefined));
    assert.ok(covers({ path: { template: '/{all*}' } }, undefined));
    assert.ok(!covers({ path: { prefix: '/api' } }, undefined));
    assert.ok(!covers({ methods: ['GET'] }, undefined));
  });

  it('path prefixes on segment boundaries', () => {
    assert.ok(covers({ path: { prefix: '/admin' } }, { path: { prefix: '/admin/users' } }));
    assert.ok(covers({ path: { prefix: '/admin' } }, { path: { prefix: '/admin/' } }));
    assert.ok(covers({ path: { prefix: '/admin' } }, { path: { exact: '/admin' } }));
    assert.ok(!covers({ path: { prefix: '/admin' } }, { path: { prefix: '/administrator' } }));
    assert.ok(!covers({ path: { prefix: '/admin' } }, { path: { exact: '/admin.php' } }));
    assert.ok(!covers({ path: { prefix: '/admin/users' } }, { path: { prefix: '/admin' } }));
    assert.ok(covers({ path: { prefix: '/api/' } }, { path: { prefix: '/api/v1' } }));
    assert.ok(!covers({ path: { prefix: '/api/' } }, { path: { prefix: '/api' } }));
    assert.ok(!covers({ path: { prefix: '/api/' } }, { path: { exact: '/api' } }));
  });

  it('exact paths and templates', () => {
    assert.ok(covers({ path: { exact: '/a' } }, { path: { exact: '/a' } }));
    assert.ok(!covers({ path: { exact: '/a' } }, { path: { exact: '/a/' } }));
    assert.ok(!covers({ path: { exact: '/a' } }, { path: { prefix: '/a' } }));
    assert.ok(covers({ path: { exact: '/a/b' } }, { path: { template: '/a/b' } }));
    assert.ok(covers({ path: { template: '/users/{id}' } }, { path: { exact: '/users/me' } }));
    assert.ok(!covers({ path: { template: '/users/{id}' } }, { path: { exact: '/users/' } }));
    assert.ok(covers({ path: { template: '/users/{id}' } }, { path: { template: '/users/{name}' } }));
    assert.ok(!covers({ path: { template: '/users/{id}' } }, { path: { template: '/users/{id}/x' } }));
    assert.ok(covers({ path: { template: '/{a}/{rest*}' } }, { path: { prefix: '/api' } }));
    assert.ok(!covers({ path: { template: '/{a}/{rest*}' } }, { path: { prefix: '/' } }));
    assert.ok(covers({ path: { prefix: '/files' } }, { path: { template: '/files/{a}/{b*}' } }));
    assert.ok(covers({ path: { template: '/files/{rest*}' } }, { path: { prefix: '/files' } }));
    assert.ok(covers({ path: { prefix: '/api/' } }, { path: { template: '/api/{v}' } }));
    assert.ok(!covers({ path: { prefix: '/api/' } }, { path: { template: '/api/{v*}' } }));
    assert.ok(!covers({ path: { prefix: '/api' } }, { path: { template: '/{v}' } }));
  });

  it('hosts, including wildcards', () => {
    assert.ok(covers({ host: ['a.com', 'b.com'] }, { host: ['b.com'] }));
    assert.ok(!covers({ host: ['a.com'] }, { host: ['a.com', 'b.com'] }));
    assert.ok(!covers({ host: ['a.com'] }, {}));
    assert.ok(covers({ host: ['*.a.com'] }, { host: ['x.a.com', 'y.z.a.com', '*.x.a.com'] }));
    assert.ok(!covers({ host: ['*.a.com'] }, { host: ['a.com'] }));
    assert.ok(!covers({ host: ['*.x.a.com'] }, { host: ['*.a.com'] }));
    assert.ok(covers({ host: ['*'] }, { host: ['anything.test'] }));
  });

  it('methods', () => {
    assert.ok(covers({ methods: ['GET', 'POST'] }, { methods: ['GET'] }));
    assert.ok(!covers({ methods: ['GET'] }, { methods: ['GET', 'POST'] }));
    assert.ok(!covers({ methods: ['GET'] }, {}));
    assert.ok(covers({}, { methods: ['GET'] }));
  });

  it('header and query conditions the later route implies', () => {
    assert.ok(covers({ headers: [{ name: 'X-A' }] }, { headers: [{ name: 'x-a', exact: '1' }] }));
    assert.ok(covers({ headers: [{ name: 'x-a', prefix: 'v' }] }, { headers: [{ name: 'x-a', exact: 'v2' }] }));
    assert.ok(covers({ headers: [{ name: 'x-a', prefix: 'v' }] }, { headers: [{ name: 'x-a', prefix: 'v2' }, { name: 'x-b' }] }));
    assert.ok(covers({ query: [{ name: 'a', present: false }] }, { query: [{ name: 'a', present: false }] }));
    assert.ok(!covers({ headers: [{ name: 'x-a', exact: '1' }] }, { headers: [{ name: 'x-a', prefix: '1' }] }));
    assert.ok(!covers({ headers: [{ name: 'x-a' }] }, {}));
    assert.ok(!covers({ headers: [{ name: 'x-a' }] }, { query: [{ name: 'x-a' }] }));
    assert.ok(!covers({ query: [{ name: 'a', present: false }] }, { query: [{ name: 'a' }] }));
    assert.ok(!covers({ query: [{ name: 'a' }] }, { query: [{ name: 'A' }] }));
    assert.ok(covers({}, { headers: [{ name: 'x-a' }], query: [{ name: 'a' }] }));
  });

  it('only when every part is covered', () => {
    const earlier: RouteMatchConfig = { host: ['*.a.com'], methods: ['GET', 'HEAD'], path: { prefix: '/api' } };
    assert.ok(covers(earlier, { host: ['x.a.com'], methods: ['GET'], path: { exact: '/api/v1' } }));
    assert.ok(!covers(earlier, { host: ['x.a.com'], methods: ['POST'], path: { exact: '/api/v1' } }));
    assert.ok(!covers(earlier, { host: ['x.b.com'], methods: ['GET'], path: { exact: '/api/v1' } }));
    assert.ok(!covers(earlier, { host: ['x.a.com'], methods: ['GET'], path: { exact: '/v1' } }));
  });
});
