// The authz filter end to end: a real OIDC provider, tokens minted with jose, a recording upstream.
// Policies come from the config's authorization section, attached through roles and routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startFakeIdp, mint, type FakeIdp, type TestKey } from '../helpers/fake-idp.js';
import { rawRequest } from '../helpers/raw.js';
import { settle } from '../helpers/wait.js';

let idp: FakeIdp;
let up: TestUpstream;
let gh: TestGateway;
let key: TestKey;

const AUD = 'api';
const REMEDIATION = 'ask for the orders-writer role in #access';

before(async () => {
  idp = await startFakeIdp();
  key = await idp.addKey('ES256');
  up = await startUpstream();
  const jwt = { issuers: [{ issuer: idp.issuer, audiences: [AUD], roles_claim: 'groups' }] };
  gh = await startGateway({
    authorization: {
      policies: {
        'orders-read': {
          remediation: REMEDIATION,
          Statement: [{ Sid: 'ReadOrders', Effect: 'Allow', Action: ['http:GET', 'http:HEAD'], Resource: 'route/orders/*' }],
        },
        'orders-write-from-office': {
          Statement: [
            {
              Sid: 'WriteFromOffice',
              Effect: 'Allow',
              Action: 'http:POST',
              Resource: 'route/orders/*',
              Condition: { IpAddress: { 'request.ip': '10.0.0.0/8' } },
              explanation: 'orders can only be created from the office network',
            },
          ],
        },
        'own-user': {
          Statement: [{ Sid: 'OwnProfile', Effect: 'Allow', Action: ['http:GET', 'http:PUT'], Resource: 'route/users/users/${identity.sub}' }],
        },
        'deny-admin': {
          explanation: 'the admin area is for administrators',
          Statement: [
            {
              Sid: 'AdminOnly',
              Effect: 'Deny',
              Action: 'http:*',
              Resource: ['route/*/admin', 'route/*/admin/*'],
              Condition: { StringNotEquals: { 'identity.roles': 'admin' } },
            },
          ],
        },
        'freeze-orders': {
          remediation: 'writes resume after the freeze; see #status',
          Statement: [{ Sid: 'Freeze', Effect: 'Deny', Action: 'http:DELETE', Resource: 'route/orders/*' }],
        },
      },
      roles: { 'orders-reader': ['orders-read'], 'orders-writer': ['orders-write-from-office'] },
    },
    routes: [
      { name: 'public', match: { path: { prefix: '/public' } }, cluster: 'up' },
      { name: 'orders', match: { path: { prefix: '/orders' } }, cluster: 'up', filters: { jwt, authz: { policies: ['freeze-orders'] } } },
      { name: 'users', match: { path: { template: '/users/{id}' } }, cluster: 'up', filters: { jwt, authz: { policies: ['own-user'] } } },
      { name: 'bare', match: { path: { prefix: '/bare' } }, cluster: 'up', filters: { jwt } },
      { name: 'shadow', match: { path: { prefix: '/shadow' } }, cluster: 'up', filters: { jwt, authz: { mode: 'shadow' } } },
      { name: 'staff', match: { path: { prefix: '/staff' } }, cluster: 'up', filters: { jwt, authz: { roles: ['staff'] } } },
      { name: 'api', match: { path: { prefix: '/' } }, cluster: 'up', filters: { jwt, authz: { allow: 'authenticated', policies: ['deny-admin'] } } },
    ],
    clusters: [{ name: 'up', endpoints: [up.url] }],
  });
});

after(async () => {
  await gh.stop();
  await up.close();
  await idp.close();
});

const token = (sub: string, groups: string[] = []) => mint(key, { iss: idp.issuer, aud: AUD, sub, groups });

async function call(method: string, path: string, tok?: string) {
  const before = up.requests.length;
  const res = await request(`${gh.url}${path}`, { method, headers: tok ? { authorization: `Bearer ${tok}` } : {} });
  const text = await res.body.text();
  await settle();
  const body = res.headers['content-type'] === 'application/problem+json' ? (JSON.parse(text) as Record<string, unknown>) : {};
  return { status: res.statusCode, body, forwarded: up.requests.length - before, requestId: res.headers['x-request-id'] as string };
}

