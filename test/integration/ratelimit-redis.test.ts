// Shared limits on a real Redis (spawned per run): exact across three gateway processes, bursts
// and steady rate on real time, and outages: Redis killed mid-load (fail_open falls back to the
// local bucket, fail_closed answers 503, nothing hangs, nothing crashes), Redis back (shared
// limits again, no restart). Skipped visibly when redis-server is not installed.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import YAML from 'yaml';
import { Agent, request } from 'undici';
import { createGateway, type Gateway } from '../../src/gateway.js';
import type { GatehouseConfig } from '../../src/config/schema.js';
import { createRedisLimitStore } from '../../src/store/redis.js';
import type { CheckResult, StoreUnavailable } from '../../src/store/limits.js';
import { compileLimit } from '../../src/filters/rate-limit/engine.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { bin, root } from '../helpers/cli.js';
import { hasRedis, REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis.js';

const skip = hasRedis() ? false : REDIS_MISSING;

let redis: TestRedis;
let up: TestUpstream;
before(async () => {
  if (skip) return;
  redis = await startRedis();
  up = await startUpstream();
});
after(async () => {
  await redis?.stop();
  await up?.close();
});

const dispatcher = new Agent({ connections: 128, pipelining: 1 });
after(() => dispatcher.close());

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers, dispatcher, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers as Record<string, string>, text };
}

function baseConfig(routes: unknown[], store: Record<string, unknown>): GatehouseConfig {
  return {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    admin: { enabled: false },
    access_log: { enabled: false },
    limits: { max_connections_per_ip: 4000 },
    rate_limit_store: { type: 'redis', redis: { url: redis.url, key_prefix: `t${process.pid}:`, ...store } },
    routes,
    clusters: [{ name: 'up', endpoints: [up.url] }],
  } as unknown as GatehouseConfig;
}

interface Proc {
  child: ChildProcess;
  url: string;
  stderr(): string;
}

/** `gatehouse start -c FILE` in a child process; resolves with its listening URL. */
function startProcess(file: string): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'start', '-c', file], { cwd: root, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start: ${err}`));
    }, 15_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, stderr: () => err });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited ${code}: ${err}`));
    });
  });
}

async function stopProcess(p: Proc): Promise<void> {
  if (p.child.exitCode !== null) return;
  p.child.removeAllListeners('exit');
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

describe('three gateway processes sharing one Redis', { skip }, () => {
  let procs: Proc[] = [];
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-rl3-'));
    const file = join(dir, 'gatehouse.yaml');
    const cfg = baseConfig(
      [
        { name: 'bucket', match: { path: { prefix: '/bucket' } }, cluster: 'up', filters: { rate_limit: { limits: [{ name: 'exact-burst', rate: 0.001, burst: 100 }] } } },
        { name: 'quota', match: { path: { prefix: '/quota' } }, cluster: 'up', filters: { quota: { limits: [{ name: 'exact-daily', limit: 100, period: 'day' }] } } },
      ],
      { command_timeout: '5s' },
    );
    writeFileSync(file, YAML.stringify(cfg));
    procs = await Promise.all([startProcess(file), startProcess(file), startProcess(file)]);
  });
  after(async () => {
    await Promise.all(procs.map(stopProcess));
  });

  for (const path of ['/bucket', '/quota']) {
    test(`exactness ${path}: 1,000 concurrent requests over 3 processes → exactly 100 admitted`, async () => {
      const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => get(`${procs[i % 3]!.url}${path}`)));
      const by = new Map<number, number>();
      for (const r of results) by.set(r.status, (by.get(r.status) ?? 0) + 1);
      assert.deepEqual(Object.fromEntries(by), { 200: 100, 429: 900 });
      const perProcess = [0, 1, 2].map((p) => results.filter((r, i) => i % 3 === p && r.status === 200).length);
      assert.ok(perProcess.every((n) => n > 0), `every process admitted some (${perProcess})`);
    });
  }
});

