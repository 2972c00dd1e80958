// Starts a real gateway on ephemeral ports from an inline config object.
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, type Gateway } from '../../src/gateway.js';
import type { GatehouseConfig, RouteConfig, ClusterConfig } from '../../src/config/schema.js';

export interface TestGateway {
  gw: Gateway;
  url: string;
  port: number;
  adminUrl: string;
  accessLogPath: string;
  /** Parsed access-log lines written so far (waits for the async writer to flush). */
  accessLog(): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

export interface GatewaySpec {
  routes: RouteConfig[];
  clusters: ClusterConfig[];
  limits?: GatehouseConfig['limits'];
  trusted_proxies?: string[];
  listenerTls?: { cert_file: string; key_file: string };
}

export async function startGateway(spec: GatewaySpec): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-test-'));
  const accessLogPath = join(dir, 'access.log');
  const config: GatehouseConfig = {
    listeners: [{ port: 0, address: '127.0.0.1', ...(spec.listenerTls ? { tls: spec.listenerTls } : {}) }],
    admin: { port: 0, address: '127.0.0.1' },
    access_log: { path: accessLogPath },
    routes: spec.routes,
    clusters: spec.clusters,
    ...(spec.limits ? { limits: spec.limits } : {}),
    ...(spec.trusted_proxies ? { trusted_proxies: spec.trusted_proxies } : {}),
  };
  const gw = await createGateway(config, { say: () => undefined });
  const port = gw.ports()[0]!;
  return {
    gw,
    url: `${spec.listenerTls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    adminUrl: `http://127.0.0.1:${gw.adminPort()}`,
    accessLogPath,
    async accessLog() {
      // pino's async destination flushes on its own schedule; give it a moment.
      await new Promise((r) => setTimeout(r, 150));
      if (!existsSync(accessLogPath)) return [];
      return readFileSync(accessLogPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
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
