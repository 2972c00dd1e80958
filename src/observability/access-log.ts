// One JSON line per request, written asynchronously through pino's sonic-boom destination so the
// event loop never waits on the disk. The line is assembled by hand rather than through a pino
// logger: the schema is fixed, pino's level/base machinery adds nothing here (and pino 10 emits
// `{,` when the level field is suppressed), and skipping it saves an object walk per request.
// Field names are documented in the README; nothing secret is in them by construction (no
// header values, no query string).
import { createLineSink } from './line-sink.js';
import { isoSecondPrefix, quoted } from './json-text.js';
import { AccessLineEncoder } from './access-line-bytes.js';
import type { RequestContext } from '../pipeline/context.js';

/** A refusal answered before any request object existed (parser errors, CONNECT, bad versions). */
export interface Refusal {
  id: string;
  clientIp: string;
  method: string | undefined;
  status: number;
  code: string;
}

export interface AccessLog {
  write(ctx: RequestContext, now: number): void;
  /** Same line shape, for answers the HTTP parser forced before routing (no path, no route). */
  writeRefusal(r: Refusal): void;
  reopen(): void;
  flush(): Promise<void>;
}

export function isoTime(ms: number): string {
  const sec = ms - (ms % 1000);
  const frac = ms - sec;
  return `${isoSecondPrefix(sec)}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
}

/** What a line reads from the request: a RequestContext, or the copy the log keeps until its batch
 * is formatted. */
export type AccessFields = Pick<
  RequestContext,
  'id' | 'traceId' | 'clientIp' | 'method' | 'host' | 'path' | 'route' | 'endpoint' | 'status' | 'code' | 'bytesIn' | 'bytesOut' | 'start' | 'upstreamStart' | 'upstreamHeadersAt' | 'decisions'
>;

/** One line as a string (tests, tools); the log itself encodes lines straight into bytes. */
export function formatAccessLine(ctx: AccessFields, now: number, wallClock: number): string {
  const e = new AccessLineEncoder(1024);
  e.line(ctx, now, wallClock);
  return e.take().toString('utf8');
}

/** `,"trace_id":"<32 hex>"` when the request is traced (sampled or not), else nothing. The id is
 * 32 hex digits the gateway formatted, so it needs no escaping. */
export const traceField = (traceId: string | undefined) => (traceId === undefined ? '' : `,"trace_id":"${traceId}"`);

export function formatRefusalLine(r: Refusal, wallClock: number): string {
  return (
    `{"time":"${isoTime(wallClock)}","request_id":${quoted(r.id)},"client_ip":"${r.clientIp}"` +
    `,"method":${r.method === undefined ? 'null' : quoted(r.method)},"host":null,"path":null,"route":null` +
    `,"cluster":null,"endpoint":null,"status":${r.status},"code":${quoted(r.code)}` +
    `,"bytes_in":0,"bytes_out":0,"duration_ms":0,"upstream_ms":null}\n`
  );
}

/**
 * The fields of one finished request, copied when its response closed (the context itself holds
 * the request and response objects and must not outlive them). One class, so every record has
 * the same shape.
 */
class AccessRecord implements AccessFields {
  readonly id: string;
  readonly traceId: string | undefined;
  readonly clientIp: string;
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly route: RequestContext['route'];
  readonly endpoint: string | undefined;
  readonly status: number;
  readonly code: string | undefined;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly start: number;
  readonly upstreamStart: number;
  readonly upstreamHeadersAt: number;
  readonly decisions: RequestContext['decisions'];
  constructor(
    ctx: RequestContext,
    readonly now: number,
    readonly wallClock: number,
  ) {
    this.id = ctx.id;
    this.traceId = ctx.traceId;
    this.clientIp = ctx.clientIp;
    this.method = ctx.method;
    this.host = ctx.host;
    this.path = ctx.path;
    this.route = ctx.route;
    this.endpoint = ctx.endpoint;
    this.status = ctx.status;
    this.code = ctx.code;
    this.bytesIn = ctx.bytesIn;
    this.bytesOut = ctx.bytesOut;
    this.start = ctx.start;
    this.upstreamStart = ctx.upstreamStart;
    this.upstreamHeadersAt = ctx.upstreamHeadersAt;
    this.decisions = ctx.decisions;
  }
}

/** Lines are encoded in batches of this many, or FORMAT_MS after the first of a batch. */
const FORMAT_BATCH = 256;
const FORMAT_MS = 50;

/**
 * The fields of each request are copied when its response closes; batches of 256 (or 50 ms' worth)
 * are encoded into bytes in one loop (access-line-bytes.ts: no per-line heap strings) and written
 * in one go. Measured with grouped bench runs, formatting in a batch cost 2-4% less CPU per request
 * than formatting each line amid its request's work.
 */
export function createAccessLog(opts: { enabled: boolean; path?: string | undefined }): AccessLog {
  if (!opts.enabled) return { write() {}, writeRefusal() {}, reopen() {}, flush: async () => {} };
  const sink = createLineSink(opts.path);
  const encoder = new AccessLineEncoder(96 * 1024);
  /** Finished requests, or refusal lines already formatted, in the order they happened. */
  let pending: (AccessRecord | string)[] = [];
  let timer: NodeJS.Timeout | undefined;
  const formatPending = () => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      if (typeof r === 'string') encoder.text(r);
      else encoder.line(r, r.now, r.wallClock);
    }
    sink.appendBytes(encoder.take());
  };
  const push = (r: AccessRecord | string) => {
    if (pending.push(r) >= FORMAT_BATCH) formatPending();
    else if (timer === undefined) {
      timer = setTimeout(formatPending, FORMAT_MS);
      timer.unref();
    }
  };
  return {
    write(ctx, now) {
      push(new AccessRecord(ctx, now, Date.now()));
    },
    writeRefusal(r) {
      push(formatRefusalLine(r, Date.now()));
    },
    reopen() {
      formatPending();
      sink.reopen();
    },
    flush() {
      formatPending();
      return sink.flush();
    },
  };
}
