// OpenTelemetry tracing: a SERVER span per request, a CLIENT span per upstream attempt, exported
// over OTLP/HTTP (JSON) by a batch span processor.
//
// Cost model. Without `tracing:` in the config nothing here is loaded (the OTel modules are
// imported dynamically by createTracing, only at start-up) and the request path pays one
// `svc.tracing !== undefined` check, one `ctx.trace !== undefined` check at the end and one
// in the proxy. With tracing on, the sampling decision (parent-based, then ratio) is made here;
// an unsampled request never reaches the SDK (pooled random ids, two small objects, one
// traceparent string), and attributes are built only for recorded spans.
//
// The SDK is used without registering anything global (no global tracer provider, context
// manager or propagator): spans are parented explicitly, so nothing else in the process (a
// library that uses @opentelemetry/api) is changed by turning gateway tracing on. The one global
// touched is api.diag, so that export failures reach the operational log.
import type { Logger } from 'pino';
import type { Context, Span, Tracer, TraceState } from '@opentelemetry/api';
import type { TracingConfig } from '../config/schema.js';
import type { Snapshot } from '../config/snapshot.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Endpoint } from '../upstream/cluster.js';
import type { AttemptTrace, RequestTrace } from './tracing-types.js';
import { formatTraceparent, parseIncoming, takeTraceHeaders, type PropagationFormat } from './tracing-propagation.js';
import { parseDuration } from '../config/units.js';
import { randomFillSync } from 'node:crypto';

export const DEFAULT_SAMPLE_RATIO = 0.01;
export const DEFAULT_SERVICE_NAME = 'gatehouse';
const DEFAULT_EXPORT_TIMEOUT_MS = 10_000;
const DEFAULT_SCHEDULE_DELAY_MS = 5_000;
const DEFAULT_MAX_QUEUE = 2048;
const MAX_EXPORT_BATCH = 512;

export interface Tracing {
  /**
   * Per request, only when tracing is configured: takes the incoming trace-context fields out of
   * `upstreamHeaders` (the list about to be forwarded), starts the SERVER span as their child and
   * sets ctx.trace and ctx.traceId.
   */
  startServer(ctx: RequestContext, upstreamHeaders: string[], snap: Snapshot): void;
  /** Exports what is queued and stops the exporter (after the listeners drained). */
  shutdown(): Promise<void>;
}

type Api = typeof import('@opentelemetry/api');

