// Retries: a small attempt loop above ProxyHandler (one attempt = one dispatch on one endpoint).
// Envoy semantics (REFERENCE.md 3.4): retry_on conditions, num_retries (default 1), per-try
// timeout inside the route timeout that covers every attempt, fully jittered exponential backoff,
// Retry-After when asked, another endpoint when one is available, retries admitted by the
// cluster's max_retries / retry budget. Never a non-idempotent method unless the route opts in,
// never once response bytes reached the client, never with a body that was not kept for replay.
// Routes without a retry policy never get here (handle-request.ts sends them down the fast path).
import { latin1, type RawHeaders } from './raw-headers.js';
import type { Readable } from 'node:stream';
import type { RequestContext } from '../pipeline/context.js';
import type { Reply } from '../pipeline/filter.js';
import type { RouteConfig } from '../config/schema.js';
import { parseDuration, parseSize } from '../config/units.js';
import type { Cluster, Endpoint } from './cluster.js';
import { proxyRequest, type AttemptOwner, type ProxyOptions } from './proxy.js';

export interface RetryPolicy {
  readonly numRetries: number;
  readonly perTryTimeoutMs: number | undefined;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly respectRetryAfter: boolean;
  readonly retryNonIdempotent: boolean;
  readonly maxReplayBytes: number;
  /** Retriable response statuses (5xx, gateway-error, retriable-4xx, retriable-status-codes folded together). */
  readonly statuses: ReadonlySet<number>;
  /** Any 5xx status (retry_on 5xx). */
  readonly any5xx: boolean;
  /** Retry when no head came and the reason is a connect failure / a reset or timeout. */
  readonly onConnectFailure: boolean;
  readonly onReset: boolean;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const DEFAULT_MAX_REPLAY = 64 * 1024;

export function compileRetryPolicy(cfg: RouteConfig['retry_policy']): RetryPolicy | undefined {
  if (cfg === undefined) return undefined;
  const on = new Set(cfg.retry_on);
  const statuses = new Set<number>();
  if (on.has('gateway-error')) for (const s of [502, 503, 504]) statuses.add(s);
  if (on.has('retriable-4xx')) statuses.add(409);
  if (on.has('retriable-status-codes')) for (const s of cfg.retriable_status_codes ?? []) statuses.add(s);
  const baseMs = cfg.backoff?.base_interval !== undefined ? Math.max(1, parseDuration(cfg.backoff.base_interval)) : 25;
  return {
    numRetries: cfg.num_retries ?? 1,
    perTryTimeoutMs: cfg.per_try_timeout !== undefined ? parseDuration(cfg.per_try_timeout) : undefined,
    baseMs,
    maxMs: cfg.backoff?.max_interval !== undefined ? parseDuration(cfg.backoff.max_interval) : baseMs * 10,
    respectRetryAfter: cfg.respect_retry_after === true,
    retryNonIdempotent: cfg.retry_non_idempotent === true,
    maxReplayBytes: cfg.max_replay_bytes !== undefined ? parseSize(cfg.max_replay_bytes) : DEFAULT_MAX_REPLAY,
    statuses,
    any5xx: on.has('5xx'),
    onConnectFailure: on.has('5xx') || on.has('reset') || on.has('connect-failure'),
    onReset: on.has('5xx') || on.has('reset'),
  };
}

/** May this request be retried at all? Idempotent methods, requests with an Idempotency-Key
 * (SECURITY.md), or any method when the route opts in. Decided once, before the first attempt. */
export function retriableMethod(policy: RetryPolicy, method: string, req?: { header(lowerName: string): string | undefined }): boolean {
  return policy.retryNonIdempotent || IDEMPOTENT.has(method) || (req !== undefined && req.header('idempotency-key') !== undefined);
}

/** Backoff before retry n (1-based): uniform in [0, min(max, (2^n − 1) · base)). */
export function backoffMs(policy: RetryPolicy, n: number, random: () => number): number {
  const cap = Math.min(policy.maxMs, (2 ** Math.min(n, 30) - 1) * policy.baseMs);
  return Math.floor(random() * cap);
}

/** Retry-After as milliseconds (delta-seconds or an HTTP date); undefined when absent or invalid. */
export function retryAfterMs(rawHeaders: RawHeaders, nowMs: number): number | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== 11 || latin1(name).toLowerCase() !== 'retry-after') continue;
    const v = latin1(rawHeaders[i + 1]!).trim();
    if (/^[0-9]{1,9}$/.test(v)) return Number(v) * 1000;
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : Math.max(0, t - nowMs);
  }
  return undefined;
}

export interface RetryOptions {
  cluster: Cluster;
  policy: RetryPolicy;
  /** Options of every attempt; `timeoutMs` is the route timeout (all attempts together). */
  proxy: ProxyOptions;
  /** The whole body (kept for replay) or none. */
  body: Buffer | null;
  random?: () => number;
}

