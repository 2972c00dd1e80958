// Sends one request upstream through undici's lowest public API (Pool.dispatch with a handler
// object and raw header arrays; see shared/PERFORMANCE.md for why) and streams the response back
// with backpressure both ways. One object per request serves as the undici handler and its state.
import type { Dispatcher } from 'undici';
import type { Readable } from 'node:stream';
import type { RequestContext } from '../pipeline/context.js';
import type { Endpoint } from './cluster.js';
import type { Reply } from '../pipeline/filter.js';
import { filterResponseHeaders } from '../server/request-headers.js';
import type { RawHeaders } from './raw-headers.js';
import type { AttemptTrace } from '../observability/tracing-types.js';
import type { AwsSigning } from './aws-sigv4.js';

export interface ProxyOptions {
  path: string;
  headers: string[];
  /** The client stream, or the whole body when a filter buffered it. */
  body: Readable | Buffer | null;
  timeoutMs: number;
  /** Response header changes from the route. */
  responseRemove: ReadonlySet<string> | undefined;
  responseAppend: readonly string[] | undefined;
  /** Called when the exchange failed before any response byte went to the client. */
  onFailure(ctx: RequestContext, reply: Reply): void;
  /** Idle time allowed between response body chunks (default timeoutMs). */
  bodyTimeoutMs?: number | undefined;
  /** The cluster signs with SigV4 (aws_sigv4): each attempt's headers are signed for its endpoint. */
  aws?: AwsSigning | undefined;
}

/** The retry loop driving an attempt (retry.ts). The no-retry fast path has none. */
export interface AttemptOwner {
  /** A response head arrived: true drops this response (its body is read and discarded) for a retry. */
  retryOnStatus(status: number, rawHeaders: RawHeaders): boolean;
  /** The attempt failed before any head: true when a retry was scheduled instead of `reply`. */
  retryOnError(reply: Reply): boolean;
  /** The dropped response ended: go on with the retry. */
  retryNow(): void;
  /** The attempt released its endpoint (always called once per attempt, first). */
  attemptEnded(): void;
}

const VIA = '1.1 gatehouse';
/** Informational (1xx) responses skipped per exchange before the upstream counts as broken (row 24). */
const MAX_INFORMATIONAL = 8;

class ProxyHandler implements Dispatcher.DispatchHandler {
  #ctx: RequestContext;
  #opts: ProxyOptions;
  #endpoint: Endpoint;
  #abort: ((err?: Error) => void) | undefined;
  #done = false;
  /** cancel() before undici handed us its abort function. */
  #cancelled: Error | undefined;
  #informational = 0;
  #resume: (() => void) | undefined;
  /** The response head (status 0: none pending), kept until the first body byte or the end: a
   * framing error right after the head can still be answered with a 502 instead of a cut. */
  #headStatus = 0;
  #headHeaders: string[] | undefined = undefined;
  /** Body bytes still to come by the upstream's Content-Length, or -1 when it sent none. The chunk
   * that completes the body ends the client response in the same call (one write path instead of
   * write() + end(); undici's onComplete follows in the same parser pass). */
  #bodyLeft = -1;
  /** The client response was ended by the chunk that completed the body. */
  #ended = false;
  /** This attempt's CLIENT span when the request is traced. */
  #attempt: AttemptTrace | undefined;
  #upstreamStatus = 0;
  /** The retry loop driving this attempt; undefined on the no-retry fast path. */
  #owner: AttemptOwner | undefined;
  /** Still waiting for a pool connection (the circuit breakers' pending count). */
  #pending = true;
  /** This response is dropped for a retry: its body is read and discarded. */
  #swallow = false;

  constructor(ctx: RequestContext, endpoint: Endpoint, opts: ProxyOptions, attempt: AttemptTrace | undefined, owner: AttemptOwner | undefined) {
    this.#ctx = ctx;
    this.#opts = opts;
    this.#endpoint = endpoint;
    this.#attempt = attempt;
    this.#owner = owner;
  }

  /** Gives the endpoint and the breaker slots back; exactly once per attempt. */
  #release(): void {
    const e = this.#endpoint;
    e.active--;
    e.breaker.active--;
    if (this.#pending) {
      this.#pending = false;
      e.breaker.pending--;
    }
    if (this.#owner !== undefined) this.#owner.attemptEnded();
  }

