// Starts a real gateway on ephemeral ports from an inline config object.
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, type Gateway } from '../../src/gateway.js';
import type { GatehouseConfig, RouteConfig, ClusterConfig } from '../../src/config/schema.js';
import type { Clock } from '../../src/pipeline/filter.js';
import { startUpstream, type TestUpstream } from './upstream.js';

export interface TestGateway {
  gw: Gateway;
  url: string;
  port: number;
  adminUrl: string;
  accessLogPath: string;
  /** Parsed access-log lines; polls (up to 5 s) until `until` holds, since lines are batched. */
  accessLog(until?: (lines: Array<Record<string, unknown>>) => boolean): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

export interface GatewaySpec {
  routes: RouteConfig[];
  clusters: ClusterConfig[];
  limits?: GatehouseConfig['limits'];
  trusted_proxies?: string[];
  listenerTls?: { cert_file: string; key_file: string };
  /** Clock for the filters (default the system clock). */
  clock?: Clock;
  authorization?: GatehouseConfig['authorization'];
  /** Any other top-level config (decision_log, admin token...), merged last. */
  top?: Partial<GatehouseConfig>;
  /** Key paths to treat as secret-sourced (as the loader reports them), for /config redaction. */
  secretPaths?: string[];
}

export async function startGateway(spec: GatewaySpec): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-test-'));
  const accessLogPath = join(dir, 'access.log');
  const config: GatehouseConfig = {
    listeners: [{ port: 0, address: '127.0.0.1', ...(spec.listenerTls ? { tls: spec.listenerTls } : {}) }],
    access_log: { path: accessLogPath },
    routes: spec.routes,
    clusters: spec.clusters,
    ...(spec.limits ? { limits: spec.limits } : {}),
    ...(spec.trusted_proxies ? { trusted_proxies: spec.trusted_proxies } : {}),
    ...(spec.authorization ? { authorization: spec.authorization } : {}),
    ...spec.top,
    admin: { port: 0, address: '127.0.0.1', ...spec.top?.admin },
  };
  const gw = await createGateway(config, { say: () => undefined, ...(spec.clock ? { clock: spec.clock } : {}), ...(spec.secretPaths ? { secretPaths: spec.secretPaths } : {}) });
  const port = gw.ports()[0]!;
  return {
    gw,
    url: `${spec.listenerTls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    adminUrl: `http://127.0.0.1:${gw.adminPort()}`,
    accessLogPath,
    async accessLog(until = (l) => l.length > 0) {
      const read = () =>
        existsSync(accessLogPath)
          ? readFileSync(accessLogPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
          : [];
      for (let i = 0; i < 100; i++) {
        const lines = read();
        if (until(lines)) return lines;
        await new Promise((r) => setTimeout(r, 50));
      }
      return read();
    },
    stop: () => gw.stop(),
  };
}

/** One route forwarding everything to one cluster. */
export function simpleSpec(upstreamUrl: string, route: Partial<RouteConfig> = {}, extra: Partial<GatewaySpec> = {}): GatewaySpec {
  return {
    routes: [{ name: 'all', match: { path: { prefix: '/' } }, cluster: 'up', ...route }],
    clusters: [{ name: 'up', endpoints: [upstreamUrl] }],
    ...extra,
  };
}

/** Short client timeouts (header 500 ms, request 2 s, idle 2 s), so raw-socket suites stay fast. */
export const SHORT_TIMEOUTS: NonNullable<GatehouseConfig['limits']> = { header_timeout: '500ms', request_timeout: '2s', idle_timeout: '2s' };

/** A recording upstream with a gateway in front of it (`simpleSpec` plus `extra`); `stop` stops both. */
export async function startProxied(extra: Partial<GatewaySpec> = {}): Promise<{ up: TestUpstream; gh: TestGateway; stop(): Promise<void> }> {
  const up = await startUpstream();
  const gh = await startGateway(simpleSpec(up.url, {}, extra));
  return {
    up,
    gh,
    stop: async () => {
      await gh.stop();
      await up.close();
    },
  };
}
