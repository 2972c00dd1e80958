// API keys through the real gateway (SECURITY.md row 21): accepted keys reach the upstream as
// identity headers without the key; every refusal is 401/400 with a reason code and nothing
// forwarded; unknown ids and wrong secrets are indistinguishable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';
import { generateKey } from '../../src/filters/api-key/key-format.js';

const alice = generateKey();
const bob = generateKey();
const revoked = generateKey();
const expired = generateKey();
const keys = [
  { id: alice.id, hash: alice.hash, owner: 'alice', roles: ['reader', 'writer'], usage_plan: 'gold' },
  { id: bob.id, hash: bob.hash, owner: 'bob' },
  { id: revoked.id, hash: revoked.hash, owner: 'mallory', enabled: false },
  { id: expired.id, hash: expired.hash, owner: 'carol', expires_at: '2020-01-01T00:00:00Z' },
];

let up: TestUpstream;
let gh: TestGateway;
before(async () => {
  up = await startUpstream();
  gh = await startGateway({
    routes: [
      { name: 'query', match: { path: { prefix: '/q' } }, cluster: 'up', filters: { authz: { allow: 'authenticated' }, api_key: { keys, query: 'api_key' } } },
      { name: 'fwd', match: { path: { prefix: '/fwd' } }, cluster: 'up', filters: { authz: { allow: 'authenticated' }, api_key: { keys, forward_key: true } } },
      { name: 'api', match: { path: { prefix: '/' } }, cluster: 'up', filters: { authz: { allow: 'authenticated' }, api_key: { keys } } },
    ],
    clusters: [{ name: 'up', endpoints: [up.url] }],
  });
});
after(async () => {
  await gh.stop();
  await up.close();
});

interface Problem {
  code: string;
  request_id: string;
  detail: string;
}

async function get(path: string, headers: Record<string, string | string[]> = {}) {
  const res = await request(`${gh.url}${path}`, { headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as Problem };
}

/** Runs `fn` and asserts the upstream saw no request meanwhile. */
async function nothingForwarded<T>(fn: () => Promise<T>): Promise<T> {
  const n = up.requests.length;
  const r = await fn();
  assert.equal(up.requests.length, n, 'a refused request reached the upstream');
  return r;
}

test('a valid key: 200, identity headers upstream, the key itself not forwarded', async () => {
  const r = await get('/items', { 'x-api-key': alice.key });
  assert.equal(r.status, 200);
  const seen = up.requests.at(-1)!;
  assert.equal(seen.headers['x-gatehouse-subject'], 'alice');
  assert.equal(seen.headers['x-gatehouse-roles'], 'reader,writer');
  assert.equal(seen.headers['x-gatehouse-auth-method'], 'api_key');
  assert.equal(seen.headers['x-gatehouse-key-id'], alice.id);
  assert.equal(seen.headers['x-api-key'], undefined);
  assert.ok(!seen.rawHeaders.join('\n').includes(alice.key));
});

test('client-sent identity headers and the X_Api_Key twin never reach the upstream', async () => {
  const r = await get('/items', { 'x-api-key': bob.key, 'x-gatehouse-subject': 'admin', 'x-gatehouse-roles': 'admin', X_Api_Key: alice.key });
  assert.equal(r.status, 200);
  const seen = up.requests.at(-1)!;
  assert.equal(seen.headers['x-gatehouse-subject'], 'bob');
  assert.equal(seen.headers['x-gatehouse-roles'], undefined);
  assert.ok(!seen.rawHeaders.join('\n').includes(alice.key), 'the underscore twin was forwarded');
});

test('wrong secret, unknown id and malformed keys: the same 401 authn.api_key.invalid, nothing forwarded', async () => {
  const otherSecret = `gh_${alice.id}_${generateKey().key.split('_')[2]}`; // checksum no longer matches
  const bodies: string[] = [];
  for (const k of [otherSecret, generateKey().key, 'not-a-key', `${alice.key}0`]) {
    const r = await nothingForwarded(() => get('/items', { 'x-api-key': k }));
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'ApiKey header="x-api-key"');
    const p = r.json();
    assert.equal(p.code, 'authn.api_key.invalid');
    bodies.push(r.text.replace(p.request_id, 'ID'));
    assert.ok(!r.text.includes(k), 'the body echoes the key');
  }
  assert.equal(new Set(bodies).size, 1, 'the answers differ');
});

