// Traffic shaping on a route: weighted split between clusters (canary) with a header override,
// request mirroring (fire-and-forget shadow traffic), and fault injection (delay, abort). All of
// it is compiled at config load; a route without any of them pays one property check each.
import type { Dispatcher } from 'undici';
import type { RequestContext } from '../pipeline/context.js';
import type { Reply } from '../pipeline/filter.js';
import type { CompiledRoute } from '../config/snapshot.js';
import type { RouteConfig } from '../config/schema.js';
import { parseDuration } from '../config/units.js';
import type { Cluster, Endpoint } from './cluster.js';
import { isReply } from './aws-sigv4.js';

// ---------- weighted split ----------

/** A split route compiles to one variant per cluster (same route, other cluster), so the access
 * log, metrics and traces name the cluster that served, with no per-request bookkeeping. */
export interface CompiledSplit {
  readonly variants: readonly CompiledRoute[];
  /** Cumulative weights, parallel to variants. */
  readonly cumulative: readonly number[];
  /** Request header naming a cluster of the split (override for testing), lower-case. */
  readonly header: string | undefined;
}

export function chooseVariant(split: CompiledSplit, ctx: RequestContext, random: () => number = Math.random): CompiledRoute {
  const v = split.variants;
  if (split.header !== undefined) {
    const want = ctx.header(split.header);
    if (want !== undefined) for (let i = 0; i < v.length; i++) if (v[i]!.cluster.name === want) return v[i]!;
  }
  const c = split.cumulative;
  const total = c[c.length - 1]!;
  if (total <= 0) return v[0]!;
  const r = random() * total;
  for (let i = 0; i < c.length; i++) if (r < c[i]!) return v[i]!;
  return v[v.length - 1]!;
}

// ---------- fault injection ----------

export interface CompiledFault {
  readonly delayMs: number;
  readonly delayPercent: number;
  readonly abortStatus: number;
  readonly abortPercent: number;
  /** Clients may ask for faults with x-gatehouse-fault-* headers (test routes only). */
  readonly headers: boolean;
  readonly maxDelayMs: number;
}

export const FAULT_DELAY_HEADER = 'x-gatehouse-fault-delay-request';
export const FAULT_ABORT_HEADER = 'x-gatehouse-fault-abort-request';

export function compileFault(f: RouteConfig['fault']): CompiledFault | undefined {
  if (f === undefined) return undefined;
  return {
    delayMs: f.delay?.fixed_delay !== undefined ? parseDuration(f.delay.fixed_delay) : 0,
    delayPercent: f.delay?.percentage ?? (f.delay !== undefined ? 100 : 0),
    abortStatus: f.abort?.http_status ?? 0,
    abortPercent: f.abort?.percentage ?? (f.abort !== undefined ? 100 : 0),
    headers: f.header_control === true,
    maxDelayMs: f.max_delay !== undefined ? parseDuration(f.max_delay) : 10_000,
  };
}

/** The fault for this request: an abort reply, a delay in ms, or undefined for none. */
export function decideFault(f: CompiledFault, ctx: RequestContext, random: () => number = Math.random): Reply | number | undefined {
  let abort = f.abortPercent > 0 && random() * 100 < f.abortPercent ? f.abortStatus : 0;
  let delay = f.delayPercent > 0 && random() * 100 < f.delayPercent ? f.delayMs : 0;
  if (f.headers) {
    const a = ctx.header(FAULT_ABORT_HEADER);
    if (a !== undefined && /^[1-5][0-9][0-9]$/.test(a) && Number(a) >= 200) abort = Number(a);
    const d = ctx.header(FAULT_DELAY_HEADER);
    if (d !== undefined && /^[0-9]{1,9}$/.test(d)) delay = Math.min(Number(d), f.maxDelayMs);
  }
  if (abort > 0) return { status: abort, code: 'fault.abort', message: 'the request was aborted by fault injection' };
  return delay > 0 ? delay : undefined;
}

// ---------- mirroring ----------

export interface CompiledMirror {
  readonly cluster: Cluster;
  readonly percent: number;
}

/** Reads and drops a mirrored response; gives the endpoint and breaker slots back once. */
class MirrorHandler implements Dispatcher.DispatchHandler {
  #ep: Endpoint;
  #done = false;
  #pending = true;
  constructor(ep: Endpoint) {
    this.#ep = ep;
  }
  #release(): void {
    if (this.#done) return;
    this.#done = true;
    const e = this.#ep;
    e.active--;
    e.breaker.active--;
    if (this.#pending) {
      this.#pending = false;
      e.breaker.pending--;
    }
  }
  onConnect(): void {
    if (this.#pending) {
      this.#pending = false;
      this.#ep.breaker.pending--;
    }
  }
  onHeaders(): boolean {
    return true;
  }
  onData(): boolean {
    return true;
  }
  onComplete(): void {
    this.#release();
  }
  onError(): void {
    this.#release();
  }
}

/**
 * Sends a copy of the request to the mirror cluster and forgets it: the client's response never
 * waits for it or depends on it. The shadow's Host gets "-shadow" appended (as Envoy does), so
 * the mirror can tell shadow traffic apart. Skipped when the mirror cluster is at capacity.
 */
export function mirrorRequest(m: CompiledMirror, ctx: RequestContext, path: string, headers: readonly string[], body: Buffer | null, timeoutMs: number): void {
  const cluster = m.cluster;
  if (cluster.breaker.admit() !== undefined) return;
  const ep = cluster.pick(ctx);
  if (ep === undefined) return;
  let copy: string[];
  const signer = cluster.signer;
  if (signer !== undefined) {
    // A signing mirror cluster: the copy carries the signed Host (AWS refuses any other), not "-shadow".
    const prepared = signer.prepare(path);
    if (isReply(prepared)) return;
    copy = signer.sign(ctx.method, prepared, headers, ep.origin, body);
  } else {
    copy = headers.slice();
    for (let i = 0; i < copy.length; i += 2) {
      if (copy[i]!.length === 4 && copy[i]!.toLowerCase() === 'host') copy[i + 1] = `${copy[i + 1]}-shadow`;
    }
  }
  ep.active++;
  ep.stats.attempts++;
  ep.breaker.active++;
  ep.breaker.pending++;
  const handler = new MirrorHandler(ep);
  try {
    ep.pool.dispatch(
      { path, method: ctx.method as Dispatcher.HttpMethod, headers: copy, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, idempotent: false },
      handler,
    );
  } catch {
    // Should undici throw instead of reporting through onError, the shadow is dropped all the same.
    handler.onError();
  }
}
