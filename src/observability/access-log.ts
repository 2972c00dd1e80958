// One JSON line per request, written asynchronously through pino's sonic-boom destination so the
// event loop never waits on the disk. The line is assembled by hand rather than through a pino
// logger: the schema is fixed, pino's level/base machinery adds nothing here (and pino 10 emits
// `{,` when the level field is suppressed), and skipping it saves an object walk per request.
// Field names are documented in the README; nothing secret is in them by construction (no
// header values, no query string).
import { createLineSink } from './line-sink.js';
import type { DecisionRecord, RequestContext } from '../pipeline/context.js';

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

/** ".000" .. ".999": the fraction of a millisecond duration, looked up instead of formatted. */
const FRACTIONS = Array.from({ length: 1000 }, (_, i) => `.${String(i).padStart(3, '0')}`);

/**
 * A duration in ms with microsecond resolution ("12.345"). Number#toString on a fractional double
 * runs the shortest-round-trip algorithm (~250 ns measured, twice per line); integer halves and a
 * table cost ~70 ns. Same JSON number, only the trailing zeros are kept.
 */
export function formatMs(ms: number): string {
  const us = Math.round(ms * 1000);
  const whole = Math.floor(us / 1000);
  return `${whole}${FRACTIONS[us - whole * 1000]}`;
}

// Profiling showed the line builder at ~10% of the proxy's CPU when every string went through
// JSON.stringify and every line through Date#toISOString. Now: values the gateway produced or
// validated itself (request id: a UUID or a client id that passed PLAIN_ID; IP; the method, a token
// Node's parser accepted; the normalized host; route/cluster names from the config schema's
// pattern; URL origins; reason codes) cannot contain a quote, backslash or control character and
// are written as they are; the path is checked and escaped only when needed; the timestamp's
// second-resolution prefix is formatted once per second.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;
export const quoted = (v: string) => (NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`);
const plain = (v: string | undefined) => (v === undefined ? 'null' : `"${v}"`);

let secondStart = -1;
let secondPrefix = '';
export function isoTime(ms: number): string {
  const sec = ms - (ms % 1000);
  if (sec !== secondStart) {
    secondStart = sec;
    secondPrefix = new Date(sec).toISOString().slice(0, 20); // "2026-11-30T03:26:01."
  }
  const frac = ms - sec;
  return `${secondPrefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
}

/** What a line reads from the request: a RequestContext, or the copy the log keeps until its batch
 * is formatted. */
export type AccessFields = Pick<
  RequestContext,
  'id' | 'traceId' | 'clientIp' | 'method' | 'host' | 'path' | 'route' | 'endpoint' | 'status' | 'code' | 'bytesIn' | 'bytesOut' | 'start' | 'upstreamStart' | 'upstreamHeadersAt' | 'decisions'
>;

export function formatAccessLine(ctx: AccessFields, now: number, wallClock: number): string {
  const r = ctx.route;
  return (
    `{"time":"${isoTime(wallClock)}","request_id":"${ctx.id}"${traceField(ctx.traceId)},"client_ip":"${ctx.clientIp}"` +
    `,"method":"${ctx.method}","host":"${ctx.host}","path":${quoted(ctx.path)},"route":${plain(r?.name)}` +
    `,"cluster":${plain(r?.cluster.name)},"endpoint":${plain(ctx.endpoint)},"status":${ctx.status},"code":${plain(ctx.code)}` +
    `,"bytes_in":${ctx.bytesIn},"bytes_out":${ctx.bytesOut},"duration_ms":${formatMs(now - ctx.start)}` +
    `,"upstream_ms":${ctx.upstreamStart ? formatMs((ctx.upstreamHeadersAt || now) - ctx.upstreamStart) : 'null'}` +
    (ctx.decisions === undefined ? '}\n' : `,"decisions":${formatDecisions(ctx.decisions)}}\n`)
  );
}

/** `,"trace_id":"<32 hex>"` when the request is traced (sampled or not), else nothing. The id is
 * 32 hex digits the gateway formatted, so it needs no escaping. */
export const traceField = (traceId: string | undefined) => (traceId === undefined ? '' : `,"trace_id":"${traceId}"`);

export const opt = (name: string, v: string | undefined) => (v === undefined ? '' : `,"${name}":${quoted(v)}`);

/** Edge decisions (authz, limits): which filter, policy and statement decided, and was it enforced. */
export function formatDecisions(ds: readonly DecisionRecord[]): string {
  let out = '[';
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    out +=
      `${i ? ',' : ''}{"filter":${quoted(d.filter)},"allowed":${d.allowed},"code":${d.code === undefined ? 'null' : quoted(d.code)}` +
      `${opt('auth_method', d.authMethod)}${opt('subject', d.subject)}` +
      `${opt('policy', d.policy)}${opt('statement', d.statement)}${opt('condition', d.condition)},"enforced":${d.enforced}}`;
  }
  return out + ']';
}

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

/** Lines are formatted in batches of this many, or FORMAT_MS after the first of a batch. */
const FORMAT_BATCH = 256;
const FORMAT_MS = 50;

/**
 * Lines are formatted in batches rather than one per request. Measured with grouped bench runs
 * (several builds loaded at once on one core, BENCHMARKS.md): formatting 256 lines in one loop
 * cost ~2-4% less CPU per request than formatting each line in the middle of its request's work,
 * where the formatting code and its data are cold again every time. The whole access log costs
 * ~10% of a minimal proxy's CPU per request; the rest is building and writing the bytes.
 */
export function createAccessLog(opts: { enabled: boolean; path?: string | undefined }): AccessLog {
  if (!opts.enabled) return { write() {}, writeRefusal() {}, reopen() {}, flush: async () => {} };
  const sink = createLineSink(opts.path);
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
    let out = '';
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      out += typeof r === 'string' ? r : formatAccessLine(r, r.now, r.wallClock);
    }
    sink.appendBatch(out);
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
