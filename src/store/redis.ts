// The shared limit store: Redis through ioredis (standalone, Sentinel or Cluster). One EVALSHA per
// request decides all its limits atomically on Redis server time (redis-script.ts). The keys of
// one request share a hash tag, so the script runs on one Cluster shard. Commands never queue
// while Redis is away (enableOfflineQueue off) and time out after command_timeout: a dead Redis
// costs a request at most that long. Then each limit's failure mode decides: fail_open limits go
// to a local in-memory bucket holding this instance's share, fail_closed ones answer 503. Every
// such decision is counted and logged with the request id. ioredis reconnects on its own, so the
// shared limits come back without a restart.
import { Redis, Cluster, type RedisOptions, type ClusterOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from '../pipeline/filter.js';
import { newStats, type CheckOptions, type CheckResult, type LimitOutcome, type LimitSpec, type LimitStore, type StoreUnavailable } from './limits.js';
import { createMemoryLimitStore, type MemoryLimitStore } from './memory.js';
import { LIMIT_SCRIPT } from './redis-script.js';

export interface RedisLimitStoreOptions {
  mode: 'standalone' | 'sentinel' | 'cluster';
  /** standalone: redis://[user:pass@]host:port/db or rediss://... */
  url?: string;
  /** cluster: seed nodes; sentinel: the sentinels ("host:port"). */
  nodes?: readonly string[];
  /** sentinel: the monitored master's name. */
  masterName?: string;
  username?: string;
  password?: string;
  db?: number;
  tls?: boolean;
  keyPrefix: string;
  hashTag: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  autoPipelining: boolean;
  /** Bound of the local fallback buckets (memory store). */
  fallbackMaxBuckets?: number;
  clock: Clock;
  log: Logger;
  /**
   * Test-only: send `clock.now()` to the script instead of using Redis TIME. Never reachable from
   * the config file; tests set it to cross window boundaries without waiting.
   */
  unsafeTestTime?: boolean;
  /** Duration of every script round trip, for the store latency metric. */
  onCall?: ((seconds: number, ok: boolean) => void) | undefined;
}

type ScriptRunner = { ghLimit(...args: (string | number)[]): Promise<number[]> };

export interface RedisLimitStore extends LimitStore {
  readonly type: 'redis';
  /** The local fallback used while Redis is unreachable (fail_open limits). */
  readonly fallback: MemoryLimitStore;
  /** Resolves once connected, or after connect_timeout (the gateway starts either way). */
  ready(): Promise<boolean>;
}

export function createRedisLimitStore(o: RedisLimitStoreOptions): RedisLimitStore {
  const log = o.log;
  const stats = newStats();
  const fallback = createMemoryLimitStore({ clock: o.clock, maxBuckets: o.fallbackMaxBuckets ?? 100_000 });
  const base: RedisOptions = {
    connectTimeout: o.connectTimeoutMs,
    commandTimeout: o.commandTimeoutMs,
    // Never queue while disconnected: a request must fail fast to its failure mode, not wait.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: o.autoPipelining,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.db !== undefined ? { db: o.db } : {}),
    ...(o.tls ? { tls: {} } : {}),
  };
  let client: Redis | Cluster;
  if (o.mode === 'cluster') {
    const copts: ClusterOptions = {
      redisOptions: base,
      enableOfflineQueue: false,
      enableAutoPipelining: o.autoPipelining,
      scaleReads: 'master',
      clusterRetryStrategy: (times: number) => Math.min(100 * times, 2000),
    };
    client = new Cluster((o.nodes ?? []).map(hostPort), copts);
  } else if (o.mode === 'sentinel') {
    client = new Redis({ ...base, sentinels: (o.nodes ?? []).map(hostPort), name: o.masterName ?? 'mymaster' });
  } else {
    client = new Redis(o.url ?? 'redis://127.0.0.1:6379', base);
  }
  client.defineCommand('ghLimit', { lua: LIMIT_SCRIPT });
  const run = client as unknown as ScriptRunner;

  // Connection state changes are logged once each, not per request.
  let up = false;
  let lastError = '';
  client.on('ready', () => {
    if (!up && lastError !== '') log.warn({ store: 'redis' }, 'rate limit store: redis reachable again; shared limits enforced');
    up = true;
  });
  client.on('error', (err: Error) => {
    if (err.message !== lastError) log.warn({ store: 'redis', err: err.message }, 'rate limit store: redis error');
    lastError = err.message;
  });
  let closing = false;
  client.on('close', () => {
    if (up && !closing) log.warn({ store: 'redis' }, 'rate limit store: redis connection lost; limits use their failure mode');
    up = false;
    lastError ||= 'connection closed';
  });

  const tagged = `${o.keyPrefix}{${o.hashTag}}:`;

  function decideLocally(specs: readonly LimitSpec[], keys: readonly string[], err: unknown, opts: CheckOptions | undefined): CheckResult | StoreUnavailable {
    stats.errors++;
    const message = err instanceof Error ? err.message : String(err);
    const closed = specs.find((s) => !s.failOpen);
    if (closed !== undefined) {
      stats.unavailable++;
      log.warn({ store: 'redis', request_id: opts?.requestId, limit: closed.name, failure_mode: 'fail_closed', err: message }, 'rate limit store unavailable: refused (503)');
      return { unavailable: true, error: message };
    }
    stats.fallbackDecisions++;
    const r = fallback.check(specs.map((s) => s.fallback ?? s), keys, opts);
    log.warn(
      { store: 'redis', request_id: opts?.requestId, failure_mode: 'fail_open', admitted: r.admitted, limits: specs.map((s) => s.name), err: message },
      'rate limit store unavailable: decided on the local fallback bucket',
    );
    return { admitted: r.admitted, outcomes: r.outcomes, source: 'fallback' };
  }

  async function check(specs: readonly LimitSpec[], keys: readonly string[], opts?: CheckOptions): Promise<CheckResult | StoreUnavailable> {
    const n = specs.length;
    const redisKeys: string[] = [];
    const argv: (string | number)[] = [o.unsafeTestTime ? o.clock.now() : '', n, opts?.dryRun ? '1' : '0', o.unsafeTestTime ? 3_600_000 : 0];
    const now = o.clock.now();
    for (let i = 0; i < n; i++) {
      const s = specs[i]!;
      const k = tagged + keys[i]!;
      if (s.kind === 'bucket') {
        redisKeys.push(k);
        argv.push('b', s.shadow ? '1' : '0', s.ratePerMs, s.capacity, 0, 0, 0);
      } else {
        const [s0, s1, s2, e2] = s.window!.around(now);
        redisKeys.push(`${k}:${s0}`, `${k}:${s1}`, `${k}:${s2}`);
        argv.push('w', s.shadow ? '1' : '0', s.capacity, s0, s1, s2, e2);
      }
    }
    let reply: number[];
    const t0 = o.onCall ? performance.now() : 0;
    try {
      reply = await run.ghLimit(redisKeys.length, ...redisKeys, ...argv);
    } catch (err) {
      o.onCall?.((performance.now() - t0) / 1000, false);
      return decideLocally(specs, keys, err, opts);
    }
    o.onCall?.((performance.now() - t0) / 1000, true);
    stats.decisions++;
    const outcomes: LimitOutcome[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const b = 1 + i * 5;
      outcomes[i] = { ok: reply[b] === 1, remaining: reply[b + 1]!, waitMs: reply[b + 2]!, resetMs: reply[b + 3]!, windowMs: reply[b + 4]! };
    }
    return { admitted: reply[0] === 1, outcomes, source: 'store' };
  }

  return {
    type: 'redis',
    stats,
    fallback,
    check,
    ready() {
      if (client.status === 'ready') return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (v: boolean) => {
          clearTimeout(t);
          client.off('ready', onReady);
          resolve(v);
        };
        const onReady = () => done(true);
        const t = setTimeout(() => done(false), o.connectTimeoutMs);
        client.on('ready', onReady);
      });
    },
    async close() {
      closing = true;
      await fallback.close();
      if (client.status !== 'ready') return client.disconnect();
      // QUIT lets in-flight replies land; a Redis that stopped answering gets cut after a second.
      const cut = setTimeout(() => client.disconnect(), 1000);
      await client.quit().catch(() => client.disconnect());
      clearTimeout(cut);
    },
  };
}

function hostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  if (i < 0) return { host: s, port: 6379 };
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}
