import assert from 'node:assert/strict';
import { test } from 'node:test';
import { identity, request } from './fixtures.js';
import { Pattern } from './pattern.js';
import { parseTemplate, type Token } from './template.js';

function pattern(src: string, opts = { wildcards: true, ignoreCase: false }): Pattern {
  const tokens = parseTemplate(src);
  if (typeof tokens === 'string') throw new Error(tokens);
  return new Pattern(tokens as Token[], src, opts);
}

const req = request({ identity: identity({ subject: 'a*b', claims: { team: 'blue', n: 7 } }), headers: { 'x-tenant': 'acme' } });

test('wildcard patterns', () => {
  const cases: [string, string, boolean][] = [
    ['*', '', true],
    ['*', 'route/x/anything/at/all', true],
    ['route/api/*', 'route/api/', true],
    ['route/api/*', 'route/api/a/b/c', true],
    ['route/api/*', 'route/apix/a', false],
    ['route/api/orders', 'route/api/orders', true],
    ['route/api/orders', 'route/api/orders/', false],
    ['route/*/admin/*', 'route/api/admin/x', true],
    ['route/*/admin/*', 'route/api/v1/admin/x', true],
    ['route/*/admin/*', 'route/api/administrator', false],
    ['route/api/?', 'route/api/a', true],
    ['route/api/?', 'route/api/ab', false],
    ['route/api/?', 'route/api/', false],
    ['route/api/a?c*', 'route/api/abcdef', true],
    ['route/api/*.json', 'route/api/a.json', true],
    ['route/api/*.json', 'route/api/ajson', false], // `.` is escaped, not a regex dot
    ['route/api/(x)+', 'route/api/(x)+', true],
    ['route/api/${*}', 'route/api/*', true],
    ['route/api/${*}', 'route/api/x', false],
    ['route/api/${?}${$}', 'route/api/?$', true],
  ];
  for (const [src, input, want] of cases) assert.equal(pattern(src).test(input, req), want, `${src} vs ${input}`);
});

test('variables are substituted literally, defaults apply, missing never matches', () => {
  const cases: [string, string, boolean][] = [
    ['route/api/users/${identity.sub}', 'route/api/users/a*b', true],
    // The subject `a*b` must not act as a wildcard.
    ['route/api/users/${identity.sub}', 'route/api/users/aXXb', false],
    ['route/api/users/${identity.sub}/*', 'route/api/users/a*b/orders', true],
    ['route/api/teams/${identity.claims.team}/*', 'route/api/teams/blue/1', true],
    ['route/api/n/${identity.claims.n}', 'route/api/n/7', true],
    ['route/api/t/${request.headers.X-Tenant}', 'route/api/t/acme', true],
    ['route/api/x/${identity.claims.missing}', 'route/api/x/', false],
    ['route/api/x/${identity.claims.missing}*', 'route/api/x/anything', false],
    ["route/api/x/${identity.claims.missing, 'none'}", 'route/api/x/none', true],
    ["route/api/x/${identity.claims.team, 'none'}", 'route/api/x/blue', true],
    ['*${identity.sub}', 'route/api/users/a*b', true],
    ['*${identity.sub}', 'route/api/users/ab', false],
  ];
  for (const [src, input, want] of cases) assert.equal(pattern(src).test(input, req), want, `${src} vs ${input}`);
});

test('ignoreCase folds text and substituted values; case-sensitive does not', () => {
  const ci = { wildcards: true, ignoreCase: true };
  assert.equal(pattern('route/*/admin/*', ci).test('route/api/ADMIN/x', req), true);
  assert.equal(pattern('route/*/admin/*').test('route/api/ADMIN/x', req), false);
  assert.equal(pattern('route/api/admin', ci).test('route/api/Admin', req), true);
  assert.equal(pattern('route/api/*', ci).test('ROUTE/API/x', req), true);
  assert.equal(pattern('route/api/u/${identity.claims.team}', ci).test('route/api/U/BLUE', req), true);
  assert.equal(pattern('route/api/ü', ci).test('route/api/Ü', req), true);
});

test('without wildcards, * and ? are ordinary characters', () => {
  const eq = { wildcards: false, ignoreCase: false };
  assert.equal(pattern('a*', eq).test('a*', req), true);
  assert.equal(pattern('a*', eq).test('abc', req), false);
  assert.equal(pattern('${identity.sub}', eq).test('a*b', req), true);
});

test('template errors', () => {
  assert.match(parseTemplate('route/${identity.sub') as string, /unterminated/);
  assert.match(parseTemplate('route/${identity.nope}') as string, /unknown policy variable/);
  assert.match(parseTemplate('route/${identity.roles}') as string, /multi-valued/);
  assert.match(parseTemplate('route/${a b}') as string, /malformed/);
});
