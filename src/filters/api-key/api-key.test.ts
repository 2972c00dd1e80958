import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import apiKey from './index.js';
import { generateKey } from './key-format.js';
import type { KeyRecord } from './config.js';
import { makeCtx } from '../../../test/helpers/make-ctx.js';
import { IDENTITY, makeIdentity } from '../common/identity.js';
import type { Reply } from '../../pipeline/filter.js';

let now = Date.parse('2030-06-01T00:00:00Z');
const deps = { clock: { now: () => now }, log: pino({ level: 'silent' }) };

const alice = generateKey();
const revoked = generateKey();
const expiring = generateKey();
const records: KeyRecord[] = [
  { id: alice.id, hash: alice.hash, owner: 'alice', roles: ['reader', 'writer'], usage_plan: 'gold' },
  { id: revoked.id, hash: revoked.hash, owner: 'mallory', enabled: false },
  { id: expiring.id, hash: expiring.hash, owner: 'bob', expires_at: '2030-06-02' },
];

/** A context whose raw header list is what the client sent (duplicates visible). */
function ctxWith(headers: Array<[string, string]>, query = '') {
  const ctx = makeCtx({ headers: Object.fromEntries(headers), query });
  ctx.req.rawHeaders = headers.flat();
  return ctx;
}

const run = (cfg: Parameters<typeof apiKey.create>[0], ctx: ReturnType<typeof ctxWith>) => apiKey.create(cfg, deps).onRequest!(ctx) as Reply | undefined;

test('a valid key sets the identity (owner, roles, key id, usage plan) and is kept from the upstream', () => {
  const ctx = ctxWith([['X-Api-Key', alice.key]]);
  assert.equal(run({ keys: records }, ctx), undefined);
  const id = ctx.get(IDENTITY)!;
  assert.equal(id.kind, 'api_key');
  assert.equal(id.subject, 'alice');
  assert.deepEqual(id.roles, ['reader', 'writer']);
  assert.equal(id.keyId, alice.id);
  assert.equal(id.usagePlan, 'gold');
  assert.deepEqual(ctx.upstreamRemove, ['x-api-key', 'x_api_key']);
});

test('wrong secret, unknown id and malformed keys get the very same 401', () => {
  const wrongSecret = alice.key.slice(0, 16) + generateKey().key.slice(16); // alice's id, another secret: checksum fails
  const unknown = generateKey();
  const replies = [wrongSecret, unknown.key, 'gh_nope', 'Bearer x', `${alice.key}x`, ''].map((k) => run({ keys: records }, ctxWith([['x-api-key', k]])));
  for (const r of replies) {
    assert.equal(r?.status, 401);
    assert.equal(r?.code, 'authn.api_key.invalid');
    assert.equal(r?.headers?.['www-authenticate'], 'ApiKey header="x-api-key"');
    assert.deepEqual(r, replies[0]);
  }
});

test('a key with a known id and a valid checksum but the wrong secret is refused by the hash comparison', () => {
  const other = generateKey();
  // Record other's hash under alice's id: alice's real key now has the right id and format, wrong hash.
  const r = run({ keys: [{ id: alice.id, hash: other.hash, owner: 'alice' }] }, ctxWith([['x-api-key', alice.key]]));
  assert.equal(r?.code, 'authn.api_key.invalid');
});

test('revoked (enabled: false) and expired keys say so, only to the holder of the real key', () => {
  assert.equal(run({ keys: records }, ctxWith([['x-api-key', revoked.key]]))?.code, 'authn.api_key.revoked');
  assert.equal(run({ keys: records }, ctxWith([['x-api-key', revoked.key]]))?.status, 401);
  assert.equal(run({ keys: records }, ctxWith([['x-api-key', expiring.key]])), undefined);
  now = Date.parse('2030-06-02T00:00:00Z');
  try {
    const r = run({ keys: records }, ctxWith([['x-api-key', expiring.key]]));
    assert.equal(r?.code, 'authn.api_key.expired');
    assert.equal(r?.status, 401);
  } finally {
    now = Date.parse('2030-06-01T00:00:00Z');
  }
  // Another key for the revoked id (wrong secret) learns nothing: invalid, not revoked.
  const forged = run({ keys: [{ ...records[1]!, hash: generateKey().hash }] }, ctxWith([['x-api-key', revoked.key]]));
  assert.equal(forged?.code, 'authn.api_key.invalid');
});

test('no key: no credential of this kind (the authn gate decides)', () => {
  const ctx = ctxWith([['accept', '*/*']]);
  assert.equal(run({ keys: records }, ctx), undefined);
  assert.equal(ctx.get(IDENTITY), undefined);
});

