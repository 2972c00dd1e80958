// The top-level `rate_limit_store` section: where rate-limit and quota counters live. Schema (the
// user documentation) and the factory that turns it into the process-wide LimitStore.
import { Type as T, type Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { Duration } from '../config/schema.js';
import { parseDuration } from '../config/units.js';
import type { Clock } from '../pipeline/filter.js';
import type { LimitStore } from './limits.js';
import { createMemoryLimitStore } from './memory.js';
import { createRedisLimitStore } from './redis.js';

const HostPort = T.String({ pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):[0-9]{1,5}$', description: 'host:port' });

// Functions, not constants: config/schema.ts imports this module and this one reads Duration from
// it, so the schemas are built when configSchema() runs, after both modules are initialized.
const redisStoreSchema = () =>
  T.Object(
  {
    url: T.Optional(
      T.String({
        pattern: '^rediss?://',
        description: 'Standalone Redis: redis://[user:password@]host:port[/db], or rediss:// for TLS (default redis://127.0.0.1:6379). Put a password in via ${secret:...}',
      }),
    ),
    sentinel: T.Optional(
      T.Object(
        {
          name: T.String({ minLength: 1, description: 'The master name the sentinels monitor' }),
          nodes: T.Array(HostPort, { minItems: 1, description: 'Sentinels to ask for the current master' }),
        },
        { additionalProperties: false, description: 'Redis Sentinel (ioredis follows failovers); instead of url' },
      ),
    ),
    cluster: T.Optional(
      T.Object(
        { nodes: T.Array(HostPort, { minItems: 1, description: 'Seed nodes; the rest of the cluster is discovered' }) },
        { additionalProperties: false, description: 'Redis Cluster; instead of url. All counters carry one hash tag, so each check runs on one shard' },
      ),
    ),
    username: T.Optional(T.String({ description: 'ACL user (Redis 6+)' })),
    password: T.Optional(T.String({ description: 'Password; use a secret reference, e.g. ${secret:env:REDIS_PASSWORD}' })),
    db: T.Optional(T.Integer({ minimum: 0, maximum: 15, description: 'Database number (standalone and sentinel; default 0)' })),
    tls: T.Optional(T.Boolean({ description: 'Connect with TLS (sentinel and cluster; for standalone use rediss://). Default false' })),
    key_prefix: T.Optional(
      T.String({ maxLength: 64, description: 'Prefix of every key, so several gateways or apps can share one Redis (default "gatehouse:rl:")' }),
    ),
    hash_tag: T.Optional(
      T.String({
        pattern: '^[^{}]{1,32}$',
        description:
          'Redis Cluster hash tag put in every key (default "gh"): the keys one request touches must live on one shard ' +
          'for the atomic script, and a limit may be shared by many requests, so all counters share it',
      }),
    ),
    connect_timeout: T.Optional(Duration),
    command_timeout: T.Optional(Duration),
    auto_pipelining: T.Optional(
      T.Boolean({ description: 'Send the checks of concurrent requests to Redis in one write (ioredis auto-pipelining; default true)' }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Redis connection for shared limits. Defaults: connect_timeout 1s, command_timeout 200ms (a check that takes longer ' +
      "is decided by each limit's on_store_error), auto_pipelining true. Reconnects on its own; no restart needed",
  },
);

export const rateLimitStoreSchema = () =>
  T.Object(
  {
    type: T.Optional(
      T.Union([T.Literal('memory'), T.Literal('redis')], {
        description:
          'memory (default): exact within this process, nothing shared between processes. redis: exact across every ' +
          'gateway sharing the Redis, while it answers (see README, "Rate limits and quotas")',
      }),
    ),
    max_buckets: T.Optional(
      T.Integer({
        minimum: 100,
        description:
          'Most counters held in memory (memory store, and the local fallback of the redis store). Default 1000000 ' +
          '(about 100 MB at worst). Idle counters are dropped first; past the bound the least recently used goes',
      }),
    ),
    redis: T.Optional(redisStoreSchema()),
  },
  { additionalProperties: false, description: 'Where rate-limit and quota counters live (process-wide; kept across reloads)' },
);

export type RateLimitStoreConfig = Static<ReturnType<typeof rateLimitStoreSchema>>;

export interface StoreDeps {
  clock: Clock;
  log: Logger;
  /** Test-only: the Redis script uses `clock` instead of Redis TIME. */
  unsafeTestTime?: boolean;
  /** Called after every shared-store round trip with its duration (metrics). */
  onStoreCall?: (seconds: number, ok: boolean) => void;
}

/** A stable fingerprint: the same config keeps the same store (and its counters) across reloads. */
export const storeConfigKey = (c: RateLimitStoreConfig | undefined): string => JSON.stringify(c ?? {});

export function createLimitStore(c: RateLimitStoreConfig | undefined, deps: StoreDeps): LimitStore {
  const maxBuckets = c?.max_buckets ?? 1_000_000;
  if ((c?.type ?? 'memory') === 'memory') return createMemoryLimitStore({ clock: deps.clock, maxBuckets });
  const r = c?.redis ?? {};
  const mode = r.cluster ? 'cluster' : r.sentinel ? 'sentinel' : 'standalone';
  return createRedisLimitStore({
    mode,
    ...(r.url !== undefined ? { url: r.url } : {}),
    ...(r.cluster ? { nodes: r.cluster.nodes } : r.sentinel ? { nodes: r.sentinel.nodes, masterName: r.sentinel.name } : {}),
    ...(r.username !== undefined ? { username: r.username } : {}),
    ...(r.password !== undefined ? { password: r.password } : {}),
    ...(r.db !== undefined ? { db: r.db } : {}),
    tls: r.tls === true,
    keyPrefix: r.key_prefix ?? 'gatehouse:rl:',
    hashTag: r.hash_tag ?? 'gh',
    connectTimeoutMs: r.connect_timeout !== undefined ? parseDuration(r.connect_timeout) : 1000,
    commandTimeoutMs: r.command_timeout !== undefined ? parseDuration(r.command_timeout) : 200,
    autoPipelining: r.auto_pipelining !== false,
    fallbackMaxBuckets: Math.min(maxBuckets, 100_000),
    clock: deps.clock,
    log: deps.log,
    unsafeTestTime: deps.unsafeTestTime === true,
    onCall: deps.onStoreCall,
  });
}