  /** The client went away: stop the upstream side. Nobody is left to answer, so the exchange ends
   * here and the abort's echo through onError is ignored (the access log keeps the client's code). */
  cancel(err: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#release();
    this.#headStatus = 0;
    this.#attempt?.end(this.#upstreamStatus, 'client.disconnected');
    if (this.#abort) this.#abort(err);
    else this.#cancelled = err;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#pending) {
      this.#pending = false;
      this.#endpoint.breaker.pending--;
    }
    // The client went away while the request waited for a pool connection: never send it.
    if (this.#cancelled !== undefined) abort(this.#cancelled);
  }

  onHeaders(statusCode: number, rawHeaders: RawHeaders, resume: () => void): boolean {
    const ctx = this.#ctx;
    const res = ctx.res;
    ctx.upstreamHeadersAt = performance.now();
    if (res.destroyed) return false;
    if (statusCode < 200) {
      // 1xx (103 Early Hints, ...) are not relayed; a flood of them is a broken upstream (and
      // each one would otherwise restart undici's headers timeout).
      if (++this.#informational > MAX_INFORMATIONAL) {
        this.#fail({ status: 502, code: 'upstream.bad_response', message: 'the upstream sent too many informational responses' });
        return false;
      }
      return true;
    }
    const ep = this.#endpoint;
    if (ep.outlier !== undefined) ep.outlier.onStatus(ep, statusCode);
    if (this.#owner !== undefined && this.#owner.retryOnStatus(statusCode, rawHeaders)) {
      this.#swallow = true;
      this.#upstreamStatus = statusCode;
      return true;
    }
    const headers: string[] = [];
    const contentLength = filterResponseHeaders(rawHeaders, headers, this.#opts.responseRemove);
    // HEAD answers carry the length of a body that never comes.
    this.#bodyLeft = ctx.method === 'HEAD' ? -1 : contentLength;
    const append = this.#opts.responseAppend;
    if (append !== undefined) for (let i = 0; i < append.length; i++) headers.push(append[i]!);
    const filters = ctx.route!.filters;
    for (let i = 0; i < filters.length; i++) {
      // Response hooks run synchronously on the head; a filter that needs async work must
      // declare a body need (later) instead of stalling the response here.
      const f = filters[i]!;
      if (f.onResponse !== undefined) void f.onResponse(ctx, { status: statusCode, headers });
    }
    if (ctx.responseHeaders !== undefined) headers.push(...ctx.responseHeaders);
    headers.push('x-request-id', ctx.id, 'via', VIA);
    ctx.status = statusCode;
    this.#upstreamStatus = statusCode;
    this.#headStatus = statusCode;
    this.#headHeaders = headers;
    this.#resume = resume;
    return true;
  }

  /** Writes the kept head; false when Node refused it (nothing was sent, a 502 is still possible). */
  #flushHead(): boolean {
    const status = this.#headStatus;
    if (status === 0) return true;
    this.#headStatus = 0;
    try {
      this.#ctx.res.writeHead(status, this.#headHeaders);
      return true;
    } catch {
      // Node refuses a header value it considers invalid; an upstream that sends one is broken.
      this.#fail({ status: 502, code: 'upstream.bad_response', message: 'the upstream sent an invalid header' });
      return false;
    }
  }

  onData(chunk: Buffer): boolean {
    if (this.#swallow) return true;
    if (!this.#flushHead()) return false;
    const ctx = this.#ctx;
    ctx.bytesOut += chunk.length;
    if (chunk.length === this.#bodyLeft) {
      this.#ended = true;
      ctx.res.end(chunk);
      return true;
    }
    if (this.#bodyLeft > 0) this.#bodyLeft -= chunk.length;
    const ok = ctx.res.write(chunk);
    // Backpressure: undici pauses the upstream socket until the client drained. The listener is
    // added only when the client is actually slow, so the fast path costs no EventEmitter work.
    if (!ok) this.#ctx.res.once('drain', this.#resume!);
    return ok;
  }

  onComplete(): void {
    if (this.#swallow) {
      if (this.#done) return;
      this.#done = true;
      this.#attempt?.end(this.#upstreamStatus, undefined);
      this.#release();
      this.#owner!.retryNow();
      return;
    }
    if (!this.#flushHead()) return;
    this.#done = true;
    this.#release();
    this.#attempt?.end(this.#upstreamStatus, undefined);
    if (!this.#ended) this.#ctx.res.end();
  }

  onError(err: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#release();
    const res = this.#ctx.res;
    this.#headStatus = 0;
    if (this.#swallow) {
      this.#attempt?.end(this.#upstreamStatus, undefined);
      this.#owner!.retryNow();
      return;
    }
    if (this.#ended) {
      // The whole body (by Content-Length) already went to the client: what failed afterwards is
      // the upstream connection, not this exchange.
      this.#attempt?.end(this.#upstreamStatus, undefined);
      return;
    }
    if (res.headersSent) {
      // Response bytes already reached the client: the only honest signal left is a cut.
      this.#ctx.code ??= 'upstream.bad_response';
      this.#attempt?.end(this.#upstreamStatus, 'upstream.bad_response');
      res.destroy();
      return;
    }
    const reply = classify(err);
    const ep = this.#endpoint;
    // No head came: a local-origin failure for outlier detection (the client's own body errors aside).
    if (this.#upstreamStatus === 0 && ep.outlier !== undefined && reply.code !== 'request.body_too_large') ep.outlier.onLocalFailure(ep);
    this.#attempt?.end(this.#upstreamStatus, reply.code);
    if (this.#owner !== undefined && this.#upstreamStatus === 0 && this.#owner.retryOnError(reply)) return;
    this.#opts.onFailure(this.#ctx, reply);
  }

  #fail(reply: Reply): void {
    if (this.#done) return;
    // Mark done first: the abort below reports back through onError, which must not send a
    // second reply.
    this.#done = true;
    this.#release();
    this.#headStatus = 0;
    this.#attempt?.end(this.#upstreamStatus, reply.code);
    this.#abort?.(new Error(reply.code));
    this.#opts.onFailure(this.#ctx, reply);
  }
}

/** Map undici/socket errors to the statuses: 503 connect, 504 timeout, 502 otherwise. */
export function classify(err: Error & { code?: string }): Reply {
  switch (err.code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return { status: 504, code: 'upstream.timeout', message: 'the upstream did not answer in time' };
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { status: 503, code: 'upstream.connect_failure', message: 'the upstream could not be reached' };
    case 'GH_BODY_TOO_LARGE':
      return { status: 413, code: 'request.body_too_large', message: 'the request body exceeds the limit', close: true };
    default:
      if (err.code?.startsWith('ERR_TLS') || err.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || err.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || err.code === 'SELF_SIGNED_CERT_IN_CHAIN' || err.code === 'CERT_HAS_EXPIRED') {
        return { status: 502, code: 'upstream.bad_response', message: 'the upstream certificate could not be verified' };
      }
      return { status: 502, code: 'upstream.bad_response', message: 'the upstream reset the connection or sent an invalid response' };
  }
}

/**
 * One attempt: one dispatch on one endpoint. `owner` is the retry loop (retry.ts) when the route
 * has a retry policy; `resendCount` numbers the attempt (0 first).
 */
export function proxyRequest(ctx: RequestContext, endpoint: Endpoint, opts: ProxyOptions, owner?: AttemptOwner, resendCount = 0): ProxyHandler {
  // One CLIENT span per attempt, numbered by resendCount: each retry gets a fresh traceparent
  // (inject copies the header list, so the shared list never accumulates them).
  const attempt = ctx.trace?.startAttempt(ctx, endpoint, resendCount);
  const handler = new ProxyHandler(ctx, endpoint, opts, attempt, owner);
  endpoint.active++;
  endpoint.stats.attempts++;
  const breaker = endpoint.breaker;
  breaker.active++;
  breaker.pending++;
  ctx.endpoint = endpoint.origin;
  ctx.upstreamStart = performance.now();
  // Signed per attempt, before the trace context is added (traceparent is not signed): the host is
  // this endpoint's and the time is now, however long the backoff was.
  const aws = opts.aws;
  const headers = aws === undefined ? opts.headers : aws.signer.sign(ctx.method, aws, opts.headers, endpoint.origin, opts.body);
  endpoint.pool.dispatch(
    {
      path: opts.path,
      method: ctx.method as Dispatcher.HttpMethod,
      headers: attempt === undefined ? headers : attempt.inject(headers),
      body: opts.body,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.bodyTimeoutMs ?? opts.timeoutMs,
      // undici otherwise refuses to send a body with GET; the pipeline already rejected those.
      idempotent: false,
    },
    handler,
  );
  return handler;
}
