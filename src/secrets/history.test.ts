import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GatehouseConfig } from '../config/schema.js';
import { SecretHistory, stillValid } from './history.js';

const PATHS = ['admin.token', 'routes[0].filters.jwt.issuers[0].secret'];
const MIN = 60_000;

function side(admin: string, jwt: string, extra: Partial<GatehouseConfig> = {}) {
  const config = {
    listeners: [{ port: 0 }],
    admin: { token: admin },
    routes: [{ name: 'r', cluster: 'c', filters: { jwt: { issuers: [{ issuer: 'https://i', audiences: ['a'], secret: jwt }] } } }],
    clusters: [{ name: 'c', endpoints: ['http://127.0.0.1:1'] }],
    ...extra,
  } as unknown as GatehouseConfig;
  return { config, secretPaths: PATHS };
}

const values = (h: SecretHistory, v: string) => h.lookup(v).map((p) => p.value);

test('a rotation files the previous value under the new one, until rotation time + overlap; paths, not values, are reported', () => {
  const h = new SecretHistory();
  const r = h.update(side('admin-v1', 'jwt-v1'), side('admin-v2', 'jwt-v1'), 5 * MIN, 1000);
  assert.deepEqual(r.rotated, [{ path: 'admin.token', until: 1000 + 5 * MIN }]);
  assert.deepEqual(h.lookup('admin-v2'), [{ value: 'admin-v1', until: 1000 + 5 * MIN }]);
  assert.deepEqual(h.lookup('jwt-v1'), []);
  assert.deepEqual(stillValid(h.lookup('admin-v2'), 1000 + 5 * MIN - 1).length, 1);
  assert.deepEqual(stillValid(h.lookup('admin-v2'), 1000 + 5 * MIN).length, 0, 'refused from the deadline on');
});

test('repeated rotations chain: each previous value keeps its own deadline; expired ones are dropped', () => {
  const h = new SecretHistory();
  h.update(side('a1', 'j'), side('a2', 'j'), 5 * MIN, 0);
  h.update(side('a2', 'j'), side('a3', 'j'), 5 * MIN, 2 * MIN);
  assert.deepEqual(h.lookup('a3'), [
    { value: 'a2', until: 7 * MIN },
    { value: 'a1', until: 5 * MIN },
  ]);
  assert.deepEqual(h.lookup('a2'), [], 'entries live under current values only');
  h.update(side('a3', 'j'), side('a4', 'j'), 5 * MIN, 6 * MIN);
  assert.deepEqual(values(h, 'a4'), ['a3', 'a2'], 'a1 ran out at 5m and is gone');
});

test('rotating back to an earlier value never lists the current value as its own previous one', () => {
  const h = new SecretHistory();
  h.update(side('a1', 'j'), side('a2', 'j'), 5 * MIN, 0);
  h.update(side('a2', 'j'), side('a1', 'j'), 5 * MIN, MIN);
  assert.deepEqual(values(h, 'a1'), ['a2']);
});

test('overlap 0 records nothing and drops what an earlier rotation recorded (cut off after a leak)', () => {
  const h = new SecretHistory();
  h.update(side('a1', 'j'), side('a2', 'j'), 5 * MIN, 0);
  const r = h.update(side('a2', 'j'), side('a3', 'j'), 0, MIN);
  assert.deepEqual(r.rotated, [{ path: 'admin.token', until: MIN }]);
  assert.equal(h.size, 0);
});

test('a reload that also edits the file records no rotation but keeps the running windows, capped by the new overlap', () => {
  const h = new SecretHistory();
  h.update(side('a1', 'j'), side('a2', 'j'), 10 * MIN, 0);
  const r = h.update(side('a2', 'j'), side('a9', 'j', { trusted_proxies: ['10.0.0.0/8'] }), 10 * MIN, MIN);
  assert.deepEqual(r.rotated, [], 'paths of an edited file need not correspond');
  assert.deepEqual(h.lookup('a9'), []);
  h.update(side('a1', 'j'), side('a2', 'j'), 10 * MIN, 0);
  h.update(side('a2', 'j'), side('a2', 'j', { trusted_proxies: ['10.0.0.0/8'] }), 2 * MIN, MIN);
  assert.deepEqual(h.lookup('a2'), [{ value: 'a1', until: 3 * MIN }], 'a shorter overlap shortens the running window');
});

test('undo restores the history when the new config fails to compile', () => {
  const h = new SecretHistory();
  h.update(side('a1', 'j'), side('a2', 'j'), 5 * MIN, 0);
  const r = h.update(side('a2', 'j'), side('a3', 'j'), 5 * MIN, MIN);
  r.undo();
  assert.deepEqual(values(h, 'a2'), ['a1']);
  assert.deepEqual(h.lookup('a3'), []);
});
