// DNS and file discovery, and consistent hashing across an endpoint leaving, with real upstreams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway } from '../../src/gateway.js';
import type { DnsResolver } from '../../src/upstream/discovery/dns.js';
import type { GatehouseConfig } from '../../src/config/schema.js';
import { startGateway } from '../helpers/gateway.js';
import { settle, waitFor } from '../helpers/wait.js';
import { clusters, get, switchable } from './resilience-common.js';

test('dns discovery: an injected resolver; refresh follows the TTL within floor/ceiling and picks up changed records', async () => {
  const up = await switchable('dns');
  let records: { address: string; ttl: number }[] = [];
  let calls = 0;
  const resolver: DnsResolver = {
    async resolve4(host) {
      calls++;
      assert.equal(host, 'api.test');
      if (records.length === 0) throw Object.assign(new Error('queryA ENOTFOUND api.test'), { code: 'ENOTFOUND' });
      return records;
    },
    async resolve6() {
      throw Object.assign(new Error('no AAAA'), { code: 'ENODATA' });
    },
  };
  const config: GatehouseConfig = {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    admin: { port: 0 },
    access_log: { enabled: false },
    routes: [{ name: 'r', match: { path: { prefix: '/' } }, cluster: 'c' }],
    clusters: [{ name: 'c', discovery: { type: 'dns', url: `http://api.test:${up.port}`, min_refresh: '100ms', max_refresh: '400ms' } }],
  };
  const gw = await createGateway(config, { say: () => undefined, upstream: { resolver } });
  const url = `http://127.0.0.1:${gw.ports()[0]}/x`;
  try {
    await waitFor(() => calls >= 1, 5000, 'the first lookup');
    const none = await get(url);
    assert.equal(none.status, 503);
    assert.equal(JSON.parse(none.body).code, 'upstream.no_healthy_endpoint');
    records = [{ address: '127.0.0.1', ttl: 0 }]; // TTL 0: refreshed at the 100 ms floor
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      ok = (await get(url)).status === 200;
      if (!ok) await settle(50);
    }
    assert.ok(ok, 'the new record serves');
    const c0 = calls;
    await settle(600);
    const floorCalls = calls - c0;
    assert.ok(floorCalls >= 2 && floorCalls <= 8, `${floorCalls} lookups in 600 ms at a 100 ms floor`);
    records = [{ address: '127.0.0.1', ttl: 3600 }]; // a long TTL is capped by max_refresh (400 ms)
    await settle(150);
    const c1 = calls;
    await settle(1000);
    const ceilCalls = calls - c1;
    assert.ok(ceilCalls >= 1 && ceilCalls <= 4, `${ceilCalls} lookups in 1 s at a 400 ms ceiling`);
    records = []; // the name is gone: the cluster empties
    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) {
      gone = (await get(url)).status === 503;
      if (!gone) await settle(50);
    }
    assert.ok(gone, 'removed records stop traffic');
  } finally {
    await gw.stop();
    await up.close();
  }
  const n = calls;
  await settle(300);
  assert.equal(calls, n, 'no lookups after stop');
});

test('file discovery + ring_hash: a changed file is picked up, keys stay on their endpoint when another leaves, in-flight requests finish', async () => {
  const ups = await Promise.all(['a', 'b', 'c'].map((n) => switchable(n)));
  const dir = mkdtempSync(join(tmpdir(), 'gh-disc-'));
  const file = join(dir, 'endpoints.yaml');
  const write = (urls: string[]) => {
    // Replaced by rename, as deployment tools do.
    writeFileSync(`${file}.tmp`, `endpoints:\n${urls.map((u) => `  - ${u}\n`).join('')}`);
    renameSync(`${file}.tmp`, file);
  };
  write(ups.map((u) => u.url));
  const gh = await startGateway({
    routes: [{ name: 'r', match: { path: { prefix: '/' } }, cluster: 'c' }],
    clusters: [{ name: 'c', discovery: { type: 'file', path: file, poll_interval: '50ms' }, lb_policy: 'ring_hash', hash_on: { header: 'x-user' } }],
  });
  try {
    const keys = Array.from({ length: 60 }, (_, i) => `user-${i}`);
    const where = async () => {
      const out = new Map<string, string>();
      for (const k of keys) {
        const r = await get(`${gh.url}/x`, { 'x-user': k });
        assert.equal(r.status, 200);
        out.set(k, r.upstream!);
      }
      return out;
    };
    const before = await where();
    assert.equal(new Set(before.values()).size, 3, 'keys spread over the three endpoints');
    for (const k of keys.slice(0, 5)) assert.equal((await get(`${gh.url}/x`, { 'x-user': k })).upstream, before.get(k), 'sticky');

    // A slow request in flight on b while b leaves the set.
    const b = ups[1]!;
    b.mode = 'slow';
    b.slowMs = 400;
    const bKey = keys.find((k) => before.get(k) === 'b')!;
    const inflight = get(`${gh.url}/x`, { 'x-user': bKey });
    await waitFor(() => b.served() > 0 && (gh.gw.snapshot().clusters.get('c')!.endpoints.find((e) => e.origin === b.url)?.active ?? 0) > 0, 5000, 'the request on b');
    write([ups[0]!.url, ups[2]!.url]);
    let two = false;
    for (let i = 0; i < 100 && !two; i++) {
      two = (await clusters(gh.adminUrl))[0]!.endpoints.length === 2;
      if (!two) await settle(50);
    }
    assert.ok(two, 'the changed file was picked up');
    const done = await inflight;
    assert.equal(done.status, 200, 'the in-flight request on the removed endpoint finished');
    assert.equal(done.upstream, 'b');

    const after = await where();
    let moved = 0;
    for (const k of keys) {
      if (before.get(k) !== 'b') assert.equal(after.get(k), before.get(k), `${k} stayed on its endpoint`);
      else moved++;
      assert.notEqual(after.get(k), 'b');
    }
    assert.ok(moved > 0 && moved < keys.length / 2, `moved ${moved} of ${keys.length}: only b's keys`);

    // An invalid file keeps the last good list.
    writeFileSync(file, 'endpoints: [not-a-url');
    await settle(300);
    assert.equal((await clusters(gh.adminUrl))[0]!.endpoints.length, 2);
    assert.equal((await get(`${gh.url}/x`, { 'x-user': 'k' })).status, 200);
  } finally {
    await gh.stop();
    await Promise.all(ups.map((u) => u.close()));
  }
});
