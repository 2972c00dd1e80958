// The gateway's Prometheus metrics, served on the admin listener at /metrics. Everything the hot
// path touches is a pre-bound series (series.ts): per route and per upstream endpoint the series
// objects are found once per request through two map lookups and updated with plain arithmetic.
// Labels stay low-cardinality: route and cluster names, endpoint origins from the config, a fixed
// method set (others are "OTHER"), status classes, and reason codes from the registry.
import client from 'prom-client';
import type { RequestContext } from '../pipeline/context.js';
import type { CompiledRoute } from '../config/snapshot.js';
import type { Cluster } from '../upstream/cluster.js';
import { upstreamResilienceMetrics } from '../upstream/metrics.js';
import { PREVIOUS_CREDENTIAL_CODE } from '../filters/common/identity.js';
import { CollectedCounter, CollectedGauge, CounterFamily, HistogramFamily, type CounterSeries, type HistogramSeries, type Labels } from './series.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'OTHER'] as const;
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'none'] as const;
const OUTCOMES = ['allow', 'deny', 'shadow_deny'] as const;
/** Seconds; from sub-millisecond local answers to the 30 s default upstream timeout. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const NO_ROUTE = 'none';
/** Seconds; a healthy Redis answers in well under a millisecond, the command timeout caps it. */
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
/** Filters whose decisions are authentication results. */
const AUTHN_FILTERS = new Set(['authn', 'jwt', 'sigv4', 'api_key', 'mtls']);
const UPSTREAM_FAILURES = new Set(['upstream.timeout', 'upstream.connect_failure', 'upstream.bad_response']);

function methodIndex(m: string): number {
  switch (m) {
    case 'GET': return 0;
    case 'HEAD': return 1;
    case 'POST': return 2;
    case 'PUT': return 3;
    case 'PATCH': return 4;
    case 'DELETE': return 5;
    case 'OPTIONS': return 6;
    default: return 7;
  }
}
const classIndex = (status: number) => (status >= 100 && status < 600 ? ((status / 100) | 0) - 1 : 5);

interface RouteSeries {
  readonly name: string;
  /** [method * CLASSES.length + class] */
  readonly requests: (CounterSeries | undefined)[];
  readonly duration: (HistogramSeries | undefined)[];
  readonly bytesIn: CounterSeries;
  readonly bytesOut: CounterSeries;
  /** Decision series by filter, then reason code (or auth method for authn successes), then outcome. */
  readonly decisions: Map<string, Map<string, (CounterSeries | undefined)[]>>;
}

interface UpstreamSeries {
  readonly requests: (CounterSeries | undefined)[];
  readonly duration: HistogramSeries;
  readonly failures: Map<string, CounterSeries>;
}

/** What the metrics read off the rate-limit store (its own plain counters). */
export interface StoreStatsSource {
  readonly type: string;
  readonly stats: { decisions: number; fallbackDecisions: number; unavailable: number; errors: number; evictions: number };
}

export interface MetricsSources {
  /** The process-wide rate-limit store (swapped when rate_limit_store changes). */
  limitStore?(): StoreStatsSource;
  /** Open client connections per listener name. */
  connections(): Iterable<{ listener: string; count: number }>;
  /** The clusters of the running config. */
  clusters(): Iterable<Cluster>;
}

export class GatewayMetrics {
  readonly registry = new client.Registry();
  readonly contentType = client.Registry.PROMETHEUS_CONTENT_TYPE;
  #started = 0;
  #finished = 0;
  readonly #routes = new WeakMap<CompiledRoute, RouteSeries>();
  readonly #noRoute: RouteSeries;
  readonly #upstreams = new WeakMap<Cluster, Map<string, UpstreamSeries>>();