const logLine = async (requestId: string) => {
  const lines = await gh.accessLog((l) => l.some((x) => x.request_id === requestId));
  return lines.find((x) => x.request_id === requestId)!;
};

test('a role policy allows: the request is forwarded and the access log names the deciding statement', async () => {
  const r = await call('GET', '/orders/7', await token('alice', ['orders-reader']));
  assert.equal(r.status, 200);
  assert.equal(r.forwarded, 1);
  const line = await logLine(r.requestId);
  assert.deepEqual(line.decisions, [
    { filter: 'authn', allowed: true, code: null, auth_method: 'jwt', subject: 'alice', enforced: true },
    { filter: 'authz', allowed: true, code: null, policy: 'orders-read', statement: 'ReadOrders', enforced: true },
  ]);
});

test('no matching allow: 403 authz.no_matching_allow, nothing forwarded, remediation of no statement leaks', async () => {
  const r = await call('GET', '/orders/7', await token('bob'));
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'authz.no_matching_allow');
  assert.equal(r.body.request_id, r.requestId);
  assert.equal(r.forwarded, 0);
  assert.equal(r.body.remediation, undefined);
});

test('a failed condition: 403 authz.condition_failed with the statement explanation; the log names the condition', async () => {
  const r = await call('POST', '/orders', await token('carol', ['orders-writer']));
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'authz.condition_failed');
  assert.equal(r.body.detail, 'orders can only be created from the office network');
  assert.equal(r.forwarded, 0);
  const line = await logLine(r.requestId);
  const d = (line.decisions as Record<string, unknown>[]).find((x) => x.filter === 'authz')!;
  assert.equal(d.policy, 'orders-write-from-office');
  assert.equal(d.statement, 'WriteFromOffice');
  assert.match(String(d.condition), /IpAddress request\.ip/);
});

test('an explicit deny beats an allow and carries the remediation', async () => {
  const r = await call('DELETE', '/orders/7', await token('dave', ['orders-reader', 'orders-writer']));
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'authz.explicit_deny');
  assert.equal(r.body.remediation, 'writes resume after the freeze; see #status');
  assert.equal(r.forwarded, 0);
});

test('users may read only their own /users/{id} (a policy variable in the resource)', async () => {
  const alice = await token('alice');
  assert.equal((await call('GET', '/users/alice', alice)).status, 200);
  assert.equal((await call('PUT', '/users/alice', alice)).status, 200);
  const other = await call('GET', '/users/bob', alice);
  assert.equal(other.status, 403);
  assert.equal(other.forwarded, 0);
  assert.equal((await call('DELETE', '/users/alice', alice)).status, 403);
});

test('a route with authentication and no policy denies by default; allow: authenticated admits any caller', async () => {
  const tok = await token('erin', ['orders-reader']);
  const bare = await call('GET', '/bare/x', tok);
  assert.equal(bare.status, 403);
  assert.equal(bare.body.code, 'authz.no_matching_allow');
  assert.equal((await call('GET', '/anything', tok)).status, 200);
  // Authentication still comes first: no token is 401, not 403.
  const anon = await call('GET', '/anything');
  assert.equal(anon.status, 401);
  assert.equal(anon.body.code, 'authn.missing_credentials');
});

test('the roles shorthand admits holders only', async () => {
  assert.equal((await call('GET', '/staff/x', await token('f', ['staff']))).status, 200);
  assert.equal((await call('GET', '/staff/x', await token('g', ['other']))).status, 403);
});

