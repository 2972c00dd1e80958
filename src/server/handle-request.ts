// The per-request pipeline: request id → header scan → Host and path normalization → route →
// filters → upstream. Every early exit goes through sendReply, so every response carries a
// problem body with a reason code and the request id.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestId as newRequestId } from './request-id.js';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { RequestContext } from '../pipeline/context.js';
import type { Reply } from '../pipeline/filter.js';
import { sendReply } from '../pipeline/reply.js';
import { runRequestFilters, type FilterErrorHandler } from '../pipeline/chain.js';
import type { CompiledRoute, Snapshot } from '../config/snapshot.js';
import { scanRequestHeaders, type ScannedHeaders } from './request-headers.js';
import { normalizePath } from '../routing/normalize-path.js';
import { normalizeHost } from '../routing/host.js';
import { unmapIp } from './cidr.js';
import { proxyRequest } from '../upstream/proxy.js';
import { RetryExchange, retriableMethod } from '../upstream/retry.js';
import { chooseVariant, decideFault, mirrorRequest } from '../upstream/traffic.js';
import type { AccessLog } from '../observability/access-log.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { DecisionLog } from '../observability/decision-log.js';
import type { AuditTrail } from '../observability/audit.js';
import type { Tracing } from '../observability/tracing.js';
import type { Socket } from 'node:net';
import { proxyUpgrade } from '../upstream/websocket.js';
import { bufferBody } from '../pipeline/body.js';
import { isReply, type AwsSigning } from '../upstream/aws-sigv4.js';
import { CLOSE_FORWARDED, EXCHANGE, EXCHANGE_SERVICES, EXCHANGE_UPSTREAM } from './response.js';

export interface ListenerInfo {
  scheme: 'http' | 'https';
  port: number;
}

export interface RequestServices {
  snapshot(): Snapshot;
  accessLog: AccessLog;
  draining(): boolean;
  /** A filter threw: the request already got a 500; this records why (with the request id). */
  onFilterError: FilterErrorHandler;
  /** Prometheus metrics (served on the admin listener). */
  metrics?: GatewayMetrics | undefined;
  decisionLog?: DecisionLog | undefined;
  /** The audit trail, when enabled. */
  audit?: AuditTrail | undefined;
  /** Present only when `tracing:` is configured: the request path's one check. */
  tracing?: Tracing | undefined;
}

const VIA = '1.1 gatehouse';
/** On a circuit-breaker overflow (Envoy's x-envoy-overloaded). */
const OVERLOADED = { 'x-gatehouse-overloaded': 'true' } as const;
/** A client-supplied request id is kept only from a trusted proxy and only when short and plain. */
const PLAIN_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface UpgradeInfo {
  socket: Socket;
  head: Buffer;
}

