// One upstream endpoint: its connection pool and the state the balancer, the circuit breakers and
// health (active checks, outlier ejection) keep about it. Plain mutable fields: the request path
// reads and bumps them with plain arithmetic.
import type { UpstreamPool } from './h1-pool.js';
import type { Breaker } from './breaker.js';
import type { OutlierDetector } from './health/outlier.js';

/** Counters kept across reloads (the cluster's stats carry them over by endpoint origin). */
export interface EndpointStats {
  attempts: number;
  healthChecksPassed: number;
  healthChecksFailed: number;
  /** Ejections by detector (consecutive_5xx, consecutive_gateway_failure, consecutive_local_origin_failure). */
  ejections: Record<string, number>;
}

export const newEndpointStats = (): EndpointStats => ({ attempts: 0, healthChecksPassed: 0, healthChecksFailed: 0, ejections: {} });

export interface EndpointSpec {
  origin: string;
  weight: number;
  priority: number;
}

export class Endpoint {
  /** Origin, e.g. http://127.0.0.1:9000: the label used in logs and metrics. */
  readonly origin: string;
  weight: number;
  priority: number;
  readonly pool: UpstreamPool;
  /** The cluster's admission counters (shared by its endpoints). */
  readonly breaker: Breaker;
  /** The cluster's outlier detector, when configured. */
  readonly outlier: OutlierDetector | undefined;
  readonly stats: EndpointStats;
  /** Attempts in flight on this endpoint. */
  active = 0;
  /** The active health check's verdict (true until a check says otherwise). */
  healthy = true;
  /** Ejected by outlier detection until the uneject timer fires. */
  ejected = false;
  ejectedAt = 0;
  /** Ejection multiplier (grows per ejection, decays while the endpoint stays in). */
  ejectionLevel = 0;
  /** performance.now() of the last uneject (for the multiplier's decay). */
  unejectedAt = 0;
  consecutive5xx = 0;
  consecutiveGatewayFailure = 0;
  consecutiveLocalFailure = 0;
  /** Left the endpoint set (discovery): its pool drains and closes. */
  removed = false;

  constructor(spec: EndpointSpec, pool: UpstreamPool, breaker: Breaker, outlier: OutlierDetector | undefined, stats: EndpointStats) {
    this.origin = spec.origin;
    this.weight = spec.weight;
    this.priority = spec.priority;
    this.pool = pool;
    this.breaker = breaker;
    this.outlier = outlier;
    this.stats = stats;
  }

  /** Takes traffic outside panic mode. */
  get available(): boolean {
    return this.healthy && !this.ejected;
  }
}