test('shadow mode: a deny is logged as not enforced and the request goes through', async () => {
  const r = await call('GET', '/shadow/x', await token('henry'));
  assert.equal(r.status, 200);
  assert.equal(r.forwarded, 1);
  const line = await logLine(r.requestId);
  assert.deepEqual(line.decisions, [
    { filter: 'authn', allowed: true, code: null, auth_method: 'jwt', subject: 'henry', enforced: true },
    { filter: 'authz', allowed: false, code: 'authz.no_matching_allow', enforced: false },
  ]);
  const filter = gh.gw.snapshot().router.entries.find((e) => e.value.name === 'shadow')!.value.filters.find((f) => f.name === 'authz') as unknown as {
    stats: { shadowDenied: number; denied: number };
  };
  assert.ok(filter.stats.shadowDenied >= 1);
  assert.equal(filter.stats.denied, 0);
});

test('public routes need no token and carry no decision', async () => {
  const r = await call('GET', '/public/x');
  assert.equal(r.status, 200);
  const line = await logLine(r.requestId);
  assert.equal(line.decisions, undefined);
});

test('"deny /admin unless role admin" cannot be bypassed by path tricks', async () => {
  const user = await token('mallory', ['orders-reader']);
  const admin = await token('root', ['admin']);
  assert.equal((await call('GET', '/admin/users', admin)).status, 200, 'an admin gets in');
  assert.equal((await call('GET', '/admin', admin)).status, 200);
  const variants = [
    '/admin',
    '/admin/',
    '/admin/users',
    '/%61dmin/users', // encoded unreserved letter, decoded by normalization
    '/%61%64%6D%69%6E/users',
    '/x/../admin/users',
    '/./admin/users',
    '//admin/users',
    '/admin//users',
    '/ADMIN/users', // case variants, for case-insensitive upstreams
    '/Admin/users',
    '/aDmIn',
    '/x/%2e%2e/admin/users',
  ];
  for (const path of variants) {
    const r = await call('GET', path, user);
    assert.equal(r.status, 403, `${path} must be denied (got ${r.status})`);
    assert.equal(r.body.code, 'authz.explicit_deny', path);
    assert.equal(r.forwarded, 0, `${path} must not reach the upstream`);
  }
  // Ambiguous encodings never reach policy at all: 400 before routing.
  for (const path of ['/admin%2fusers', '/%2e%2e%2fadmin', '/admin%5cusers', '/admin%00']) {
    const raw = await rawRequest(gh.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${user}\r\n\r\n`);
    assert.equal(raw.status, 400, path);
  }
  assert.equal((await call('GET', '/administrator', user)).status, 200, 'a different path is not the admin area');
});

test('admin POST /explain answers the decision and the trace for the running config', async () => {
  const res = await request(`${gh.adminUrl}/explain`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request: { method: 'POST', path: '/orders', ip: '10.1.2.3' }, identity: { subject: 'carol', roles: ['orders-writer'] } }),
  });
  assert.equal(res.statusCode, 200);
  const body = (await res.body.json()) as Record<string, any>;
  assert.equal(body.route, 'orders');
  assert.equal(body.resource, 'route/orders/orders');
  assert.equal(body.decision.allowed, true);
  assert.equal(body.decision.statement, 'WriteFromOffice');
  assert.ok(body.trace.some((t: any) => t.policy === 'orders-read' && t.outcome === 'not_attached'));

  const bad = await request(`${gh.adminUrl}/explain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"request":{}}' });
  assert.equal(bad.statusCode, 400);
  assert.equal(((await bad.body.json()) as Record<string, unknown>).code, 'request.bad_request');
  const badIdentity = await request(`${gh.adminUrl}/explain`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request: { path: '/orders' }, identity: { subject: 7 } }),
  });
  assert.equal(badIdentity.statusCode, 400);
  assert.match(String(((await badIdentity.body.json()) as Record<string, unknown>).detail), /subject must be a string/);
  const get = await request(`${gh.adminUrl}/explain`);
  assert.equal(get.statusCode, 405);
  assert.equal(get.headers.allow, 'POST');
  await get.body.dump();
  const notJson = await request(`${gh.adminUrl}/explain`, { method: 'POST', body: 'x' });
  assert.equal(notJson.statusCode, 415);
  await notJson.body.dump();
});
