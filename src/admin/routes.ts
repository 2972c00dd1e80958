// The admin API's endpoints. JSON unless noted; documented in the README (Admin API).
//   GET /healthz, /ready    liveness and readiness (never behind the token: probes need them)
//   GET /metrics            Prometheus text format
//   GET /config             the running config, secrets redacted
//   GET /routes             routes in match order, with their filters and whether they are public
//   GET /clusters           per cluster: balancing, circuit breakers, discovery; per endpoint: in-flight
//                           requests, attempts, health and ejection state, connection pool
//   POST /explain           the authorization decision for a described request (admin/explain.ts)
import type { ServerResponse } from 'node:http';
import type { Snapshot } from '../config/snapshot.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { routeAuthenticators } from '../filters/registry.js';
import { sendJson, type AdminRoute } from './server.js';
import { explainRoute } from './explain.js';
import { redactConfig } from './redact.js';
import { clusterState } from '../upstream/admin.js';

export interface AdminSources {
  snapshot(): Snapshot;
  draining(): boolean;
  metrics: GatewayMetrics;
  /** Key paths whose value came from a secret reference, for the running config. */
  secretPaths(): readonly string[];
}

export function adminRoutes(src: AdminSources): Map<string, AdminRoute> {
  return new Map<string, AdminRoute>([
    ['/healthz', (_q, res) => sendJson(res, 200, { status: 'ok' })],
    ['/ready', (_q, res) => (src.draining() ? sendJson(res, 503, { ready: false, reason: 'draining' }) : sendJson(res, 200, { ready: true }))],
    ['/metrics', (_q, res) => void metrics(src, res)],
    ['/config', (_q, res) => sendJson(res, 200, redactConfig(src.snapshot().config, src.secretPaths()))],
    ['/routes', (_q, res) => sendJson(res, 200, routes(src.snapshot()))],
    ['/clusters', (_q, res) => sendJson(res, 200, clusters(src.snapshot()))],
    ['POST /explain', explainRoute(() => src.snapshot().config)],
  ]);
}

async function metrics(src: AdminSources, res: ServerResponse): Promise<void> {
  try {
    const text = await src.metrics.render();
    res.writeHead(200, { 'content-type': src.metrics.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  } catch {
    if (!res.headersSent) sendJson(res, 500, { error: 'metrics collection failed' });
  }
}

function routes(snap: Snapshot) {
  return {
    routes: snap.config.routes.map((r, i) => {
      const compiled = snap.router.entries[i]?.value;
      const filters = compiled?.filters.map((f) => f.name ?? 'filter') ?? [];
      return {
        name: r.name,
        match: r.match ?? {},
        cluster: r.cluster ?? null,
        ...(r.clusters !== undefined ? { clusters: r.clusters } : {}),
        public: routeAuthenticators(r.filters).length === 0,
        filters,
        shadow: compiled?.filters.filter((f) => f.shadow).map((f) => f.name) ?? [],
        timeout_ms: compiled?.timeoutMs,
        max_body_bytes: compiled?.maxBodyBytes,
        websocket: compiled?.websocket ?? false,
      };
    }),
  };
}

function clusters(snap: Snapshot) {
  // Balancing, breakers, discovery, health and ejection state: contributed by upstream/admin.ts.
  return { clusters: [...snap.clusters.values()].map(clusterState) };
}