test('ambiguous credentials: two fields, a comma-joined list, header plus query', () => {
  const cases: Array<[Array<[string, string]>, string]> = [
    [[['x-api-key', alice.key], ['X-API-KEY', alice.key]], ''],
    [[['x-api-key', `${alice.key}, ${revoked.key}`]], ''],
    [[['x-api-key', `${alice.key},`]], ''],
    [[['x-api-key', alice.key]], `api_key=${alice.key}`],
  ];
  for (const [h, q] of cases) {
    const r = run({ keys: records, query: 'api_key' }, ctxWith(h, q));
    assert.equal(r?.status, 400, JSON.stringify(h));
    assert.equal(r?.code, 'authn.ambiguous_credentials');
  }
  const twice = run({ keys: records, query: 'api_key' }, ctxWith([], `api_key=${alice.key}&api_key=${alice.key}`));
  assert.equal(twice?.code, 'authn.ambiguous_credentials');
});

test('query parameter: ignored unless enabled; when enabled it is accepted and removed from the forwarded query', () => {
  const off = ctxWith([], `a=1&api_key=${alice.key}`);
  assert.equal(run({ keys: records }, off), undefined);
  assert.equal(off.get(IDENTITY), undefined);
  assert.equal(off.upstreamQuery, undefined);
  const on = ctxWith([], `a=1&api_key=${alice.key}&b=2`);
  assert.equal(run({ keys: records, query: 'api_key' }, on), undefined);
  assert.equal(on.get(IDENTITY)?.subject, 'alice');
  assert.equal(on.upstreamQuery, 'a=1&b=2');
  assert.equal(on.query, `a=1&api_key=${alice.key}&b=2`, 'the request as received is left alone');
  assert.equal(on.upstreamRemove, undefined);
});

test('forward_key keeps the key; a custom header name is honoured', () => {
  const ctx = ctxWith([['X-Client-Key', alice.key]]);
  assert.equal(run({ keys: records, header: 'X-Client-Key', forward_key: true }, ctx), undefined);
  assert.equal(ctx.get(IDENTITY)?.subject, 'alice');
  assert.equal(ctx.upstreamRemove, undefined);
  const f = apiKey.create({ keys: records, header: 'X-Client-Key' }, deps);
  assert.equal(f.challenge, 'ApiKey header="x-client-key"');
});

test('any-of: an identity set by an earlier authenticator is kept; an invalid key still refuses', () => {
  const earlier = makeIdentity({ kind: 'mtls', subject: 'spiffe://example.org/x' });
  const ok = ctxWith([['x-api-key', alice.key]]);
  ok.set(IDENTITY, earlier);
  assert.equal(run({ keys: records }, ok), undefined);
  assert.equal(ok.get(IDENTITY), earlier);
  const bad = ctxWith([['x-api-key', generateKey().key]]);
  bad.set(IDENTITY, earlier);
  assert.equal(run({ keys: records }, bad)?.code, 'authn.api_key.invalid');
});

test('config errors at load: no key source, duplicate ids, impossible dates, unreadable or invalid keys_file', () => {
  assert.throws(() => apiKey.create({}, deps), /give keys, keys_file, or both/);
  assert.throws(() => apiKey.create({ keys: [records[0]!, records[0]!] }, deps), /duplicate key id/);
  assert.throws(() => apiKey.create({ keys: [{ ...records[0]!, expires_at: '2030-02-31' }] }, deps), /not a valid date/);
  assert.throws(() => apiKey.create({ keys_file: '/nonexistent/keys.yaml' }, deps), /ENOENT/);
  const dir = mkdtempSync(join(tmpdir(), 'gh-apikey-'));
  const file = join(dir, 'keys.yaml');
  writeFileSync(file, `- id: ${alice.id}\n  hash: ${alice.key}\n  owner: alice\n`);
  assert.throws(
    () => apiKey.create({ keys_file: file }, deps),
    (err: Error) => /\[0\]\.hash: must match pattern/.test(err.message) && !err.message.includes(alice.key),
  );
  writeFileSync(file, `- id: ${alice.id}\n  hash: ${alice.hash}\n  owner: alice\n`);
  assert.throws(() => apiKey.create({ keys: records, keys_file: file }, deps), /keys_file\[0\]: duplicate key id/);
  const f = apiKey.create({ keys_file: 'keys.yaml' }, { ...deps, baseDir: dir });
  const ctx = ctxWith([['x-api-key', alice.key]]);
  assert.equal(f.onRequest!(ctx), undefined);
  assert.equal(ctx.get(IDENTITY)?.subject, 'alice');
  void f.close?.();
});
