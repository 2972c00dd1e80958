// Validated config → immutable Snapshot. The only caller of FilterFactory.create(): everything a
// request needs (matchers, header lists, filter state, pools) is built here, once.
import type { GatehouseConfig, HeaderOpsConfig, LimitsConfig } from './schema.js';
import type { CompiledHeaderOps, CompiledRoute, ResolvedLimits, Snapshot } from './snapshot.js';
import type { Filter, FilterDeps } from '../pipeline/filter.js';
import { parseDuration, parseSize } from './units.js';
import { Router } from '../routing/router.js';
import { compileCidrs } from '../server/cidr.js';
import { clusterConfigKey, createCluster, type Cluster, type UpstreamDeps } from '../upstream/cluster.js';
import { compileRetryPolicy } from '../upstream/retry.js';
import { compileFault } from '../upstream/traffic.js';
import { FILTERS } from '../filters/registry.js';

export const DEFAULT_LIMITS: ResolvedLimits = {
  headerTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 5_000,
  maxHeaderBytes: 60 * 1024,
  maxHeaderCount: 100,
  maxUriBytes: 16 * 1024,
  maxBodyBytes: 10 * 1024 * 1024,
  maxRequestsPerConnection: 1000,
  maxConnections: 10_000,
  maxConnectionsPerIp: 256,
  drainTimeoutMs: 30_000,
};

/** Upstream response timeout when a route sets none (SECURITY.md: upstream response 30 s). */
export const DEFAULT_ROUTE_TIMEOUT_MS = 30_000;

export function resolveLimits(l: LimitsConfig | undefined): ResolvedLimits {
  const d = DEFAULT_LIMITS;
  if (!l) return d;
  const dur = (v: number | string | undefined, def: number) => (v === undefined ? def : parseDuration(v));
  const size = (v: number | string | undefined, def: number) => (v === undefined ? def : parseSize(v));
  return {
    headerTimeoutMs: dur(l.header_timeout, d.headerTimeoutMs),
    requestTimeoutMs: dur(l.request_timeout, d.requestTimeoutMs),
    idleTimeoutMs: dur(l.idle_timeout, d.idleTimeoutMs),
    maxHeaderBytes: size(l.max_header_bytes, d.maxHeaderBytes),
    maxHeaderCount: l.max_header_count ?? d.maxHeaderCount,
    maxUriBytes: size(l.max_uri_bytes, d.maxUriBytes),
    maxBodyBytes: size(l.max_body_bytes, d.maxBodyBytes),
    maxRequestsPerConnection: l.max_requests_per_connection ?? d.maxRequestsPerConnection,
    maxConnections: l.max_connections ?? d.maxConnections,
    maxConnectionsPerIp: l.max_connections_per_ip ?? d.maxConnectionsPerIp,
    drainTimeoutMs: dur(l.drain_timeout, d.drainTimeoutMs),
  };
}

function compileHeaderOps(h: HeaderOpsConfig | undefined): CompiledHeaderOps | undefined {
  if (!h) return undefined;
  const remove = new Set<string>();
  const append: string[] = [];
  for (const n of h.remove ?? []) remove.add(n.toLowerCase());
  for (const [k, v] of Object.entries(h.set ?? {})) {
    remove.add(k.toLowerCase());
    append.push(k, v);
  }
  for (const [k, v] of Object.entries(h.add ?? {})) append.push(k, v);
  return { remove, append };
}

export interface CompileOptions {
  baseDir: string;
  deps: FilterDeps;
  /** Clusters of the previous snapshot: unchanged ones are reused so their pools stay warm. */
  previous?: Snapshot | undefined;
  /** Upstream services (DNS resolver for discovery, warnings). */
  upstream?: UpstreamDeps | undefined;
}

export function compileSnapshot(config: GatehouseConfig, opts: CompileOptions): Snapshot {
  const limits = resolveLimits(config.limits);
  const clusters = new Map<string, Cluster>();
  // Signing (aws_sigv4) reads the filters' clock, so tests that fix the clock fix signatures too.
  const upstream: UpstreamDeps = { ...opts.upstream, clock: opts.upstream?.clock ?? opts.deps.clock };
  /** Signer swaps of reused clusters (rotated credentials), made once the snapshot compiled. */
  const resigned: (() => void)[] = [];
  for (const c of config.clusters) {
    const old = opts.previous?.clusters.get(c.name);
    // A changed cluster of the same name continues the old one's counters (monotonic metrics).
    if (old && old.configKey === clusterConfigKey(c)) {
      clusters.set(c.name, old);
      const swap = old.resign(c);
      if (swap !== undefined) resigned.push(swap);
    } else clusters.set(c.name, createCluster(c, opts.baseDir, upstream, old));
  }
  // Everything created so far is released if a later route fails to compile, so a failed reload
  // leaves no watchers, timers or pools behind (the running snapshot's reused clusters excepted).
  const created: Filter[] = [];
  const release = () => {
    for (const f of created) void Promise.resolve(f.close?.()).catch(() => undefined);
    for (const [name, c] of clusters) if (opts.previous?.clusters.get(name) !== c) void c.close();
  };
  let routes: CompiledRoute[];
  let router: Router<CompiledRoute>;
  try {
    routes = compileRoutes(config, clusters, limits, opts, created);
    router = new Router(routes.map((value, i) => ({ match: config.routes[i]!.match, value })));
  } catch (err) {
    release();
    throw err;
  }
  const snap: Snapshot = {
    config,
    limits,
    trustedProxies: compileCidrs(config.trusted_proxies ?? []),
    router,
    clusters,
    websocket: routes.some((r) => r.websocket),
  };
  for (const swap of resigned) swap();
  return snap;
}