/** Loads the OTel SDK and exporter (dynamic import: only a configured gateway pays for them). */
export async function createTracing(cfg: TracingConfig, opts: { version: string; log: Logger }): Promise<Tracing> {
  const [api, sdk, otlp, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const log = opts.log;
  // Export errors go through the SDK's global error handler, which logs via api.diag.
  api.diag.setLogger(
    {
      error: (msg, ...args) => log.warn({ args: args.map(String) }, `tracing: ${msg}`),
      warn: (msg, ...args) => log.warn({ args: args.map(String) }, `tracing: ${msg}`),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: api.DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  const ratio = cfg.sample_ratio ?? DEFAULT_SAMPLE_RATIO;
  // The sampling decision is made here (sampleDecision), before the SDK is involved: the SDK only
  // ever sees requests that are recorded, so it always samples what it is given.
  const sampler = new sdk.AlwaysOnSampler();
  const exporter = new otlp.OTLPTraceExporter({
    url: cfg.endpoint,
    headers: { ...(cfg.headers ?? {}) },
    timeoutMillis: cfg.timeout !== undefined ? parseDuration(cfg.timeout) : DEFAULT_EXPORT_TIMEOUT_MS,
  });
  const maxQueueSize = cfg.max_queue_size ?? DEFAULT_MAX_QUEUE;
  const provider = new sdk.TracerProvider({
    resource: resources.resourceFromAttributes({
      'service.name': cfg.service_name ?? DEFAULT_SERVICE_NAME,
      'service.version': opts.version,
    }),
    sampler,
    spanProcessors: [
      new sdk.BatchSpanProcessor({
        exporter,
        maxQueueSize,
        maxExportBatchSize: Math.min(MAX_EXPORT_BATCH, maxQueueSize),
        scheduledDelayMillis: cfg.schedule_delay !== undefined ? parseDuration(cfg.schedule_delay) : DEFAULT_SCHEDULE_DELAY_MS,
      }),
    ],
  });
  const tracer = provider.getTracer('gatehouse', opts.version);
  const formats: readonly PropagationFormat[] = cfg.propagation ?? ['w3c'];
  const shared: Shared = {
    api,
    tracer,
    formats,
    b3: formats.includes('b3'),
    parentBased: cfg.parent_based !== false,
    upperBound: Math.floor(Math.min(1, Math.max(0, ratio)) * 0xffffffff),
  };
  return {
    startServer(ctx, upstreamHeaders, snap) {
      startServerSpan(shared, ctx, upstreamHeaders, snap);
    },
    async shutdown() {
      await provider.shutdown();
    },
  };
}

interface Shared {
  api: Api;
  tracer: Tracer;
  formats: readonly PropagationFormat[];
  b3: boolean;
  parentBased: boolean;
  /** A root request is sampled when a random uint32 is below this (ratio x 2^32). */
  upperBound: number;
}

/** Methods semantic conventions know; anything else is reported as _OTHER. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);

function startServerSpan(s: Shared, ctx: RequestContext, upstreamHeaders: string[], snap: Snapshot): void {
  const api = s.api;
  let parent: Context = api.ROOT_CONTEXT;
  const raw = takeTraceHeaders(upstreamHeaders, s.b3);
  const p = raw === undefined ? undefined : parseIncoming(raw, s.formats);
  // Most requests are not recorded (1% sampling by default). They never reach the SDK: their ids
  // come from a pooled random buffer and their spans are two small objects (measured: the SDK's
  // non-recording spans cost ~4.7 us per request, which is most of tracing's overhead).
  const sampled = p !== undefined && s.parentBased ? p.sampled : randomUint32() < s.upperBound;
  if (!sampled) {
    const trace = new UnsampledTrace(p?.traceId ?? randomId(16), p?.traceState);
    ctx.traceId = trace.traceId;
    ctx.trace = trace;
    return;
  }
  if (p !== undefined) {
    parent = api.trace.setSpanContext(api.ROOT_CONTEXT, {
      traceId: p.traceId,
      spanId: p.spanId,
      traceFlags: p.sampled ? api.TraceFlags.SAMPLED : api.TraceFlags.NONE,
      isRemote: true,
      traceState: p.traceState !== undefined ? api.createTraceState(p.traceState) : undefined,
    });
  }
  const known = KNOWN_METHODS.has(ctx.method);
  const span = s.tracer.startSpan(known ? ctx.method : 'HTTP', { kind: api.SpanKind.SERVER, startTime: ctx.start }, parent);
  if (span.isRecording()) {
    span.setAttributes({
      'http.request.method': known ? ctx.method : '_OTHER',
      'url.path': ctx.path,
      'url.scheme': ctx.scheme,
      'server.address': ctx.host,
      // The port this connection reached (the configured one may be 0: ephemeral).
      'server.port': ctx.req.socket.localPort ?? 0,
      'client.address': ctx.clientIp,
      'network.protocol.version': ctx.req.httpVersion,
      'gatehouse.request_id': ctx.id,
    });
    if (!known) span.setAttribute('http.request.method_original', ctx.method);
  }
  ctx.traceId = span.spanContext().traceId;
  ctx.trace = new ServerTrace(s, span, snap);
}

/** http.route: the matched route's path template, exact path or prefix as configured (never the
 * raw path); none for a route that matches every path by host or header only. */
const routeTemplates = new WeakMap<object, string | null>();
function routeTemplate(snap: Snapshot, ctx: RequestContext): string | undefined {
  const route = ctx.route!;
  let t = routeTemplates.get(route);
  if (t === undefined) {
    const path = snap.config.routes[route.index]?.match?.path;
    t = path?.template ?? path?.exact ?? path?.prefix ?? null;
    routeTemplates.set(route, t);
  }
  return t ?? undefined;
}

class ServerTrace implements RequestTrace {
  #s: Shared;
  #span: Span;
  #snap: Snapshot;
  /** Context holding the SERVER span: the parent of every CLIENT span (made on first use). */
  #childParent: Context | undefined;

  constructor(s: Shared, span: Span, snap: Snapshot) {
    this.#s = s;
    this.#span = span;
    this.#snap = snap;
  }

  startAttempt(ctx: RequestContext, endpoint: Endpoint, resendCount: number): AttemptTrace {
    const api = this.#s.api;
    const parent = (this.#childParent ??= api.trace.setSpan(api.ROOT_CONTEXT, this.#span));
    const known = KNOWN_METHODS.has(ctx.method);
    const span = this.#s.tracer.startSpan(known ? ctx.method : 'HTTP', { kind: api.SpanKind.CLIENT, startTime: performance.now() }, parent);
    if (span.isRecording()) {
      const peer = endpointAddress(endpoint);
      span.setAttributes({
        'http.request.method': known ? ctx.method : '_OTHER',
        'server.address': peer.host,
        'server.port': peer.port,
        'network.peer.address': peer.host,
        'network.peer.port': peer.port,
        'http.request.resend_count': resendCount,
        'gatehouse.route': ctx.route?.name ?? '',
        'gatehouse.cluster': ctx.route?.cluster.name ?? '',
        'gatehouse.request_id': ctx.id,
      });
    }
    return new ClientAttempt(api, span);
  }

  inject(headers: string[]): void {
    pushContext(headers, this.#span);
  }

  end(ctx: RequestContext, now: number): void {
    const span = this.#span;
    if (!span.isRecording()) return;
    const route = ctx.route;
    if (route !== undefined) {
      const template = routeTemplate(this.#snap, ctx);
      if (template !== undefined) {
        span.setAttribute('http.route', template);
        span.updateName(`${KNOWN_METHODS.has(ctx.method) ? ctx.method : 'HTTP'} ${template}`);
      }
      span.setAttribute('gatehouse.route', route.name);
    }
    if (ctx.status > 0) span.setAttribute('http.response.status_code', ctx.status);
    // Reason codes cover refusals (4xx) too: error.type says why; the span is an ERROR only when
    // the gateway failed the caller (5xx, or no response at all). A relayed upstream 5xx has no
    // reason code: error.type is then the status, as the conventions say.
    const errorType = ctx.code ?? (ctx.status >= 500 ? String(ctx.status) : undefined);
    if (errorType !== undefined) span.setAttribute('error.type', errorType);
    if (ctx.status >= 500 || ctx.status === 0) span.setStatus({ code: this.#s.api.SpanStatusCode.ERROR, message: ctx.code });
    span.end(now);
  }
}

class ClientAttempt implements AttemptTrace {
  #api: Api;
  #span: Span;
  #ended = false;

  constructor(api: Api, span: Span) {
    this.#api = api;
    this.#span = span;
  }

  inject(headers: readonly string[]): string[] {
    const out = headers.slice();
    pushContext(out, this.#span);
    return out;
  }

  end(status: number, errorType: string | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    const span = this.#span;
    if (!span.isRecording()) return;
    if (status > 0) span.setAttribute('http.response.status_code', status);
    const type = errorType ?? (status >= 500 ? String(status) : undefined);
    if (type !== undefined) span.setAttribute('error.type', type);
    if (type !== undefined) span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: errorType });
    span.end(performance.now());
  }
}

function pushContext(headers: string[], span: Span): void {
  const sc = span.spanContext();
  headers.push('traceparent', formatTraceparent(sc.traceId, sc.spanId, (sc.traceFlags & 1) === 1));
  const ts: TraceState | undefined = sc.traceState;
  if (ts !== undefined) {
    const v = ts.serialize();
    if (v !== '') headers.push('tracestate', v);
  }
}

const endpointAddresses = new WeakMap<Endpoint, { host: string; port: number }>();
function endpointAddress(e: Endpoint): { host: string; port: number } {
  let a = endpointAddresses.get(e);
  if (a === undefined) {
    const u = new URL(e.origin);
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    a = { host, port: u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80 };
    endpointAddresses.set(e, a);
  }
  return a;
}

/** A request that is not recorded: it still propagates a valid trace context (flag 00) upstream. */
class UnsampledTrace implements RequestTrace {
  readonly spanId = randomId(8);
  constructor(
    readonly traceId: string,
    readonly traceState: string | undefined,
  ) {}
  startAttempt(): AttemptTrace {
    return new UnsampledAttempt(this, randomId(8));
  }
  inject(headers: string[]): void {
    pushUnsampled(headers, this.traceId, this.spanId, this.traceState);
  }
  end(): void {}
}

class UnsampledAttempt implements AttemptTrace {
  constructor(
    readonly trace: UnsampledTrace,
    readonly spanId: string,
  ) {}
  inject(headers: readonly string[]): string[] {
    const out = headers.slice();
    pushUnsampled(out, this.trace.traceId, this.spanId, this.trace.traceState);
    return out;
  }
  end(): void {}
}

function pushUnsampled(headers: string[], traceId: string, spanId: string, traceState: string | undefined): void {
  headers.push('traceparent', formatTraceparent(traceId, spanId, false));
  if (traceState !== undefined && traceState !== '') headers.push('tracestate', traceState);
}

// Random ids from a pooled buffer: one randomFillSync per 4 KiB instead of one call per id.
const POOL = Buffer.allocUnsafe(4096);
let poolAt = POOL.length;
function take(n: number): number {
  if (poolAt + n > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += n;
  return at;
}
/** Lower-case hex of `bytes` random bytes; never all zeros (an invalid W3C id). */
function randomId(bytes: number): string {
  for (;;) {
    const at = take(bytes);
    const id = POOL.toString('hex', at, at + bytes);
    if (id !== '0'.repeat(bytes * 2)) return id;
  }
}
function randomUint32(): number {
  return POOL.readUInt32LE(take(4));
}
