// A cluster: pick → admit → send → observe. Endpoints (each with its own undici Pool) come from
// the config, DNS or a file; a balancer picks one per attempt among those that take traffic
// (healthy, not ejected; priority levels; panic threshold). Circuit breakers admit requests,
// outlier detection and active health checks keep the healthy set current. Endpoint choice stays
// above undici (STYLE.md): retries (retry.ts) wrap the send step, one dispatch per attempt.
import { Pool } from 'undici';
import { H1Pool, nativeParserAvailable, type UpstreamPool } from './h1-pool.js';
import { readFileSync } from 'node:fs';
import type { ClusterConfig } from '../config/schema.js';
import { parseDuration } from '../config/units.js';
import { Endpoint, newEndpointStats, type EndpointSpec, type EndpointStats } from './endpoint.js';
import { Breaker, DEFAULT_BREAKER_LIMITS, newOverflowStats, type OverflowStats } from './breaker.js';
import { EMPTY, type Balancer, type BalancerFactory } from './lb/balancer.js';
import { roundRobin } from './lb/round-robin.js';
import { leastRequest } from './lb/least-request.js';
import { random } from './lb/random.js';
import { hashKey, ringHash } from './lb/ring-hash.js';
import { OUTLIER_DEFAULTS, OutlierDetector } from './health/outlier.js';
import { ActiveHealthChecker } from './health/active.js';
import { parseEndpointEntries } from './discovery/endpoints.js';
import { DnsDiscovery, systemResolver, type DnsResolver } from './discovery/dns.js';
import { FileDiscovery } from './discovery/file.js';
import { AwsSigner } from './aws-sigv4.js';
import { systemClock, type Clock } from '../pipeline/filter.js';

export type { Endpoint } from './endpoint.js';

/** What a balancer may read of a request (RequestContext satisfies it). */
export interface PickInput {
  header(lowerName: string): string | undefined;
  readonly clientIp: string;
}

/** Counters that outlive a reload: a new cluster of the same name continues them. */
export interface ClusterStats {
  readonly endpoints: Map<string, EndpointStats>;
  readonly overflow: OverflowStats;
  retries: number;
}

export interface UpstreamDeps {
  /** DNS resolver for dns discovery (tests inject one). */
  resolver?: DnsResolver | undefined;
  /** Operational warnings (discovery failures). */
  warn?: ((msg: string) => void) | undefined;
  /** Randomness for balancers and jitter (default Math.random). */
  random?: (() => number) | undefined;
  /** Time for SigV4 signing (aws_sigv4; default the system clock). */
  clock?: Clock | undefined;
}

export interface ClusterTlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized: boolean;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_KEEPALIVE_MS = 4_000;
const DEFAULT_CONNECTIONS = 128;

const POLICIES: Record<string, BalancerFactory> = { round_robin: roundRobin, least_request: leastRequest, random, ring_hash: ringHash };

export class Cluster {
  readonly name: string;
  /** A key describing everything that affects pools: equal keys may share pools across reloads
   * (aws_sigv4 is left out: a rotated credential swaps the signer, see resign()). */
  readonly configKey: string;
  /** TLS options for connections made outside undici (WebSocket tunnels). */
  readonly tls: ClusterTlsOptions;
  readonly breaker: Breaker;
  readonly stats: ClusterStats;
  readonly lbPolicy: string;
  readonly outlier: OutlierDetector | undefined;
  readonly health: ActiveHealthChecker | undefined;
  readonly discovery: DnsDiscovery | FileDiscovery | undefined;
  #endpoints: Endpoint[] = [];
  readonly #byOrigin = new Map<string, Endpoint>();
  readonly #factory: BalancerFactory;
  readonly #random: () => number;
  readonly #panicPercent: number;
  readonly #failoverPercent: number;
  readonly #hashOf: ((p: PickInput) => string | undefined) | undefined;
  readonly #poolOptions: Pool.Options;
  /** `http_client` is builtin (the default): endpoints get H1Pool. */
  readonly #builtinClient: boolean;
  /** Signs every attempt (aws_sigv4); undefined for most clusters, the request path's one check. */
  #signer: AwsSigner | undefined;
  #signerKey: string;
  readonly #clock: Clock;
  readonly #signedHost: string | undefined;
  #balancer: Balancer = EMPTY;
  #dirty = true;
  #panic = false;
  #closed = false;
  readonly #draining = new Set<Promise<void>>();