export function handleRequest(req: IncomingMessage, res: ServerResponse, listener: ListenerInfo, svc: RequestServices, upgrade?: UpgradeInfo): void {
  const start = performance.now();
  svc.metrics?.requestStarted();
  const snap = svc.snapshot();
  const clientIp = unmapIp(req.socket.remoteAddress ?? '');
  const trusted = snap.trustedProxies.has(clientIp);
  const scanned = scanRequestHeaders(req.rawHeaders, snap.limits.maxHeaderCount, trusted);
  const requestId = scanned.requestId !== undefined && PLAIN_ID.test(scanned.requestId) ? scanned.requestId : newRequestId();
  const method = req.method ?? 'GET';

  if (scanned.error) return refuseEarly(req, res, listener, svc, requestId, start, clientIp, scanned.error, '');
  const host = normalizeHost(scanned.host!);
  if (host === undefined) return refuseEarly(req, res, listener, svc, requestId, start, clientIp, { status: 400, code: 'request.bad_host', message: 'invalid Host header', close: true }, '');

  let target = req.url ?? '';
  if (target.charCodeAt(0) !== 47 /* '/' */) {
    const origin = absoluteFormPath(target, host);
    if (typeof origin !== 'string') return refuseEarly(req, res, listener, svc, requestId, start, clientIp, origin, host);
    target = origin;
  }
  const norm = normalizePath(target, snap.limits.maxUriBytes);
  if (!norm.ok) {
    const status = norm.code === 'request.uri_too_long' ? 414 : 400;
    return refuseEarly(req, res, listener, svc, requestId, start, clientIp, { status, code: norm.code, message: norm.message, close: status === 414 }, host);
  }
  const ctx = new RequestContext(requestId, start, clientIp, listener.scheme, method, host, norm.path, norm.query, req, res);
  if (svc.tracing !== undefined) svc.tracing.startServer(ctx, scanned.upstream, snap);
  if (method === 'TRACE' || method === 'TRACK') {
    return finishWithReply(ctx, { status: 405, code: 'request.method_not_allowed', message: `${method} is not allowed`, close: true }, svc);
  }
  const hasBody = scanned.chunked || scanned.contentLength > 0;
  if (hasBody && (method === 'GET' || method === 'HEAD' || upgrade !== undefined)) {
    // A body on GET/HEAD is a classic desync vector (SECURITY.md row 4): refuse, never forward.
    return finishWithReply(ctx, { status: 400, code: 'request.bad_framing', message: `${method} with a body is not accepted`, close: true }, svc);
  }

  let hit = method === 'OPTIONS' ? matchPreflight(ctx, snap) : undefined;
  hit ??= snap.router.match(ctx);
  if (hit === undefined) return finishWithReply(ctx, { status: 404, code: 'route.not_found', message: 'no route matches this request' }, svc);
  const route = hit.value;
  ctx.route = route;
  ctx.params = hit.params;
  if (scanned.contentLength > route.maxBodyBytes) {
    return finishWithReply(ctx, { status: 413, code: 'request.body_too_large', message: `the body exceeds ${route.maxBodyBytes} bytes`, close: true }, svc);
  }
  const tunnel = upgrade !== undefined && route.websocket && scanned.upgrade !== undefined ? upgrade : undefined;
  if (route.filters.length === 0) return proceed(ctx, route, scanned, listener, svc, tunnel);
  const r = runRequestFilters(route.filters, ctx, svc.onFilterError);
  if (r === undefined) return proceed(ctx, route, scanned, listener, svc, tunnel);
  if (!(r instanceof Promise)) return finishWithReply(ctx, r, svc);
  // The chain never rejects (it turns filter errors into a 500 reply).
  void r.then((reply) => (reply ? finishWithReply(ctx, reply, svc) : proceed(ctx, route, scanned, listener, svc, tunnel)));
}

/** Refusals before the path is known still get a context: the access log and the request id
 * cover them too. (A plain function, not a closure made on every request.) */
function refuseEarly(
  req: IncomingMessage, res: ServerResponse, listener: ListenerInfo, svc: RequestServices,
  requestId: string, start: number, clientIp: string, reply: Reply, host: string,
): void {
  finishWithReply(new RequestContext(requestId, start, clientIp, listener.scheme, req.method ?? 'GET', host, '', '', req, res), reply, svc);
}

/** A CORS preflight matches the route of the request it announces, if that route answers preflights. */
function matchPreflight(ctx: RequestContext, snap: Snapshot) {
  const acrm = ctx.header('access-control-request-method');
  if (acrm === undefined || ctx.header('origin') === undefined) return undefined;
  const hit = snap.router.match({ host: ctx.host, method: acrm, path: ctx.path, query: ctx.query, header: (n) => ctx.header(n) });
  return hit?.value.handlesPreflight ? hit : undefined;
}

