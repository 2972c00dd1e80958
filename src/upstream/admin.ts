// The /clusters view of one cluster (mounted by admin/routes.ts): balancing, breakers, discovery,
// and per endpoint its in-flight requests, pool, health and ejection state.
import type { Cluster } from './cluster.js';
import { DnsDiscovery } from './discovery/dns.js';

export function clusterState(c: Cluster) {
  const b = c.breaker;
  const now = performance.now();
  const d = c.discovery;
  return {
    name: c.name,
    lb_policy: c.lbPolicy,
    panic: c.panic,
    circuit_breakers: {
      active_requests: b.active,
      pending_requests: b.pending,
      active_retries: b.retries,
      max_requests: b.limits.maxRequests,
      max_pending_requests: b.limits.maxPendingRequests,
      ...(b.limits.budget
        ? { retry_budget: { budget_percent: b.limits.budget.percent, min_retry_concurrency: b.limits.budget.minConcurrency } }
        : { max_retries: b.limits.maxRetries }),
      overflow: { ...c.stats.overflow },
    },
    retries: c.stats.retries,
    discovery:
      d === undefined
        ? { type: 'static' }
        : d instanceof DnsDiscovery
          ? { type: 'dns', resolutions: d.resolutions, next_refresh_ms: d.nextRefreshMs, last_error: d.lastError ?? null }
          : { type: 'file', loads: d.loads, last_error: d.lastError ?? null },
    endpoints: c.endpoints.map((e) => {
      const s = e.pool.stats;
      return {
        endpoint: e.origin,
        weight: e.weight,
        priority: e.priority,
        active_requests: e.active,
        attempts: e.stats.attempts,
        health: {
          // Active checks' verdict (true without them) and outlier detection's.
          healthy: e.healthy,
          ejected: e.ejected,
          ...(e.ejected ? { ejected_for_ms: Math.round(now - e.ejectedAt) } : {}),
          ejection_level: e.ejectionLevel,
          ejections: { ...e.stats.ejections },
          consecutive_5xx: e.consecutive5xx,
          consecutive_gateway_failure: e.consecutiveGatewayFailure,
          consecutive_local_origin_failure: e.consecutiveLocalFailure,
          ...(c.health ? { checks_passed: e.stats.healthChecksPassed, checks_failed: e.stats.healthChecksFailed } : {}),
        },
        pool: { connected: s.connected, free: s.free, pending: s.pending, queued: s.queued, running: s.running, size: s.size },
      };
    }),
  };
}
