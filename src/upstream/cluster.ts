// A cluster: named endpoints, each with its own undici Pool (keep-alive), picked round-robin by
// weight. Endpoint choice stays above undici so later work (least-request, health, outlier
// ejection) can wrap the pick step without touching the send step.
import { Pool } from 'undici';
import { readFileSync } from 'node:fs';
import type { ClusterConfig } from '../config/schema.js';
import { parseDuration } from '../config/units.js';

export interface Endpoint {
  /** Origin, e.g. http://127.0.0.1:9000: the label used in logs and metrics. */
  readonly origin: string;
  readonly weight: number;
  readonly pool: Pool;
  /** Requests in flight on this endpoint (for least-request later, and /clusters). */
  active: number;
}

export interface Cluster {
  readonly name: string;
  readonly endpoints: readonly Endpoint[];
  pick(): Endpoint | undefined;
  close(): Promise<void>;
  /** A key describing everything that affects pools: equal keys may share pools across reloads. */
  readonly configKey: string;
  /** TLS options for connections made outside undici (WebSocket tunnels). */
  readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; rejectUnauthorized: boolean };
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_KEEPALIVE_MS = 4_000;
const DEFAULT_CONNECTIONS = 128;

export function createCluster(cfg: ClusterConfig, baseDir: string): Cluster {
  const tls = cfg.tls;
  const read = (f: string | undefined) => (f ? readFileSync(resolveFrom(baseDir, f)) : undefined);
  const connect: { timeout: number; ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; rejectUnauthorized: boolean } = {
    timeout: cfg.connect_timeout !== undefined ? parseDuration(cfg.connect_timeout) : DEFAULT_CONNECT_TIMEOUT_MS,
    ca: read(tls?.ca_file),
    cert: read(tls?.cert_file),
    key: read(tls?.key_file),
    servername: tls?.servername,
    rejectUnauthorized: tls?.insecure_skip_verify !== true,
  };
  const keepAliveTimeout = cfg.keepalive_timeout !== undefined ? parseDuration(cfg.keepalive_timeout) : DEFAULT_KEEPALIVE_MS;
  const endpoints: Endpoint[] = cfg.endpoints.map((e) => {
    const url = new URL(typeof e === 'string' ? e : e.url);
    const origin = url.origin;
    return {
      origin,
      weight: typeof e === 'string' ? 1 : (e.weight ?? 1),
      active: 0,
      pool: new Pool(origin, {
        connections: cfg.max_connections_per_endpoint ?? DEFAULT_CONNECTIONS,
        keepAliveTimeout,
        keepAliveMaxTimeout: Math.max(keepAliveTimeout, 60_000),
        pipelining: 1,
        connect,
      }),
    };
  });
  // Weighted round-robin by a precomputed schedule: per pick it is one index increment.
  const schedule: Endpoint[] = [];
  const maxW = Math.max(...endpoints.map((e) => e.weight));
  for (let round = 1; round <= maxW; round++) for (const e of endpoints) if (e.weight >= round) schedule.push(e);
  let next = 0;
  return {
    name: cfg.name,
    endpoints,
    configKey: JSON.stringify(cfg),
    tls: connect,
    pick() {
      if (schedule.length === 0) return undefined;
      const e = schedule[next]!;
      next = next + 1 === schedule.length ? 0 : next + 1;
      return e;
    },
    async close() {
      await Promise.all(endpoints.map((e) => e.pool.close().catch(() => undefined)));
    },
  };
}

function resolveFrom(baseDir: string, file: string): string {
  return file.startsWith('/') ? file : `${baseDir}/${file}`;
}