function compileRoutes(config: GatehouseConfig, clusters: Map<string, Cluster>, limits: ResolvedLimits, opts: CompileOptions, created: Filter[]): CompiledRoute[] {
  return config.routes.map((r, index): CompiledRoute => {
    const clusterName = r.cluster ?? r.clusters?.[0]?.name ?? '';
    const cluster = clusters.get(clusterName);
    if (!cluster) throw new Error(`routes[${index}].cluster: unknown cluster "${clusterName}"`);
    const filters: Filter[] = [];
    const chosen: Record<string, unknown> = { ...(r.filters ?? {}) };
    // A route with an authenticator always gets the authn gate (401 when nobody authenticated),
    // even when the user did not configure the gate explicitly: deny when in doubt.
    // It gets authz too, which denies unless a policy allows (or the route says allow: authenticated).
    if (FILTERS.some((f) => f.authenticator && chosen[f.name] !== undefined)) {
      chosen.authn ??= {};
      chosen.authz ??= {};
    }
    for (const factory of [...FILTERS].sort((a, b) => a.order - b.order)) {
      const fc = chosen[factory.name];
      if (fc === undefined) continue;
      const f = factory.create(fc, opts.deps, { route: r.name, config });
      f.name ??= factory.name;
      created.push(f);
      filters.push(f);
    }
    const route: CompiledRoute = {
      name: r.name,
      index,
      cluster,
      filters,
      stripPrefix: r.rewrite?.strip_prefix?.replace(/\/$/, '') || undefined,
      // Stored without a trailing slash so forwarding is one concatenation; `/` means no prefix.
      addPrefix: r.rewrite?.prefix?.replace(/\/+$/, '') || undefined,
      requestHeaders: compileHeaderOps(r.request_headers),
      responseHeaders: compileHeaderOps(r.response_headers),
      timeoutMs: r.timeout !== undefined ? parseDuration(r.timeout) : DEFAULT_ROUTE_TIMEOUT_MS,
      idleTimeoutMs: r.idle_timeout !== undefined ? parseDuration(r.idle_timeout) : undefined,
      retry: compileRetryPolicy(r.retry_policy),
      split: undefined,
      fault: compileFault(r.fault),
      mirror: r.mirror !== undefined ? { cluster: knownCluster(clusters, r.mirror.cluster, `routes[${index}].mirror.cluster`), percent: r.mirror.percent ?? 100 } : undefined,
      maxBodyBytes: r.max_body_bytes !== undefined ? parseSize(r.max_body_bytes) : limits.maxBodyBytes,
      websocket: r.websocket === true,
      audit: r.audit ?? 'on',
      handlesPreflight: filters.some((f) => f.handlesPreflight === true),
    };
    if (r.clusters === undefined) return route;
    // A weighted split: one variant of the route per cluster (handle-request.ts picks one per request).
    const variants = r.clusters.map((w, j) => ({ ...route, cluster: knownCluster(clusters, w.name, `routes[${index}].clusters[${j}].name`) }));
    let sum = 0;
    const cumulative = r.clusters.map((w) => (sum += w.weight));
    return { ...route, split: { variants, cumulative, header: r.cluster_header?.toLowerCase() } };
  });
}

function knownCluster(clusters: Map<string, Cluster>, name: string, at: string): Cluster {
  const c = clusters.get(name);
  if (!c) throw new Error(`${at}: unknown cluster "${name}"`);
  return c;
}

/** Stops the background work (health checks, discovery, ejection timers) of clusters the new
 * snapshot does not reuse, at once; their pools keep serving in-flight requests until retired. */
export function quiesceSnapshot(old: Snapshot, next: Snapshot): void {
  const keep = new Set(next.clusters.values());
  for (const c of old.clusters.values()) if (!keep.has(c)) c.stopBackground();
}

/** Release what an old snapshot holds that the new one does not reuse. */
export async function retireSnapshot(old: Snapshot, next: Snapshot | undefined): Promise<void> {
  const keep = new Set(next ? [...next.clusters.values()] : []);
  const closing: Promise<unknown>[] = [];
  for (const c of old.clusters.values()) if (!keep.has(c)) closing.push(c.close());
  for (const r of old.router.entries) for (const f of r.value.filters) if (f.close) closing.push(Promise.resolve(f.close()));
  await Promise.allSettled(closing);
}
