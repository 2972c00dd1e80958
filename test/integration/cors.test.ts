import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let up: TestUpstream;
let gh: TestGateway;
before(async () => {
  up = await startUpstream((_q, res) => {
    res.writeHead(200, { 'access-control-allow-origin': '*', 'content-length': '2' });
    res.end('ok');
  });
  gh = await startGateway({
    routes: [
      { name: 'api', match: { path: { prefix: '/api' }, methods: ['PUT', 'GET'] }, cluster: 'up',
        filters: { cors: { allow_origins: ['https://app.example.com'], allow_methods: ['PUT', 'GET'], allow_headers: ['content-type', 'authorization'] } } },
    ],
    clusters: [{ name: 'up', endpoints: [up.url] }],
  });
});
after(async () => {
  await gh.stop();
  await up.close();
});

test('a preflight for a PUT-only route is answered by the gateway and never forwarded', async () => {
  const before = up.requests.length;
  const res = await request(`${gh.url}/api/items/1`, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type, authorization' },
  });
  assert.equal(res.statusCode, 204);
  assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
  assert.equal(res.headers['access-control-allow-methods'], 'PUT, GET');
  assert.ok(res.headers['x-request-id']);
  assert.equal(await res.body.text(), '');
  assert.equal(up.requests.length, before);
});

test('a refused preflight explains itself with a reason code', async () => {
  const res = await request(`${gh.url}/api/items/1`, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'PUT' },
  });
  assert.equal(res.statusCode, 403);
  const body = (await res.body.json()) as { code: string; request_id: string };
  assert.equal(body.code, 'cors.origin_not_allowed');
  assert.equal(body.request_id, res.headers['x-request-id']);
});

test('actual responses carry the gateway CORS fields, not the upstream ones', async () => {
  const res = await request(`${gh.url}/api/items/1`, { method: 'GET', headers: { origin: 'https://app.example.com' } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
  assert.equal(res.headers['vary'], 'Origin');
  await res.body.dump();
  const other = await request(`${gh.url}/api/items/1`, { method: 'GET', headers: { origin: 'https://evil.example' } });
  assert.equal(other.headers['access-control-allow-origin'], undefined, 'upstream "*" must not leak through');
  await other.body.dump();
});