test('revoked and expired keys: 401 with their own codes, nothing forwarded', async () => {
  const rv = await nothingForwarded(() => get('/items', { 'x-api-key': revoked.key }));
  assert.equal(rv.status, 401);
  assert.equal(rv.json().code, 'authn.api_key.revoked');
  const ex = await nothingForwarded(() => get('/items', { 'x-api-key': expired.key }));
  assert.equal(ex.status, 401);
  assert.equal(ex.json().code, 'authn.api_key.expired');
});

test('no key: 401 authn.missing_credentials with the ApiKey challenge', async () => {
  const r = await nothingForwarded(() => get('/items'));
  assert.equal(r.status, 401);
  assert.equal(r.json().code, 'authn.missing_credentials');
  assert.equal(r.headers['www-authenticate'], 'ApiKey header="x-api-key"');
});

test('ambiguous: two fields, a list value, header plus query: 400, nothing forwarded', async () => {
  for (const [path, headers] of [
    ['/items', { 'x-api-key': [alice.key, alice.key] }],
    ['/items', { 'x-api-key': [alice.key, bob.key] }],
    ['/items', { 'x-api-key': `${alice.key}, ${bob.key}` }],
    [`/q/items?api_key=${alice.key}`, { 'x-api-key': alice.key }],
    [`/q/items?api_key=${alice.key}&api_key=${bob.key}`, {}],
  ] as const) {
    const r = await nothingForwarded(() => get(path, headers as Record<string, string | string[]>));
    assert.equal(r.status, 400, `${path} ${JSON.stringify(headers)}`);
    assert.equal(r.json().code, 'authn.ambiguous_credentials');
  }
});

test('two fields on the wire (raw), case-varied: 400', async () => {
  const before = up.requests.length;
  const raw = await rawRequest(gh.port, `GET /items HTTP/1.1\r\nHost: x\r\nX-Api-Key: ${alice.key}\r\nx-api-key: ${alice.key}\r\nConnection: close\r\n\r\n`);
  assert.equal(raw.status, 400);
  assert.match(raw.body, /authn\.ambiguous_credentials/);
  assert.equal(up.requests.length, before);
});

test('query keys: off by default; where enabled, accepted and removed from the forwarded URL', async () => {
  const off = await nothingForwarded(() => get(`/items?api_key=${alice.key}`));
  assert.equal(off.status, 401);
  assert.equal(off.json().code, 'authn.missing_credentials');
  const on = await get(`/q/items?a=1&api_key=${alice.key}&b=2`);
  assert.equal(on.status, 200);
  const seen = up.requests.at(-1)!;
  assert.equal(seen.url, '/q/items?a=1&b=2');
  assert.equal(seen.headers['x-gatehouse-subject'], 'alice');
});

test('forward_key: the key header goes upstream only where a route says so', async () => {
  const r = await get('/fwd', { 'x-api-key': alice.key });
  assert.equal(r.status, 200);
  assert.equal(up.requests.at(-1)!.headers['x-api-key'], alice.key);
});

test('the access log names the outcome and never the key', async () => {
  await get('/items', { 'x-api-key': revoked.key });
  const lines = await gh.accessLog();
  const text = JSON.stringify(lines);
  assert.ok(lines.some((l) => l.code === 'authn.api_key.revoked'));
  for (const k of [alice, bob, revoked, expired]) assert.ok(!text.includes(k.key.split('_')[2]!), 'a key secret reached the access log');
});
