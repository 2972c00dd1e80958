// Incoming trace context: W3C Trace Context (traceparent/tracestate) and B3 (single `b3` header
// or multi X-B3-*). Pure string work, no OpenTelemetry import, so it is cheap to test and fuzz.
// Written here rather than through the OTel propagator API because the gateway already holds the
// headers as a flat list it is about to forward: one pass both reads the fields and removes them
// (the gateway writes its own traceparent for the upstream), with no getter/carrier objects.

export type PropagationFormat = 'w3c' | 'b3';

/** The caller's span, as an incoming header names it. */
export interface IncomingParent {
  /** 32 lower-case hex digits (a 64-bit B3 id is left-padded with zeros). */
  traceId: string;
  /** 16 lower-case hex digits. */
  spanId: string;
  sampled: boolean;
  /** Raw tracestate (W3C only; validated later by the OTel API's parser). */
  traceState: string | undefined;
}

/** The raw trace-context fields of one request, as taken from its header list. */
export interface TraceHeaders {
  traceparent: string | undefined;
  /** More than one traceparent field: the header is invalid (W3C 3.2) and ignored. */
  traceparentRepeated: boolean;
  tracestate: string | undefined;
  b3: string | undefined;
  b3TraceId: string | undefined;
  b3SpanId: string | undefined;
  b3Sampled: string | undefined;
  b3Flags: string | undefined;
}

/** Lengths of the names below, so that most fields skip toLowerCase(). */
const CANDIDATE_LENGTHS = new Set(
  ['traceparent', 'tracestate', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled', 'x-b3-flags', 'x-b3-parentspanid'].map((n) => n.length),
);

/**
 * Removes the trace-context fields from `headers` (a flat name/value list about to be sent
 * upstream) and returns their values; undefined when there were none. W3C fields are always
 * removed (the gateway sends its own); B3 fields only when `b3` is accepted, otherwise they are
 * ordinary headers and pass through.
 */
export function takeTraceHeaders(headers: string[], b3: boolean): TraceHeaders | undefined {
  let out: TraceHeaders | undefined;
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    const raw = headers[i]!;
    if (!CANDIDATE_LENGTHS.has(raw.length)) continue;
    const name = raw.toLowerCase();
    const value = headers[i + 1]!;
    // Walking backwards, so repeated fields are joined in their original order.
    switch (name) {
      case 'traceparent':
        out ??= empty();
        if (out.traceparent !== undefined) out.traceparentRepeated = true;
        out.traceparent = value;
        break;
      case 'tracestate':
        out ??= empty();
        out.tracestate = out.tracestate === undefined ? value : `${value},${out.tracestate}`;
        break;
      case 'b3':
        if (!b3) continue;
        (out ??= empty()).b3 = value;
        break;
      case 'x-b3-traceid':
        if (!b3) continue;
        (out ??= empty()).b3TraceId = value;
        break;
      case 'x-b3-spanid':
        if (!b3) continue;
        (out ??= empty()).b3SpanId = value;
        break;
      case 'x-b3-sampled':
        if (!b3) continue;
        (out ??= empty()).b3Sampled = value;
        break;
      case 'x-b3-flags':
        if (!b3) continue;
        (out ??= empty()).b3Flags = value;
        break;
      case 'x-b3-parentspanid':
        if (!b3) continue;
        break;
      default:
        continue;
    }
    headers.splice(i, 2);
  }
  return out;
}

const empty = (): TraceHeaders => ({
  traceparent: undefined, traceparentRepeated: false, tracestate: undefined,
  b3: undefined, b3TraceId: undefined, b3SpanId: undefined, b3Sampled: undefined, b3Flags: undefined,
});

/** The first valid parent among the accepted formats, in the configured order. */
export function parseIncoming(h: TraceHeaders, formats: readonly PropagationFormat[]): IncomingParent | undefined {
  for (const f of formats) {
    const p = f === 'w3c' ? parseW3c(h) : parseB3Single(h.b3) ?? parseB3Multi(h);
    if (p !== undefined) return p;
  }
  return undefined;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

/** W3C Trace Context level 1, section 3.2 (and 4.3 for versions above 00). */
export function parseW3c(h: Pick<TraceHeaders, 'traceparent' | 'traceparentRepeated' | 'tracestate'>): IncomingParent | undefined {
  if (h.traceparent === undefined || h.traceparentRepeated) return undefined;
  const m = TRACEPARENT.exec(h.traceparent.trim());
  if (m === null) return undefined;
  const version = m[1]!;
  // ff is forbidden; version 00 has exactly four fields. A later version may append fields,
  // which we ignore (we speak 00 to the upstream).
  if (version === 'ff' || (version === '00' && m[5] !== undefined)) return undefined;
  const traceId = m[2]!;
  const spanId = m[3]!;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, sampled: (parseInt(m[4]!, 16) & 1) === 1, traceState: h.tracestate };
}

const B3_SINGLE = /^([0-9a-f]{16}|[0-9a-f]{32})-([0-9a-f]{16})(?:-([01d]))?(?:-[0-9a-f]{16})?$/;
const B3_ID = /^(?:[0-9a-f]{16}|[0-9a-f]{32})$/;
const B3_SPAN = /^[0-9a-f]{16}$/;

const pad = (id: string) => (id.length === 16 ? ZERO_SPAN + id : id);

/**
 * `b3: {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]`. A bare sampling state (`b3: 0`)
 * names no parent and is ignored. A missing sampling state (deferred) counts as not sampled, as
 * in OpenTelemetry's B3 propagator: with parent_based, such requests are not recorded.
 */
export function parseB3Single(v: string | undefined): IncomingParent | undefined {
  if (v === undefined) return undefined;
  const m = B3_SINGLE.exec(v.trim().toLowerCase());
  if (m === null) return undefined;
  const traceId = pad(m[1]!);
  if (traceId === ZERO_TRACE || m[2] === ZERO_SPAN) return undefined;
  return { traceId, spanId: m[2]!, sampled: m[3] === '1' || m[3] === 'd', traceState: undefined };
}

/** X-B3-TraceId + X-B3-SpanId, with X-B3-Sampled (1/true) or X-B3-Flags: 1 (debug) for sampled. */
export function parseB3Multi(h: Pick<TraceHeaders, 'b3TraceId' | 'b3SpanId' | 'b3Sampled' | 'b3Flags'>): IncomingParent | undefined {
  if (h.b3TraceId === undefined || h.b3SpanId === undefined) return undefined;
  const t = h.b3TraceId.trim().toLowerCase();
  const s = h.b3SpanId.trim().toLowerCase();
  if (!B3_ID.test(t) || !B3_SPAN.test(s)) return undefined;
  const traceId = pad(t);
  if (traceId === ZERO_TRACE || s === ZERO_SPAN) return undefined;
  const sampledValue = h.b3Sampled?.trim().toLowerCase();
  const sampled = sampledValue === '1' || sampledValue === 'true' || h.b3Flags?.trim() === '1';
  return { traceId, spanId: s, sampled, traceState: undefined };
}

/** The traceparent the gateway sends: always version 00. */
export const formatTraceparent = (traceId: string, spanId: string, sampled: boolean): string =>
  `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
