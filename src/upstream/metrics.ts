// The upstream resilience series, read from the clusters at scrape time (free on the request
// path: the request path only bumps plain counters on the cluster and endpoint objects). Counters
// survive reloads because a replaced cluster hands its stats to its successor (cluster.ts).
import type { Cluster } from './cluster.js';

type Labels = Readonly<Record<string, string>>;
interface Sample {
  labels: Labels;
  value: number;
}

/** A counter or gauge read at scrape time; implements what prom-client's Registry needs. */
class Collected {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly type: 'counter' | 'gauge',
    readonly collect: () => Iterable<Sample>,
  ) {}
  get() {
    const values: { labels: Record<string, string>; value: number }[] = [];
    for (const v of this.collect()) values.push({ labels: { ...v.labels }, value: v.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' as const };
  }
  reset(): void {}
}

export function upstreamResilienceMetrics(clusters: () => Iterable<Cluster>): object[] {
  const perEndpoint = (read: (c: Cluster, e: Cluster['endpoints'][number]) => number) => () => {
    const out: Sample[] = [];
    for (const c of clusters()) for (const e of c.endpoints) out.push({ labels: { cluster: c.name, endpoint: e.origin }, value: read(c, e) });
    return out;
  };
  return [
    new Collected('gatehouse_upstream_attempts_total', 'Upstream attempts (dispatches) per endpoint, retries included', ['cluster', 'endpoint'], 'counter', () => {
      const out: Sample[] = [];
      for (const c of clusters()) for (const [origin, s] of c.stats.endpoints) out.push({ labels: { cluster: c.name, endpoint: origin }, value: s.attempts });
      return out;
    }),
    new Collected('gatehouse_upstream_retries_total', 'Retry attempts made per cluster', ['cluster'], 'counter', () =>
      [...clusters()].map((c) => ({ labels: { cluster: c.name }, value: c.stats.retries })),
    ),
    new Collected(
      'gatehouse_upstream_overflow_total',
      'Circuit-breaker overflows per cluster by limit (outcome: max_requests and max_pending_requests answered 503 upstream.overflow; max_retries and retry_budget skipped a retry)',
      ['cluster', 'outcome'],
      'counter',
      () => {
        const out: Sample[] = [];
        for (const c of clusters()) for (const [k, v] of Object.entries(c.stats.overflow)) out.push({ labels: { cluster: c.name, outcome: k }, value: v });
        return out;
      },
    ),
    new Collected('gatehouse_upstream_ejections_total', 'Outlier ejections per endpoint by detector (outcome: consecutive_5xx, consecutive_gateway_failure, consecutive_local_origin_failure)', ['cluster', 'endpoint', 'outcome'], 'counter', () => {
      const out: Sample[] = [];
      for (const c of clusters()) for (const [origin, s] of c.stats.endpoints) for (const [k, v] of Object.entries(s.ejections)) out.push({ labels: { cluster: c.name, endpoint: origin, outcome: k }, value: v });
      return out;
    }),
    new Collected('gatehouse_upstream_health_checks_total', 'Active health check results per endpoint (outcome: pass, fail)', ['cluster', 'endpoint', 'outcome'], 'counter', () => {
      const out: Sample[] = [];
      for (const c of clusters()) {
        if (c.health === undefined) continue;
        for (const [origin, s] of c.stats.endpoints) {
          out.push({ labels: { cluster: c.name, endpoint: origin, outcome: 'pass' }, value: s.healthChecksPassed });
          out.push({ labels: { cluster: c.name, endpoint: origin, outcome: 'fail' }, value: s.healthChecksFailed });
        }
      }
      return out;
    }),
    new Collected('gatehouse_upstream_endpoint_healthy', '1 when the endpoint passes active health checks (always 1 without them)', ['cluster', 'endpoint'], 'gauge', perEndpoint((_c, e) => (e.healthy ? 1 : 0))),
    new Collected('gatehouse_upstream_endpoint_ejected', '1 while outlier detection has the endpoint ejected', ['cluster', 'endpoint'], 'gauge', perEndpoint((_c, e) => (e.ejected ? 1 : 0))),
    new Collected('gatehouse_upstream_cluster_panic', '1 while the cluster balances over all endpoints because too few are healthy (panic_threshold)', ['cluster'], 'gauge', () =>
      [...clusters()].map((c) => ({ labels: { cluster: c.name }, value: c.panic ? 1 : 0 })),
    ),
    new Collected('gatehouse_upstream_pending_requests', 'Attempts waiting for an upstream connection per cluster (circuit_breakers.max_pending_requests)', ['cluster'], 'gauge', () =>
      [...clusters()].map((c) => ({ labels: { cluster: c.name }, value: c.breaker.pending })),
    ),
    new Collected('gatehouse_upstream_endpoints', 'Endpoints per cluster (from config or discovery)', ['cluster'], 'gauge', () =>
      [...clusters()].map((c) => ({ labels: { cluster: c.name }, value: c.endpoints.length })),
    ),
  ];
}
