// The Snapshot: an immutable, compiled view of one config. Requests read only from it; a reload
// builds a new one and swaps it atomically (in-flight requests keep the one they started with).
import type { GatehouseConfig } from './schema.js';
import type { Filter } from '../pipeline/filter.js';
import type { Router } from '../routing/router.js';
import type { Cluster } from '../upstream/cluster.js';
import type { CidrSet } from '../server/cidr.js';
import type { RetryPolicy } from '../upstream/retry.js';
import type { CompiledFault, CompiledMirror, CompiledSplit } from '../upstream/traffic.js';

export interface ResolvedLimits {
  headerTimeoutMs: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  maxHeaderBytes: number;
  maxHeaderCount: number;
  maxUriBytes: number;
  maxBodyBytes: number;
  maxRequestsPerConnection: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  drainTimeoutMs: number;
}

/** Compiled header operations: names lower-cased once at load. */
export interface CompiledHeaderOps {
  /** Lower-case names to drop (remove + set). */
  remove: ReadonlySet<string>;
  /** Flat [name, value, ...] to append (set + add). */
  append: readonly string[];
}

export interface CompiledRoute {
  readonly name: string;
  readonly index: number;
  readonly cluster: Cluster;
  readonly filters: readonly Filter[];
  readonly stripPrefix: string | undefined;
  readonly addPrefix: string | undefined;
  readonly requestHeaders: CompiledHeaderOps | undefined;
  readonly responseHeaders: CompiledHeaderOps | undefined;
  readonly timeoutMs: number;
  /** Idle time allowed between upstream response body chunks (undefined: timeoutMs). */
  readonly idleTimeoutMs: number | undefined;
  /** Compiled retry_policy; undefined sends the route down the no-retry streaming fast path. */
  readonly retry: RetryPolicy | undefined;
  /** Weighted split between clusters: variants of this route, one per cluster. */
  readonly split: CompiledSplit | undefined;
  readonly fault: CompiledFault | undefined;
  readonly mirror: CompiledMirror | undefined;
  readonly maxBodyBytes: number;
  readonly websocket: boolean;
  /** Audit trail mode: on (default), off, or required (durable record before the upstream call). */
  readonly audit: 'on' | 'off' | 'required';
  /** A filter on this route answers CORS preflights (so they match by the requested method). */
  readonly handlesPreflight: boolean;
}

export interface Snapshot {
  readonly config: GatehouseConfig;
  readonly limits: ResolvedLimits;
  readonly trustedProxies: CidrSet;
  readonly router: Router<CompiledRoute>;
  readonly clusters: ReadonlyMap<string, Cluster>;
  /** True when some route passes WebSocket upgrades. */
  readonly websocket: boolean;
}
