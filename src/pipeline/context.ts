// One RequestContext per request, created by the pipeline before routing. It carries the single
// normalized path used for routing and (later) policy; no filter reads raw req.url for decisions.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CompiledRoute } from '../config/snapshot.js';
import type { RequestTrace } from '../observability/tracing-types.js';

/**
 * One access decision made at the edge (authn, authz, rate limits, quotas...), as the access and
 * decision logs and the metrics record it: which filter decided, what, and (for policies) which
 * statement. Filters record their own allows; the chain records every refusal.
 */
export interface DecisionRecord {
  readonly filter: string;
  readonly allowed: boolean;
  readonly code: string | undefined;
  readonly policy?: string | undefined;
  readonly statement?: string | undefined;
  readonly condition?: string | undefined;
  /** authn: how the caller proved itself (jwt, sigv4, api_key, mtls) and who they are. */
  readonly authMethod?: string | undefined;
  readonly subject?: string | undefined;
  /** false when the filter runs in shadow mode: a deny was recorded but not enforced. */
  enforced: boolean;
}

/** Typed attribute key: ctx.set(IDENTITY, id); ctx.get(IDENTITY). */
export interface Attr<T> {
  readonly id: symbol;
  readonly name: string;
  readonly _type?: T;
}
export const attr = <T>(name: string): Attr<T> => ({ id: Symbol(name), name });

export class RequestContext {
  /** Request id, assigned before routing; returned on every response. */
  readonly id: string;
  /** performance.now() at the start of the request. */
  readonly start: number;
  readonly clientIp: string;
  /** Scheme the client used to reach the gateway (http/https). */
  readonly scheme: 'http' | 'https';
  readonly method: string;
  /** Lower-cased host without port or trailing dot. */
  readonly host: string;
  /** The normalized path: routing and policy both read this one. */
  readonly path: string;
  /** Raw query string without the leading '?', forwarded as received ('' when none). */
  readonly query: string;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  route: CompiledRoute | undefined = undefined;
  /** Template parameters captured by the route match. */
  params: Record<string, string> | undefined = undefined;
  /** Response headers filters want added (flat name/value list). */
  responseHeaders: string[] | undefined = undefined;
  /** Request headers filters want sent upstream (flat name/value list), e.g. identity. */
  upstreamHeaders: string[] | undefined = undefined;
  /** Lower-case names of client headers filters want kept from the upstream (e.g. Authorization). */
  upstreamRemove: string[] | undefined = undefined;
  /** Query to forward instead of `query` (e.g. without presigned-URL credentials); raw, no '?'. */
  upstreamQuery: string | undefined = undefined;
  /** The whole request body once a filter buffered it (pipeline/body.ts); forwarded instead of the stream. */
  body: Buffer | undefined = undefined;
  // Outcome, filled in as the request proceeds; read by the access log and metrics.
  status = 0;
  code: string | undefined = undefined;
  endpoint: string | undefined = undefined;
  bytesIn = 0;
  bytesOut = 0;
  /** performance.now() when the upstream request was dispatched, and when its headers arrived. */
  upstreamStart = 0;
  upstreamHeadersAt = 0;
  /** Edge decisions in the order they were made; undefined until a filter records one. */
  decisions: DecisionRecord[] | undefined = undefined;
  /** The request's SERVER span when tracing is configured (observability/tracing.ts); else undefined. */
  trace: RequestTrace | undefined = undefined;
  /** Trace id (32 hex) of that span, sampled or not; written by the access and decision logs when set. */
  traceId: string | undefined = undefined;
  #attrs: Map<symbol, unknown> | undefined;

  constructor(
    id: string,
    start: number,
    clientIp: string,
    scheme: 'http' | 'https',
    method: string,
    host: string,
    path: string,
    query: string,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    this.id = id;
    this.start = start;
    this.clientIp = clientIp;
    this.scheme = scheme;
    this.method = method;
    this.host = host;
    this.path = path;
    this.query = query;
    this.req = req;
    this.res = res;
  }

  /** A request header by lower-case name; a repeated field comes back comma-joined by Node. */
  header(name: string): string | undefined {
    const v = this.req.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  }

  get<T>(a: Attr<T>): T | undefined {
    return this.#attrs?.get(a.id) as T | undefined;
  }

  set<T>(a: Attr<T>, value: T): void {
    (this.#attrs ??= new Map()).set(a.id, value);
  }

  recordDecision(d: DecisionRecord): void {
    (this.decisions ??= []).push(d);
  }

  addUpstreamHeader(name: string, value: string): void {
    (this.upstreamHeaders ??= []).push(name, value);
  }

  removeUpstreamHeader(lowerName: string): void {
    (this.upstreamRemove ??= []).push(lowerName);
  }

  addResponseHeader(name: string, value: string): void {
    (this.responseHeaders ??= []).push(name, value);
  }
}
