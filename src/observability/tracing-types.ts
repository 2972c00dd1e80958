// The request path's view of tracing: two small interfaces, no OpenTelemetry types, so that
// pipeline/context.ts and upstream/proxy.ts can hold a trace without importing (or loading) the
// SDK. The implementation is in tracing.ts and exists only when `tracing:` is configured.
import type { RequestContext } from '../pipeline/context.js';
import type { Endpoint } from '../upstream/cluster.js';

/** One upstream attempt's CLIENT span. */
export interface AttemptTrace {
  /** The header list for this attempt: `headers` plus a traceparent (and tracestate) whose parent
   * is this CLIENT span. Returns a new array; `headers` is not changed, so a retry can call the
   * next attempt's inject on the same list. */
  inject(headers: readonly string[]): string[];
  /** `status`: the upstream's response status (0 when none came); `errorType`: the reason code
   * when the attempt failed (upstream.timeout...). Idempotent. */
  end(status: number, errorType: string | undefined): void;
}

/** The request's SERVER span (ctx.trace). */
export interface RequestTrace {
  /** Starts the CLIENT span of one upstream attempt; `resendCount` is 0 for the first attempt and
   * n for the n-th retry (http.request.resend_count). */
  startAttempt(ctx: RequestContext, endpoint: Endpoint, resendCount: number): AttemptTrace;
  /** `headers` plus a traceparent naming the SERVER span, for exchanges that have no CLIENT span
   * of their own (WebSocket upgrades). */
  inject(headers: string[]): void;
  /** Ends the SERVER span from the context's outcome (status, code, route); `now` is performance.now(). */
  end(ctx: RequestContext, now: number): void;
}
