import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTraceparent, parseB3Multi, parseB3Single, parseIncoming, parseW3c, takeTraceHeaders } from './tracing-propagation.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';
const w3c = (traceparent: string, tracestate?: string) => parseW3c({ traceparent, traceparentRepeated: false, tracestate });

test('W3C traceparent: valid, sampled flag, tracestate carried', () => {
  assert.deepEqual(w3c(`00-${T}-${S}-01`, 'a=1'), { traceId: T, spanId: S, sampled: true, traceState: 'a=1' });
  assert.equal(w3c(`00-${T}-${S}-00`)?.sampled, false);
  assert.equal(w3c(`00-${T}-${S}-03`)?.sampled, true, 'other flag bits are ignored');
  // A later version may append fields.
  assert.equal(w3c(`01-${T}-${S}-01-extra`)?.traceId, T);
});

test('W3C traceparent: invalid forms are ignored', () => {
  for (const bad of [
    `ff-${T}-${S}-01`,
    `00-${T}-${S}-01-extra`,
    `00-${'0'.repeat(32)}-${S}-01`,
    `00-${T}-${'0'.repeat(16)}-01`,
    `00-${T.toUpperCase()}-${S}-01`,
    `00-${T}-${S}`,
    `00-${T.slice(1)}-${S}-01`,
    '',
  ]) {
    assert.equal(w3c(bad), undefined, bad);
  }
  assert.equal(parseW3c({ traceparent: `00-${T}-${S}-01`, traceparentRepeated: true, tracestate: undefined }), undefined);
});

test('B3 single: 128- and 64-bit ids, sampling states, a bare decision names no parent', () => {
  assert.deepEqual(parseB3Single(`${T}-${S}-1`), { traceId: T, spanId: S, sampled: true, traceState: undefined });
  assert.equal(parseB3Single(`${T}-${S}-d-${S}`)?.sampled, true);
  assert.equal(parseB3Single(`${T}-${S}-0`)?.sampled, false);
  assert.equal(parseB3Single(`${T}-${S}`)?.sampled, false, 'deferred counts as not sampled');
  assert.equal(parseB3Single(`a3ce929d0e0e4736-${S}-1`)?.traceId, '0000000000000000a3ce929d0e0e4736');
  assert.equal(parseB3Single('1'), undefined);
  assert.equal(parseB3Single(`${T}-${S}-x`), undefined);
});

test('B3 multi: sampled by X-B3-Sampled 1/true or X-B3-Flags 1', () => {
  const base = { b3TraceId: T, b3SpanId: S, b3Sampled: undefined as string | undefined, b3Flags: undefined as string | undefined };
  assert.equal(parseB3Multi({ ...base, b3Sampled: '1' })?.sampled, true);
  assert.equal(parseB3Multi({ ...base, b3Sampled: 'true' })?.sampled, true);
  assert.equal(parseB3Multi({ ...base, b3Flags: '1' })?.sampled, true);
  assert.equal(parseB3Multi({ ...base, b3Sampled: '0' })?.sampled, false);
  assert.equal(parseB3Multi({ ...base, b3SpanId: undefined }), undefined);
  assert.equal(parseB3Multi({ ...base, b3TraceId: 'xyz' }), undefined);
});

test('takeTraceHeaders removes trace fields (B3 only when accepted) and keeps the rest in order', () => {
  const headers = ['Accept', '*/*', 'TraceParent', `00-${T}-${S}-01`, 'tracestate', 'a=1', 'b3', `${T}-${S}-1`, 'X-B3-ParentSpanId', S, 'tracestate', 'b=2', 'x-other', 'v'];
  const kept = headers.slice();
  const h = takeTraceHeaders(kept, false)!;
  assert.equal(h.traceparent, `00-${T}-${S}-01`);
  assert.equal(h.tracestate, 'a=1,b=2');
  assert.equal(h.b3, undefined);
  assert.deepEqual(kept, ['Accept', '*/*', 'b3', `${T}-${S}-1`, 'X-B3-ParentSpanId', S, 'x-other', 'v']);
  const kept2 = headers.slice();
  assert.equal(takeTraceHeaders(kept2, true)!.b3, `${T}-${S}-1`);
  assert.deepEqual(kept2, ['Accept', '*/*', 'x-other', 'v']);
  assert.equal(takeTraceHeaders(['accept', '*/*'], true), undefined);
});

test('parseIncoming tries the formats in the configured order', () => {
  const other = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  const h = takeTraceHeaders(['traceparent', `00-${T}-${S}-01`, 'b3', `${other}-${S}-1`], true)!;
  assert.equal(parseIncoming(h, ['w3c', 'b3'])?.traceId, T);
  assert.equal(parseIncoming(h, ['b3', 'w3c'])?.traceId, other);
  assert.equal(parseIncoming(h, ['w3c'])?.traceId, T);
  assert.equal(formatTraceparent(T, S, false), `00-${T}-${S}-00`);
});