function absoluteFormPath(target: string, host: string): string | Reply {
  // Absolute-form is legal on HTTP/1.1 but only for our own authority; anything else is an
  // attempt to use the gateway as an open proxy (SECURITY.md rows 9, 10).
  const m = /^https?:\/\/([^/?#]*)(.*)$/i.exec(target);
  if (!m) return { status: 400, code: 'request.bad_path', message: 'the request target must be a path', close: true };
  const authority = normalizeHost(m[1]!);
  if (authority !== host) return { status: 400, code: 'request.bad_host', message: 'the request target names a different host than Host', close: true };
  const rest = m[2]!;
  return rest === '' ? '/' : rest.charCodeAt(0) === 63 /* '?' */ ? `/${rest}` : rest;
}

function finishWithReply(ctx: RequestContext, reply: Reply, svc: RequestServices): void {
  ctx.status = reply.status;
  ctx.code = reply.code;
  attachLog(ctx, svc);
  if (reply.close) {
    // Don't read a body we refuse (it may be an attack); close once the answer is out.
    ctx.res.once('finish', () => ctx.req.socket.destroySoon());
  }
  sendReply(ctx.res, reply, ctx.id, ctx.responseHeaders);
  if (!reply.close && !ctx.req.complete) ctx.req.resume();
}

/** Responses come from the listener (a GatehouseResponse, slots declared) or, for an upgrade
 * request, from upgrade.ts (a plain ServerResponse that gains the slots). */
type TrackedResponse = ServerResponse & {
  [EXCHANGE]?: RequestContext | undefined;
  [EXCHANGE_SERVICES]?: RequestServices | undefined;
  [EXCHANGE_UPSTREAM]?: { cancel(err: Error): void } | undefined;
  [CLOSE_FORWARDED]?: boolean;
};

/** Logs the exchange when the response closes; a client that left early cancels the upstream side. */
function attachLog(ctx: RequestContext, svc: RequestServices, upstream?: { cancel(err: Error): void }): void {
  // One shared listener reading its state off the response, instead of a closure and a once()
  // wrapper per request ('close' is emitted once per response anyway).
  const res = ctx.res as TrackedResponse;
  res[EXCHANGE] = ctx;
  res[EXCHANGE_SERVICES] = svc;
  res[EXCHANGE_UPSTREAM] = upstream;
  if (res[CLOSE_FORWARDED] !== true) res.on('close', onResponseClose);
}

function onResponseClose(this: TrackedResponse): void {
  exchangeClosed(this);
}

/** The response closed: log the exchange (once), and cancel the upstream side if the client left. */
export function exchangeClosed(res: ServerResponse): void {
  const tracked = res as TrackedResponse;
  const ctx = tracked[EXCHANGE];
  if (ctx === undefined) return;
  const svc = tracked[EXCHANGE_SERVICES]!;
  const upstream = tracked[EXCHANGE_UPSTREAM];
  tracked[EXCHANGE] = undefined;
  tracked[EXCHANGE_SERVICES] = undefined;
  tracked[EXCHANGE_UPSTREAM] = undefined;
  if (!res.writableFinished) {
    upstream?.cancel(new Error('client disconnected'));
    if (ctx.status !== 101) ctx.code ??= 'client.disconnected';
  }
  const now = performance.now();
  svc.accessLog.write(ctx, now);
  svc.metrics?.requestEnded(ctx, now);
  if (ctx.decisions !== undefined) svc.decisionLog?.write(ctx);
  if (svc.audit !== undefined && ctx.route?.audit !== 'off') svc.audit.record(ctx, now);
  if (ctx.trace !== undefined) ctx.trace.end(ctx, now);
}

/** The upstream exchange failed before any response byte reached the client. */
function failForward(ctx: RequestContext, reply: Reply): void {
  ctx.status = reply.status;
  ctx.code = reply.code;
  if (reply.close) ctx.res.once('finish', () => ctx.req.socket.destroySoon());
  sendReply(ctx.res, reply, ctx.id, ctx.responseHeaders);
}

/** Routes with `audit: required` get their record durably written before anything goes upstream. */
function proceed(ctx: RequestContext, route: CompiledRoute, scanned: ScannedHeaders, listener: ListenerInfo, svc: RequestServices, tunnel: UpgradeInfo | undefined): void {
  if (route.audit !== 'required') return forward(ctx, route, scanned, listener, svc, tunnel);
  const audit = svc.audit;
  if (audit === undefined) return finishWithReply(ctx, AUDIT_UNAVAILABLE, svc);
  void audit.recordRequired(ctx).then((ok) => (ok ? forward(ctx, route, scanned, listener, svc, tunnel) : finishWithReply(ctx, AUDIT_UNAVAILABLE, svc)));
}

const AUDIT_UNAVAILABLE: Reply = { status: 503, code: 'audit.unavailable', message: 'this route requires an audit record, and the audit trail cannot write one' };

function forward(ctx: RequestContext, route: CompiledRoute, scanned: ScannedHeaders, listener: ListenerInfo, svc: RequestServices, tunnel: UpgradeInfo | undefined): void {
  if (route.split !== undefined) {
    // Weighted split: the variant for the chosen cluster becomes the request's route, so the access
    // log, metrics and traces name the cluster that served.
    route = chooseVariant(route.split, ctx);
    ctx.route = route;
  }
  if (route.fault !== undefined && tunnel === undefined) {
    const f = decideFault(route.fault, ctx);
    if (typeof f === 'object') return finishWithReply(ctx, f, svc);
    if (f !== undefined) {
      const t = setTimeout(forwardNow, f, ctx, route, scanned, listener, svc, tunnel);
      // A client that leaves during the delay: nothing goes upstream; the access log records it.
      attachLog(ctx, svc, { cancel: () => clearTimeout(t) });
      return;
    }
  }
  forwardNow(ctx, route, scanned, listener, svc, tunnel);
}

function forwardNow(ctx: RequestContext, route: CompiledRoute, scanned: ScannedHeaders, listener: ListenerInfo, svc: RequestServices, tunnel: UpgradeInfo | undefined): void {
  const cluster = route.cluster;
  const signer = cluster.signer;
  // A signed payload's hash must be known before the first byte goes out: read the body first
  // (bounded by max_body_bytes), then forward exactly those bytes.
  if (signer !== undefined && signer.buffersBody && ctx.body === undefined && (scanned.chunked || scanned.contentLength > 0)) {
    return void bufferBody(ctx, route.maxBodyBytes).then((b) => (Buffer.isBuffer(b) ? forwardNow(ctx, route, scanned, listener, svc, tunnel) : finishWithReply(ctx, b, svc)));
  }
  // Circuit breakers: overflow is answered at once (tunnels are long-lived and not counted).
  const over = tunnel === undefined ? cluster.breaker.admit() : undefined;
  if (over !== undefined) {
    return finishWithReply(ctx, { status: 503, code: 'upstream.overflow', message: `the upstream is at capacity (${over})`, headers: OVERLOADED }, svc);
  }
  const endpoint = cluster.pick(ctx);
  if (endpoint === undefined) {
    return finishWithReply(ctx, { status: 503, code: 'upstream.no_healthy_endpoint', message: 'no upstream endpoint is available' }, svc);
  }
  const headers = scanned.upstream;
  const rh = route.requestHeaders;
  if (rh !== undefined && rh.remove.size > 0) applyRemove(headers, rh.remove);
  if (ctx.upstreamRemove !== undefined) applyRemove(headers, ctx.upstreamRemove);
  headers.push(
    'host', scanned.host!,
    'x-forwarded-for', scanned.xff !== undefined ? `${scanned.xff}, ${ctx.clientIp}` : ctx.clientIp,
    'x-forwarded-proto', scanned.xfProto ?? listener.scheme,
    'x-forwarded-host', scanned.xfHost ?? scanned.host!,
    'x-request-id', ctx.id,
    'via', VIA,
  );
  if (rh !== undefined) for (let i = 0; i < rh.append.length; i++) headers.push(rh.append[i]!);
  if (ctx.upstreamHeaders !== undefined) headers.push(...ctx.upstreamHeaders);

  let path = ctx.path;
  if (route.stripPrefix !== undefined && (path === route.stripPrefix || path.startsWith(route.stripPrefix + '/'))) {
    path = path.slice(route.stripPrefix.length) || '/';
  }
  if (route.addPrefix !== undefined) path = route.addPrefix + path;
  const query = ctx.upstreamQuery ?? ctx.query;
  if (query !== '') path = `${path}?${query}`;
  let aws: AwsSigning | undefined;
  if (signer !== undefined) {
    const prepared = signer.prepare(path);
    if (isReply(prepared)) return finishWithReply(ctx, prepared, svc);
    aws = prepared;
  }
  const mirror = route.mirror;
  // Shadow traffic: only requests whose body (if any) is in memory can be copied.
  if (mirror !== undefined && tunnel === undefined && (ctx.body !== undefined || (!scanned.chunked && scanned.contentLength <= 0)) && (mirror.percent >= 100 || Math.random() * 100 < mirror.percent)) {
    mirrorRequest(mirror, ctx, path, headers, ctx.body ?? null, route.timeoutMs);
  }

  if (tunnel !== undefined) {
    // No CLIENT span for a tunnel: the upstream's parent is the SERVER span.
    if (ctx.trace !== undefined) ctx.trace.inject(headers);
    attachLog(ctx, svc);
    return proxyUpgrade(ctx, endpoint, {
      path, headers: aws === undefined ? headers : aws.signer.sign(ctx.method, aws, headers, endpoint.origin, null), upgrade: scanned.upgrade!, timeoutMs: route.timeoutMs, clientSocket: tunnel.socket, clientHead: tunnel.head,
      tls: route.cluster.tls, onFailure: failForward,
    });
  }
  const req = ctx.req;
  const retry = route.retry;
  // Retries need a replayable body: none, one a filter buffered, or a Content-Length body small
  // enough to keep. Anything else takes the streaming path below, without retries.
  if (retry !== undefined && retriableMethod(retry, ctx.method, ctx) && (ctx.body !== undefined || (!scanned.chunked && scanned.contentLength <= retry.maxReplayBytes))) {
    const ex = new RetryExchange(ctx, {
      cluster,
      policy: retry,
      body: ctx.body ?? null,
      proxy: {
        path, headers, body: null, timeoutMs: route.timeoutMs, bodyTimeoutMs: route.idleTimeoutMs,
        responseRemove: route.responseHeaders?.remove, responseAppend: route.responseHeaders?.append, onFailure: failForward, aws,
      },
    });
    attachLog(ctx, svc, ex);
    if (ctx.body !== undefined || scanned.contentLength <= 0) ex.start(endpoint);
    else {
      ctx.bytesIn = scanned.contentLength;
      ex.startAfterBody(req, scanned.contentLength, endpoint);
    }
    return;
  }
  let body: Readable | Buffer | null = null;
  if (ctx.body !== undefined) {
    // A filter buffered and checked the body (pipeline/body.ts): forward exactly those bytes.
    body = ctx.body;
  } else if (scanned.chunked) {
    body = req.pipe(new BodyLimit(route.maxBodyBytes, ctx));
  } else if (scanned.contentLength > 0) {
    ctx.bytesIn = scanned.contentLength;
    body = req;
  }
  const handler = proxyRequest(ctx, endpoint, {
    path,
    headers,
    body,
    timeoutMs: route.timeoutMs,
    bodyTimeoutMs: route.idleTimeoutMs,
    responseRemove: route.responseHeaders?.remove,
    responseAppend: route.responseHeaders?.append,
    onFailure: failForward,
    aws,
  });
  attachLog(ctx, svc, handler);
  if (body !== null && ctx.body === undefined) {
    req.once('aborted', () => handler.cancel(new Error('client aborted the body')));
  }
}

/** Drop fields by lower-case name: a compiled Set (route config) or the handful of names filters
 * asked for on this request (a short array, so no Set is built per request). */
function applyRemove(headers: string[], remove: ReadonlySet<string> | readonly string[]): void {
  const list = Array.isArray(remove) ? (remove as readonly string[]) : undefined;
  const set = list === undefined ? (remove as ReadonlySet<string>) : undefined;
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    const n = headers[i]!.toLowerCase();
    if (list !== undefined ? list.includes(n) : set!.has(n)) headers.splice(i, 2);
  }
}

/** Counts a chunked body and fails the upload as soon as it passes the route's limit (row 16). */
class BodyLimit extends Transform {
  #left: number;
  #ctx: RequestContext;
  constructor(limit: number, ctx: RequestContext) {
    super();
    this.#left = limit;
    this.#ctx = ctx;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#left -= chunk.length;
    this.#ctx.bytesIn += chunk.length;
    if (this.#left < 0) return cb(Object.assign(new Error('body too large'), { code: 'GH_BODY_TOO_LARGE' }));
    cb(null, chunk);
  }
}