describe('redis mode on real time', { skip }, () => {
  let gw: Gateway;
  let base: string;
  before(async () => {
    gw = await createGateway(
      baseConfig(
        [{ name: 'rt', match: { path: { prefix: '/' } }, cluster: 'up', filters: { rate_limit: { limits: [{ name: 'rt', rate: 10, burst: 5 }] } } }],
        { key_prefix: `rt${process.pid}:` },
      ),
      { say: () => undefined },
    );
    base = `http://127.0.0.1:${gw.ports()[0]}`;
  });
  after(() => gw.stop());

  test('burst then steady rate, with headers and Retry-After from Redis server time', async () => {
    const first = [];
    for (let i = 0; i < 6; i++) first.push(await get(`${base}/x`));
    assert.deepEqual(first.map((r) => r.status).slice(0, 5), [200, 200, 200, 200, 200]);
    assert.equal(first[0]!.headers['ratelimit-policy'], '"rt";q=5;w=1');
    assert.match(first[0]!.headers['ratelimit']!, /^"rt";r=4;t=1$/);
    // The sixth normally finds the bucket empty; on a slow machine a token may have accrued.
    const refused = first.find((r) => r.status === 429);
    if (refused) {
      assert.equal(refused.headers['retry-after'], '1');
      assert.equal(JSON.parse(refused.text).code, 'ratelimit.exceeded');
    }
    // Steady state: over ~1 s, about rate x time more are admitted (generous bounds, no tight timing).
    const start = Date.now();
    let ok = 0;
    let sent = 0;
    while (Date.now() - start < 1000) {
      sent++;
      if ((await get(`${base}/x`)).status === 200) ok++;
      await new Promise((r) => setTimeout(r, 20));
    }
    const elapsed = (Date.now() - start) / 1000;
    assert.ok(ok >= 5 && ok <= Math.ceil(elapsed * 10) + 2, `admitted ${ok} of ${sent} in ${elapsed}s at 10/s`);
  });

  test('keys carry the prefix and the hash tag, and expire once idle (TTL set)', async () => {
    const keys = (await redis.command('KEYS', `rt${process.pid}:*`)).split('\r\n').filter((l) => l.startsWith(`rt${process.pid}:`));
    assert.equal(keys.length, 1, 'one bucket key');
    assert.ok(keys[0]!.startsWith(`rt${process.pid}:{gh}:t:rt`), keys[0]);
    const ttl = Number((await redis.command('PTTL', keys[0]!)).slice(1));
    assert.ok(ttl > 0 && ttl <= 1000 + 500, `PTTL ${ttl}: the time to refill plus a second`);
  });
});