  readonly #requests = new CounterFamily('gatehouse_http_requests_total', 'Requests answered, by route, method and status class', ['route', 'method', 'status_class']);
  readonly #duration = new HistogramFamily('gatehouse_http_request_duration_seconds', 'Time from the request head to the end of the response', ['route', 'method'], DURATION_BUCKETS);
  readonly #bytesIn = new CounterFamily('gatehouse_http_request_body_bytes_total', 'Request body bytes received from clients', ['route']);
  readonly #bytesOut = new CounterFamily('gatehouse_http_response_body_bytes_total', 'Response body bytes relayed to clients', ['route']);
  readonly #upRequests = new CounterFamily('gatehouse_upstream_requests_total', 'Upstream exchanges by cluster, endpoint and upstream status class (none: no response)', ['cluster', 'endpoint', 'status_class']);
  readonly #upDuration = new HistogramFamily('gatehouse_upstream_response_duration_seconds', 'Time from dispatch to the upstream response head', ['cluster', 'endpoint'], DURATION_BUCKETS);
  readonly #upFailures = new CounterFamily('gatehouse_upstream_failures_total', 'Upstream exchanges that failed, by reason (upstream.timeout, upstream.connect_failure, upstream.bad_response)', ['cluster', 'endpoint', 'reason']);
  readonly #authn = new CounterFamily('gatehouse_authn_results_total', 'Authentication results by route, method (jwt, sigv4, api_key, mtls; none when no credential) and result (success or a reason code)', ['route', 'method', 'result']);
  readonly #authnPrevious = new CounterFamily(
    'gatehouse_authn_previous_credential_total',
    'Authentications whose credential verified only against the previous value of a rotated secret (secrets.overlap), by route and method; also counted as success',
    ['route', 'method'],
  );
  readonly #decisions = new CounterFamily('gatehouse_edge_decisions_total', 'Edge decisions (authz, rate limits, quotas, cors) by route, filter, outcome (allow, deny, shadow_deny) and reason code', ['route', 'filter', 'outcome', 'code']);
  readonly #reloads = new CounterFamily('gatehouse_config_reloads_total', 'Configuration reloads by result (success, failure)', ['result']);
  readonly #auditFailures = new CounterFamily('gatehouse_audit_write_failures_total', 'Audit trail writes that failed (the gateway kept serving)', []);
  readonly #auditWebhookFailures = new CounterFamily('gatehouse_audit_webhook_failures_total', 'Audit webhook POSTs that failed or were refused (each attempt; retried)', []);
  readonly #auditWebhookDropped = new CounterFamily('gatehouse_audit_webhook_dropped_total', 'Audit records the webhook never delivered (queue full, refused as malformed, or undelivered at shutdown); the local chain keeps them', []);
  readonly #storeDuration = new HistogramFamily('gatehouse_ratelimit_store_duration_seconds', 'Round trips to the shared rate-limit store (Redis), by result', ['result'], STORE_BUCKETS);

  constructor(sources: MetricsSources, version: string) {
    this.#noRoute = this.#bindRoute(NO_ROUTE);
    const r = this.registry;
    for (const f of [this.#requests, this.#duration, this.#bytesIn, this.#bytesOut, this.#upRequests, this.#upDuration, this.#upFailures, this.#authn, this.#authnPrevious, this.#decisions, this.#reloads, this.#auditFailures, this.#auditWebhookFailures, this.#auditWebhookDropped, this.#storeDuration]) {
      r.registerMetric(f as unknown as client.Metric);
    }
    const gauges = [
      new CollectedGauge('gatehouse_http_requests_in_flight', 'Requests received and not yet answered', [], () => [{ labels: {}, value: this.#started - this.#finished }]),
      new CollectedGauge('gatehouse_connections_active', 'Open client connections by listener', ['listener'], () =>
        [...sources.connections()].map((c) => ({ labels: { listener: c.listener }, value: c.count })),
      ),
      new CollectedGauge('gatehouse_upstream_active_requests', 'Requests in flight per upstream endpoint', ['cluster', 'endpoint'], () => {
        const out: { labels: Labels; value: number }[] = [];
        for (const c of sources.clusters()) for (const e of c.endpoints) out.push({ labels: { cluster: c.name, endpoint: e.origin }, value: e.active });
        return out;
      }),
      new CollectedCounter('gatehouse_ratelimit_store_decisions_total', 'Rate-limit decisions by store (memory, redis) and source (store; fallback: the local bucket while Redis was unreachable)', ['store', 'source'], () => {
        const st = sources.limitStore?.();
        return st ? [{ labels: { store: st.type, source: 'store' }, value: st.stats.decisions }, { labels: { store: st.type, source: 'fallback' }, value: st.stats.fallbackDecisions }] : [];
      }),
      new CollectedCounter('gatehouse_ratelimit_store_errors_total', 'Failed store calls (timeouts, connection errors), and 503s because a fail_closed limit had no store', ['store', 'kind'], () => {
        const st = sources.limitStore?.();
        return st ? [{ labels: { store: st.type, kind: 'error' }, value: st.stats.errors }, { labels: { store: st.type, kind: 'unavailable' }, value: st.stats.unavailable }] : [];
      }),
      new CollectedCounter('gatehouse_ratelimit_store_evictions_total', 'Memory-store buckets evicted to stay within max_buckets', ['store'], () => {
        const st = sources.limitStore?.();
        return st ? [{ labels: { store: st.type }, value: st.stats.evictions }] : [];
      }),
      new CollectedGauge('gatehouse_build_info', 'Always 1; the version label says which build runs', ['version'], () => [{ labels: { version }, value: 1 }]),
    ];
    for (const g of gauges) r.registerMetric(g as unknown as client.Metric);
    // Attempts, retries, overflow, ejections, health: contributed by the upstream subsystem.
    for (const m of upstreamResilienceMetrics(() => sources.clusters())) r.registerMetric(m as unknown as client.Metric);
    client.collectDefaultMetrics({ register: r });
    // promtool's lint refuses a gauge named *_total. prom-client's defaults carry such gauges next
    // to per-type ones without the suffix (nodejs_active_handles{type=...}); the totals go, and a
    // total without a typed twin is re-registered under the suffix-less name.
    for (const [old, name, help, read] of [
      ['nodejs_active_handles_total', 'nodejs_active_handles', 'Active libuv handles', () => activeCount('_getActiveHandles')],
      ['nodejs_active_requests_total', 'nodejs_active_requests', 'Active libuv requests', () => activeCount('_getActiveRequests')],
      ['nodejs_active_resources_total', 'nodejs_active_resources', 'Active resources keeping the event loop alive', () => process.getActiveResourcesInfo().length],
    ] as const) {
      if (r.getSingleMetric(old) === undefined) continue;
      r.removeSingleMetric(old);
      if (r.getSingleMetric(name) === undefined) {
        r.registerMetric(new CollectedGauge(name, help, [], () => [{ labels: {}, value: read() }]) as unknown as client.Metric);
      }
    }
  }

  requestStarted(): void {
    this.#started++;
  }

  /** Called once per request when its response closed (the access log's moment). */
  requestEnded(ctx: RequestContext, now: number): void {
    this.#finished++;
    const route = ctx.route;
    const rs = route === undefined ? this.#noRoute : (this.#routes.get(route) ?? this.#routeSeries(route));
    const m = methodIndex(ctx.method);
    const c = classIndex(ctx.status);
    const k = m * CLASSES.length + c;
    (rs.requests[k] ??= this.#requests.bind(rs.name, METHODS[m]!, CLASSES[c]!)).inc();
    (rs.duration[m] ??= this.#duration.bind(rs.name, METHODS[m]!)).observe((now - ctx.start) / 1000);
    if (ctx.bytesIn > 0) rs.bytesIn.inc(ctx.bytesIn);
    if (ctx.bytesOut > 0) rs.bytesOut.inc(ctx.bytesOut);
    if (route !== undefined && ctx.endpoint !== undefined) this.#upstream(route.cluster, ctx);
    const ds = ctx.decisions;
    if (ds !== undefined) {
      for (let i = 0; i < ds.length; i++) {
        const d = ds[i]!;
        const o = d.allowed ? 0 : d.enforced ? 1 : 2;
        // Nested lookups (filter, then code or auth method, then outcome): no key string per request.
        let byFilter = rs.decisions.get(d.filter);
        if (byFilter === undefined) rs.decisions.set(d.filter, (byFilter = new Map()));
        // Only an authn allow with a previous credential has both a code and a method.
        const sub = d.code === undefined ? (d.authMethod ?? '') : d.authMethod === undefined ? d.code : `${d.code}\u0000${d.authMethod}`;
        let byOutcome = byFilter.get(sub);
        if (byOutcome === undefined) byFilter.set(sub, (byOutcome = [undefined, undefined, undefined]));
        let s = byOutcome[o];
        if (s === undefined) {
          const code = d.code ?? 'none';
          s = byOutcome[o] = AUTHN_FILTERS.has(d.filter)
            ? this.#authn.bind(rs.name, d.authMethod ?? (d.filter === 'authn' ? 'none' : d.filter), d.allowed ? 'success' : code)
            : this.#decisions.bind(rs.name, d.filter, OUTCOMES[o]!, code);
        }
        s.inc();
        if (d.code === PREVIOUS_CREDENTIAL_CODE) this.#authnPrevious.bind(rs.name, d.authMethod ?? 'none').inc();
      }
    }
  }

  /** An answer the HTTP parser forced before a request existed (no route, no method class). */
  refusal(status: number): void {
    const c = classIndex(status);
    (this.#noRoute.requests[7 * CLASSES.length + c] ??= this.#requests.bind(NO_ROUTE, 'OTHER', CLASSES[c]!)).inc();
  }

  auditWriteFailed(): void {
    this.#auditFailures.bind().inc();
  }

  auditWebhookFailed(): void {
    this.#auditWebhookFailures.bind().inc();
  }

  auditWebhookDropped(n: number): void {
    this.#auditWebhookDropped.bind().inc(n);
  }

  storeCall(seconds: number, ok: boolean): void {
    this.#storeDuration.bind(ok ? 'ok' : 'error').observe(seconds);
  }

  configReloaded(ok: boolean): void {
    this.#reloads.bind(ok ? 'success' : 'failure').inc();
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  #bindRoute(name: string): RouteSeries {
    return {
      name,
      requests: new Array(METHODS.length * CLASSES.length).fill(undefined),
      duration: new Array(METHODS.length).fill(undefined),
      bytesIn: this.#bytesIn.bind(name),
      bytesOut: this.#bytesOut.bind(name),
      decisions: new Map(),
    };
  }

  #routeSeries(route: CompiledRoute): RouteSeries {
    // Bound by name: a reload's new CompiledRoute gets the same underlying series.
    const rs = this.#bindRoute(route.name);
    this.#routes.set(route, rs);
    return rs;
  }

  #upstream(cluster: Cluster, ctx: RequestContext): void {
    let byOrigin = this.#upstreams.get(cluster);
    if (byOrigin === undefined) this.#upstreams.set(cluster, (byOrigin = new Map()));
    const origin = ctx.endpoint!;
    let us = byOrigin.get(origin);
    if (us === undefined) {
      us = { requests: new Array(CLASSES.length).fill(undefined), duration: this.#upDuration.bind(cluster.name, origin), failures: new Map() };
      byOrigin.set(origin, us);
    }
    const answered = ctx.upstreamHeadersAt > 0;
    const c = answered ? classIndex(ctx.status) : 5;
    (us.requests[c] ??= this.#upRequests.bind(cluster.name, origin, CLASSES[c]!)).inc();
    if (answered) us.duration.observe((ctx.upstreamHeadersAt - ctx.upstreamStart) / 1000);
    const code = ctx.code;
    if (code !== undefined && UPSTREAM_FAILURES.has(code)) {
      let f = us.failures.get(code);
      if (f === undefined) us.failures.set(code, (f = this.#upFailures.bind(cluster.name, origin, code)));
      f.inc();
    }
  }
}

function activeCount(fn: '_getActiveHandles' | '_getActiveRequests'): number {
  const get = (process as unknown as Record<string, (() => unknown[]) | undefined>)[fn];
  return typeof get === 'function' ? get.call(process).length : 0;
}