  constructor(cfg: ClusterConfig, baseDir: string, deps: UpstreamDeps = {}, previous?: Cluster) {
    this.name = cfg.name;
    this.configKey = clusterConfigKey(cfg);
    const rnd = (this.#random = deps.random ?? Math.random);
    const tls = cfg.tls;
    const read = (f: string | undefined) => (f ? readFileSync(resolveFrom(baseDir, f)) : undefined);
    const dnsUrl = cfg.discovery?.type === 'dns' ? new URL(cfg.discovery.url!) : undefined;
    const connect: ClusterTlsOptions & { timeout: number } = {
      timeout: cfg.connect_timeout !== undefined ? parseDuration(cfg.connect_timeout) : DEFAULT_CONNECT_TIMEOUT_MS,
      ca: read(tls?.ca_file),
      cert: read(tls?.cert_file),
      key: read(tls?.key_file),
      // DNS endpoints are addresses: the certificate is checked against the name that was resolved.
      servername: tls?.servername ?? dnsUrl?.hostname,
      rejectUnauthorized: tls?.insecure_skip_verify !== true,
    };
    this.tls = connect;
    this.#clock = deps.clock ?? systemClock;
    // DNS endpoints are addresses: AWS expects the name that was resolved as the Host.
    this.#signedHost = dnsUrl?.host;
    this.#signer = cfg.aws_sigv4 === undefined ? undefined : new AwsSigner(cfg.aws_sigv4, this.#clock, this.#signedHost);
    this.#signerKey = JSON.stringify(cfg.aws_sigv4 ?? null);
    const keepAliveTimeout = cfg.keepalive_timeout !== undefined ? parseDuration(cfg.keepalive_timeout) : DEFAULT_KEEPALIVE_MS;
    const cb = cfg.circuit_breakers;
    this.#builtinClient = cfg.http_client !== 'undici';
    this.#poolOptions = {
      connections: cb?.max_connections ?? cfg.max_connections_per_endpoint ?? DEFAULT_CONNECTIONS,
      keepAliveTimeout,
      keepAliveMaxTimeout: Math.max(keepAliveTimeout, 60_000),
      pipelining: 1,
      connect,
    };
    this.stats = previous?.stats ?? { endpoints: new Map(), overflow: newOverflowStats(), retries: 0 };
    const d = DEFAULT_BREAKER_LIMITS;
    this.breaker = new Breaker(
      {
        maxPendingRequests: cb?.max_pending_requests ?? d.maxPendingRequests,
        maxRequests: cb?.max_requests ?? d.maxRequests,
        maxRetries: cb?.max_retries ?? d.maxRetries,
        // A retry budget unless the config asks for Envoy's fixed max_retries (SECURITY.md: retries
        // bounded by a share of the traffic).
        budget:
          cb?.retry_budget !== undefined || cb?.max_retries === undefined
            ? { percent: cb?.retry_budget?.budget_percent ?? 20, minConcurrency: cb?.retry_budget?.min_retry_concurrency ?? 3 }
            : undefined,
      },
      this.stats.overflow,
    );
    this.lbPolicy = cfg.lb_policy ?? 'round_robin';
    this.#factory = POLICIES[this.lbPolicy]!;
    this.#hashOf = this.lbPolicy === 'ring_hash' ? compileHashOn(cfg.hash_on) : undefined;
    this.#panicPercent = cfg.panic_threshold ?? 50;
    this.#failoverPercent = cfg.priority_failover_threshold ?? 70;
    const changed = () => {
      this.#dirty = true;
    };
    const od = cfg.outlier_detection;
    if (od !== undefined) {
      const o = OUTLIER_DEFAULTS;
      const dur = (v: number | string | undefined, def: number) => (v === undefined ? def : parseDuration(v));
      this.outlier = new OutlierDetector(
        {
          consecutive5xx: od.consecutive_5xx ?? o.consecutive5xx,
          consecutiveGatewayFailure: od.consecutive_gateway_failure ?? o.consecutiveGatewayFailure,
          consecutiveLocalFailure: od.consecutive_local_origin_failure ?? o.consecutiveLocalFailure,
          split: od.split_external_local_origin_errors ?? o.split,
          baseEjectionMs: dur(od.base_ejection_time, o.baseEjectionMs),
          maxEjectionMs: dur(od.max_ejection_time, o.maxEjectionMs),
          intervalMs: Math.max(1, dur(od.interval, o.intervalMs)),
          maxEjectionPercent: od.max_ejection_percent ?? o.maxEjectionPercent,
        },
        { endpoints: () => this.#endpoints, changed, now: () => performance.now() },
      );
    }
    const hc = cfg.health_check;
    if (hc !== undefined) {
      const intervalMs = hc.interval !== undefined ? parseDuration(hc.interval) : 10_000;
      this.health = new ActiveHealthChecker(
        {
          path: hc.path,
          host: hc.host,
          intervalMs,
          timeoutMs: hc.timeout !== undefined ? parseDuration(hc.timeout) : 2_000,
          jitterMs: hc.jitter !== undefined ? parseDuration(hc.jitter) : Math.min(1_000, Math.round(intervalMs / 10)),
          healthyThreshold: hc.healthy_threshold ?? 2,
          unhealthyThreshold: hc.unhealthy_threshold ?? 3,
          expected: hc.expected_statuses ? new Set(hc.expected_statuses) : undefined,
        },
        connect,
        {
          random: rnd,
          changed: (ep, healthy) => {
            ep.healthy = healthy;
            // Envoy's successful_active_health_check_uneject_host: a passing check ends an ejection.
            if (healthy && ep.ejected) this.outlier?.uneject(ep);
            changed();
          },
        },
      );
    }
    const warn = deps.warn ?? (() => undefined);
    const disc = cfg.discovery;
    if (disc?.type === 'dns') {
      const u = dnsUrl!;
      this.discovery = new DnsDiscovery(
        {
          scheme: u.protocol,
          hostname: u.hostname.replace(/^\[|\]$/g, ''),
          port: u.port || (u.protocol === 'https:' ? '443' : '80'),
          family: disc.family ?? 4,
          minRefreshMs: disc.min_refresh !== undefined ? parseDuration(disc.min_refresh) : 1_000,
          maxRefreshMs: disc.max_refresh !== undefined ? parseDuration(disc.max_refresh) : 300_000,
        },
        deps.resolver ?? systemResolver,
        (specs) => this.setEndpoints(specs),
        (err) => warn(`cluster ${this.name}: dns discovery failed, keeping ${this.#endpoints.length} endpoint(s): ${err.message}`),
      );
    } else if (disc?.type === 'file') {
      this.discovery = new FileDiscovery(
        resolveFrom(baseDir, disc.path!),
        disc.poll_interval !== undefined ? parseDuration(disc.poll_interval) : 1_000,
        (specs) => this.setEndpoints(specs),
        (err) => warn(`cluster ${this.name}: endpoint file not usable, keeping ${this.#endpoints.length} endpoint(s): ${err.message}`),
      );
    } else {
      this.setEndpoints(parseEndpointEntries(cfg.endpoints ?? [], `clusters.${cfg.name}.endpoints`));
    }
    this.discovery?.start();
  }

  /** The SigV4 signer of this cluster's upstream requests (aws_sigv4), if any. */
  get signer(): AwsSigner | undefined {
    return this.#signer;
  }

  /**
   * Credential rotation: a reload whose config of this cluster differs only in aws_sigv4 keeps the
   * cluster (pools, health, ejections) and swaps its signer. Returns the swap, to run once the new
   * snapshot compiled (a failed reload changes nothing), or undefined when aws_sigv4 is unchanged.
   * Attempts already sent keep their signature; every attempt after the swap uses the new one.
   */
  resign(cfg: ClusterConfig): (() => void) | undefined {
    const key = JSON.stringify(cfg.aws_sigv4 ?? null);
    if (key === this.#signerKey) return undefined;
    const next = cfg.aws_sigv4 === undefined ? undefined : new AwsSigner(cfg.aws_sigv4, this.#clock, this.#signedHost);
    return () => {
      this.#signer = next;
      this.#signerKey = key;
    };
  }

  /** The endpoints now (a new array after each membership change; never mutated in place). */
  get endpoints(): readonly Endpoint[] {
    return this.#endpoints;
  }

  /** True while fewer than panic_threshold of the endpoints are healthy (all of them take traffic). */
  get panic(): boolean {
    if (this.#dirty) this.#rebuild();
    return this.#panic;
  }

  /** The endpoint for one attempt; `exclude` lists endpoints this request already tried. */
  pick(input?: PickInput, exclude?: readonly Endpoint[]): Endpoint | undefined {
    if (this.#dirty) this.#rebuild();
    const hashOf = this.#hashOf;
    let hash: number | undefined;
    if (hashOf !== undefined && input !== undefined) {
      const key = hashOf(input);
      if (key !== undefined) hash = hashKey(key);
    }
    return this.#balancer.pick(hash, exclude);
  }

  /**
   * Replaces the endpoint set (discovery). Endpoints that stay keep their pool, counters and
   * health; new ones start healthy; removed ones stop taking new attempts and their pool closes
   * once its in-flight requests finished (undici's close() waits for them).
   */
  /** Endpoints get H1Pool (Node's own parser; see h1-pool.ts for why) unless the cluster asks
   * for undici (`http_client: undici`) or this Node has no usable HTTPParser. */
  #newPool(origin: string): UpstreamPool {
    const o = this.#poolOptions;
    if (this.#builtinClient && nativeParserAvailable) {
      return new H1Pool(origin, {
        connections: o.connections!,
        keepAliveTimeout: o.keepAliveTimeout!,
        keepAliveMaxTimeout: o.keepAliveMaxTimeout!,
        connectTimeoutMs: (o.connect as { timeout: number }).timeout,
        tls: this.tls,
      });
    }
    return new Pool(origin, o);
  }

  setEndpoints(specs: readonly EndpointSpec[]): void {
    if (this.#closed) return;
    const next: Endpoint[] = [];
    const keep = new Set<string>();
    for (const s of specs) {
      if (keep.has(s.origin)) continue;
      keep.add(s.origin);
      let ep = this.#byOrigin.get(s.origin);
      if (ep === undefined) {
        let st = this.stats.endpoints.get(s.origin);
        if (st === undefined) this.stats.endpoints.set(s.origin, (st = newEndpointStats()));
        ep = new Endpoint(s, this.#newPool(s.origin), this.breaker, this.outlier, st);
        this.#byOrigin.set(s.origin, ep);
        this.health?.add(ep);
      } else {
        ep.weight = s.weight;
        ep.priority = s.priority;
      }
      next.push(ep);
    }
    for (const [origin, ep] of this.#byOrigin) {
      if (keep.has(origin)) continue;
      this.#byOrigin.delete(origin);
      ep.removed = true;
      this.health?.remove(ep);
      const p = ep.pool.close().catch(() => undefined);
      this.#draining.add(p);
      void p.then(() => this.#draining.delete(p));
    }
    this.#endpoints = next;
    this.#dirty = true;
  }

  /** Stops timers and watchers (health checks, ejection timers, discovery); pools keep serving. */
  stopBackground(): void {
    this.health?.close();
    this.outlier?.close();
    this.discovery?.close();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.stopBackground();
    await Promise.all([...this.#endpoints.map((e) => e.pool.close().catch(() => undefined)), ...this.#draining]);
  }

  /**
   * The balancer over the endpoints that take traffic: the lowest priority level whose healthy
   * share reaches priority_failover_threshold (else every healthy endpoint); every endpoint
   * when fewer than panic_threshold are healthy (Envoy's panic mode).
   */
  #rebuild(): void {
    this.#dirty = false;
    const all = this.#endpoints;
    const healthy = all.filter((e) => e.available);
    let chosen: readonly Endpoint[] | undefined;
    const levels = [...new Set(all.map((e) => e.priority))].sort((a, b) => a - b);
    if (levels.length <= 1) chosen = healthy;
    else {
      for (const level of levels) {
        const members = all.filter((e) => e.priority === level);
        const up = members.filter((e) => e.available);
        if (up.length > 0 && up.length * 100 >= this.#failoverPercent * members.length) {
          chosen = up;
          break;
        }
      }
      chosen ??= healthy;
    }
    this.#panic = all.length > 0 && healthy.length * 100 < this.#panicPercent * all.length;
    if (this.#panic) chosen = all;
    this.#balancer = chosen.length === 0 ? EMPTY : this.#factory(chosen, this.#random);
  }
}

/** Everything of a cluster's config that needs a new Cluster when it changes (all but aws_sigv4). */
export function clusterConfigKey(cfg: ClusterConfig): string {
  if (cfg.aws_sigv4 === undefined) return JSON.stringify(cfg);
  const { aws_sigv4: _signing, ...rest } = cfg;
  return JSON.stringify(rest);
}

export function createCluster(cfg: ClusterConfig, baseDir: string, deps: UpstreamDeps = {}, previous?: Cluster): Cluster {
  return new Cluster(cfg, baseDir, deps, previous);
}

function compileHashOn(h: ClusterConfig['hash_on']): ((p: PickInput) => string | undefined) | undefined {
  if (h === undefined) return undefined;
  if ('header' in h) {
    const name = h.header.toLowerCase();
    return function hashHeader(p) {
      return p.header(name);
    };
  }
  if ('cookie' in h) {
    const prefix = `${h.cookie}=`;
    return function hashCookie(p) {
      const c = p.header('cookie');
      if (c === undefined) return undefined;
      for (const part of c.split(';')) {
        const t = part.trim();
        if (t.startsWith(prefix)) return t.slice(prefix.length);
      }
      return undefined;
    };
  }
  return function hashClientIp(p) {
    return p.clientIp;
  };
}

function resolveFrom(baseDir: string, file: string): string {
  return file.startsWith('/') ? file : `${baseDir}/${file}`;
}