describe('redis outages', { skip }, () => {
  test('store level: fallback decisions are logged with the request id and counted; fail_closed is unavailable; recovery needs no restart', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => void (lines.push(String(c)), cb()) }));
    const store = createRedisLimitStore({
      mode: 'standalone',
      url: redis.url,
      keyPrefix: `o${process.pid}:`,
      hashTag: 'gh',
      connectTimeoutMs: 500,
      commandTimeoutMs: 300,
      autoPipelining: true,
      clock: { now: () => Date.now() },
      log,
    });
    try {
      assert.equal(await store.ready(), true);
      const open = compileLimit('rate_limit', { name: 'open', rate: 0.001, burst: 4, fallback_share: 0.5 }, true, false);
      const closed = compileLimit('quota', { name: 'closed', limit: 10, period: 'day' }, true, true);
      const ok = (await store.check([open], ['k'])) as CheckResult;
      assert.equal(ok.source, 'store');
      await redis.kill();
      const t0 = Date.now();
      const fb: (CheckResult | StoreUnavailable)[] = [];
      for (let i = 0; i < 4; i++) fb.push(await store.check([open], ['k'], { requestId: `req-${i}` }));
      assert.ok(Date.now() - t0 < 4 * 1500, 'no check hangs past the command timeout');
      // The fallback bucket holds half the limit (2 of 4) for this instance.
      assert.deepEqual(fb.map((r) => ('unavailable' in r ? 'unavailable' : `${r.source}:${r.admitted}`)), ['fallback:true', 'fallback:true', 'fallback:false', 'fallback:false']);
      const un = await store.check([open, closed], ['k', 'q'], { requestId: 'req-closed' });
      assert.ok('unavailable' in un, 'a fail_closed limit makes the whole check unavailable');
      assert.equal(store.stats.fallbackDecisions, 4);
      assert.equal(store.stats.unavailable, 1);
      const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      for (let i = 0; i < 4; i++) assert.ok(logged.some((l) => l.request_id === `req-${i}` && l.failure_mode === 'fail_open'), `fallback ${i} logged`);
      assert.ok(logged.some((l) => l.request_id === 'req-closed' && l.failure_mode === 'fail_closed'));
      await redis.restart();
      let back: CheckResult | StoreUnavailable | undefined;
      for (let i = 0; i < 100; i++) {
        back = await store.check([open], ['k2']);
        if (!('unavailable' in back) && back.source === 'store') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(back && !('unavailable' in back) && back.source === 'store', 'shared store used again after the restart');
    } finally {
      await store.close();
    }
  });

  test('gateway: Redis killed mid-load → fail_open keeps limiting locally, fail_closed answers 503, no hung request; Redis back → enforced again', async () => {
    const gw = await createGateway(
      baseConfig(
        [
          { name: 'open', match: { path: { prefix: '/open' } }, cluster: 'up', filters: { rate_limit: { limits: [{ name: 'open', rate: 0.001, burst: 50, key: ['route'] }] } } },
          { name: 'closed', match: { path: { prefix: '/closed' } }, cluster: 'up', filters: { quota: { limits: [{ name: 'closed', limit: 1000, period: 'day' }] } } },
        ],
        { key_prefix: `g${process.pid}:`, command_timeout: '300ms', connect_timeout: '500ms' },
      ),
      { say: () => undefined },
    );
    const base = `http://127.0.0.1:${gw.ports()[0]}`;
    try {
      // Load on both routes; Redis dies after the first batch.
      const statuses: { path: string; status: number; code?: string; ms: number }[] = [];
      const one = async (path: string) => {
        const t0 = Date.now();
        const r = await get(`${base}${path}`);
        statuses.push({ path, status: r.status, ...(r.status >= 400 ? { code: (JSON.parse(r.text) as { code: string }).code } : {}), ms: Date.now() - t0 });
      };
      await Promise.all(Array.from({ length: 20 }, (_, i) => one(i % 2 ? '/open' : '/closed')));
      assert.ok(statuses.every((s) => s.status === 200));
      const load = Promise.all(Array.from({ length: 200 }, (_, i) => new Promise((r) => setTimeout(r, i)).then(() => one(i % 2 ? '/open' : '/closed'))));
      await new Promise((r) => setTimeout(r, 50));
      await redis.kill();
      await load;
      const after = statuses.slice(20);
      assert.ok(after.every((s) => s.ms < 5000), 'no request hung');
      assert.ok(after.every((s) => (s.path === '/open' ? s.status === 200 || s.status === 429 : s.status === 200 || s.status === 503)), JSON.stringify(after.filter((s) => ![200, 429, 503].includes(s.status))));
      // After the kill, fail_closed answers 503 ratelimit.store_unavailable...
      const closed = await get(`${base}/closed`);
      assert.equal(closed.status, 503);
      assert.equal(JSON.parse(closed.text).code, 'ratelimit.store_unavailable');
      assert.equal(closed.headers['retry-after'], '1');
      // ...and fail_open keeps limiting on the local bucket (burst 50): never unlimited.
      const open = await Promise.all(Array.from({ length: 120 }, () => get(`${base}/open`)));
      const admitted = open.filter((r) => r.status === 200).length;
      assert.ok(admitted <= 50, `local fallback admitted ${admitted} (at most its burst of 50)`);
      assert.ok(open.every((r) => r.status === 200 || r.status === 429));
      // Redis back (empty: persistence is off): shared limits enforced again, no restart.
      await redis.restart();
      let back = 0;
      for (let i = 0; i < 100; i++) {
        back = (await get(`${base}/closed`)).status;
        if (back === 200) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(back, 200, 'fail_closed route serves again once Redis answers');
      const after2 = await Promise.all(Array.from({ length: 60 }, () => get(`${base}/open`)));
      assert.equal(after2.filter((r) => r.status === 200).length, 50, 'exactly the shared burst once Redis is back');
    } finally {
      await gw.stop();
    }
  });
});

describe('redis mode with injected time (test-only script argument)', { skip }, () => {
  test('quota roll-over at the UTC day boundary through the gateway, with Retry-After and RateLimit', async () => {
    let t = Date.UTC(2026, 6, 1, 23, 59, 58, 500);
    const gw = await createGateway(
      baseConfig([{ name: 'q', match: { path: { prefix: '/' } }, cluster: 'up', filters: { quota: { limits: [{ name: 'daily', limit: 2, period: 'day' }] } } }], {
        key_prefix: `it${process.pid}:`,
      }),
      { say: () => undefined, clock: { now: () => t }, unsafeLimitStoreTestTime: true },
    );
    const base = `http://127.0.0.1:${gw.ports()[0]}`;
    try {
      const a = await get(`${base}/x`);
      assert.equal(a.status, 200);
      assert.equal(a.headers['ratelimit-policy'], '"daily";q=2;w=86400');
      assert.equal(a.headers['ratelimit'], '"daily";r=1;t=2');
      assert.equal((await get(`${base}/x`)).status, 200);
      const refused = await get(`${base}/x`);
      assert.equal(refused.status, 429);
      assert.equal(JSON.parse(refused.text).code, 'quota.exhausted');
      assert.equal(refused.headers['retry-after'], '2');
      assert.equal(refused.headers['ratelimit'], '"daily";r=0;t=2');
      t = Date.UTC(2026, 6, 2, 0, 0, 0, 0);
      const next = await get(`${base}/x`);
      assert.equal(next.status, 200);
      assert.equal(next.headers['ratelimit'], '"daily";r=1;t=86400');
    } finally {
      await gw.stop();
    }
  });
});