/** One request's attempts. Returned to the access-log hook as the thing a client disconnect cancels. */
export class RetryExchange implements AttemptOwner {
  readonly #ctx: RequestContext;
  readonly #o: RetryOptions;
  #deadline = 0;
  readonly #tried: Endpoint[] = [];
  #handler: { cancel(err: Error): void } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #cancelled = false;
  /** Attempts dispatched so far. */
  #attempts = 0;
  /** The attempt in flight is a retry holding a breaker retry slot. */
  #holdsSlot = false;
  #slotPending = false;
  #delay = 0;

  constructor(ctx: RequestContext, o: RetryOptions) {
    this.#ctx = ctx;
    this.#o = o;
  }

  get attempts(): number {
    return this.#attempts;
  }

  /** The first attempt. The route timeout (covering every attempt) starts now. */
  start(first: Endpoint): void {
    if (this.#cancelled) return;
    this.#deadline = performance.now() + this.#o.proxy.timeoutMs;
    this.#dispatch(first);
  }

  /**
   * Reads a body of known length (at most max_replay_bytes, checked by the caller) into memory,
   * then starts: the bytes can be sent again on a retry.
   */
  startAfterBody(req: Readable, length: number, first: Endpoint): void {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer) => {
      got += c.length;
      if (got > length) return fail(new Error('body longer than Content-Length'));
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      this.#o.body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, got);
      this.start(first);
    };
    const fail = (err: Error) => {
      cleanup();
      req.destroy();
      this.cancel(err);
    };
    const onAborted = () => fail(new Error('client aborted the body'));
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAborted);
      req.off('error', onAborted);
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('aborted', onAborted);
    req.once('error', onAborted);
  }

  cancel(err: Error): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    // A retry was admitted but not dispatched (backing off, or its predecessor's dropped response
    // still draining): its slot goes back.
    if (this.#slotPending) {
      this.#slotPending = false;
      this.#o.cluster.breaker.retryDone();
    }
    this.#handler?.cancel(err);
  }

  retryOnStatus(status: number, rawHeaders: RawHeaders): boolean {
    const p = this.#o.policy;
    if (!(p.statuses.has(status) || (p.any5xx && status >= 500))) return false;
    let wait: number | undefined;
    if (p.respectRetryAfter) wait = retryAfterMs(rawHeaders, Date.now());
    return this.#admit(wait);
  }

  retryOnError(reply: Reply): boolean {
    const p = this.#o.policy;
    const code = reply.code;
    const ok = code === 'upstream.connect_failure' ? p.onConnectFailure : code === 'upstream.timeout' || code === 'upstream.bad_response' ? p.onReset : false;
    if (!ok || !this.#admit(undefined)) return false;
    this.retryNow();
    return true;
  }

  retryNow(): void {
    if (this.#cancelled) return;
    const go = () => {
      this.#timer = undefined;
      if (this.#cancelled) return;
      const ep = this.#o.cluster.pick(this.#ctx, this.#tried);
      if (ep === undefined) {
        this.#slotPending = false;
        this.#o.cluster.breaker.retryDone();
        this.#o.proxy.onFailure(this.#ctx, { status: 503, code: 'upstream.no_healthy_endpoint', message: 'no upstream endpoint is available' });
        return;
      }
      this.#o.cluster.stats.retries++;
      this.#slotPending = false;
      this.#holdsSlot = true;
      this.#dispatch(ep);
    };
    if (this.#delay <= 0) go();
    else this.#timer = setTimeout(go, this.#delay);
  }

  attemptEnded(): void {
    if (this.#holdsSlot) {
      this.#holdsSlot = false;
      this.#o.cluster.breaker.retryDone();
    }
  }

  /** Checks everything a retry needs, takes a breaker retry slot and sets the delay. */
  #admit(retryAfter: number | undefined): boolean {
    if (this.#cancelled || this.#attempts > this.#o.policy.numRetries) return false;
    const remaining = this.#deadline - performance.now();
    const delay = retryAfter ?? backoffMs(this.#o.policy, this.#attempts, this.#o.random ?? Math.random);
    // The route timeout covers every attempt: a retry that could not start in time is not made.
    if (delay >= remaining - 1) return false;
    if (!this.#o.cluster.breaker.admitRetry()) return false;
    this.#slotPending = true;
    this.#delay = delay;
    return true;
  }

  #dispatch(ep: Endpoint): void {
    const n = this.#attempts++;
    this.#tried.push(ep);
    const o = this.#o;
    const remaining = Math.max(1, Math.floor(this.#deadline - performance.now()));
    const perTry = o.policy.perTryTimeoutMs;
    const timeoutMs = perTry !== undefined && perTry < remaining ? perTry : remaining;
    const body = this.#o.body;
    const h = proxyRequest(this.#ctx, ep, { ...o.proxy, timeoutMs, bodyTimeoutMs: o.proxy.bodyTimeoutMs ?? o.proxy.timeoutMs, body }, this, n);
    // A dispatch that failed at once may already have started the next attempt: keep the newest.
    if (this.#attempts === n + 1) this.#handler = h;
  }
}
