// Assertions on the gateway's problem+json refusals, as seen over a raw socket.
import assert from 'node:assert/strict';
import { rawRequest, type RawResult } from './raw.js';
import type { TestUpstream } from './upstream.js';
import { settle } from './wait.js';

/**
 * What to assert about the client connection: `true`, the answer says `Connection: close` and the
 * gateway closed; `false`, the connection was kept open; `'unchecked'`, nothing (for answers whose
 * connection handling the test does not pin, such as 502/504 for a misbehaving upstream).
 */
export type ConnectionExpectation = boolean | 'unchecked';

/**
 * Asserts one problem+json answer: status, content-type, reason code (exact, or matching a
 * pattern), the status repeated in the body, a request id shaped like a UUID and equal to
 * x-request-id, no stack trace in the body, and the connection state.
 */
export function assertProblem(r: RawResult, status: number, code: string | RegExp, closed: ConnectionExpectation, label: string): void {
  assert.equal(r.status, status, `${label}: status (got ${JSON.stringify(r.text.slice(0, 300))})`);
  assert.equal(r.headers['content-type'], 'application/problem+json', `${label}: content-type`);
  const body = JSON.parse(r.body) as Record<string, unknown>;
  if (typeof code === 'string') assert.equal(body.code, code, `${label}: code`);
  else assert.match(String(body.code), code, `${label}: code`);
  assert.equal(body.status, status, `${label}: body status`);
  assert.match(String(body.request_id), /^[0-9a-f-]{36}$/, `${label}: request_id`);
  assert.equal(body.request_id, r.headers['x-request-id'], `${label}: request_id matches x-request-id`);
  assert.ok(!r.body.includes('    at '), `${label}: no stack trace`);
  if (closed === 'unchecked') return;
  if (closed) {
    assert.equal(r.headers['connection']?.toLowerCase(), 'close', `${label}: Connection: close`);
    assert.equal(r.closed, true, `${label}: connection closed`);
  } else {
    assert.equal(r.closed, false, `${label}: connection kept`);
  }
}

/**
 * Sends `payload` to the gateway on `port`, asserts the problem answer (see assertProblem), and
 * that nothing at all reached `up`: no request and not one byte.
 */
export async function assertRefused(
  port: number,
  up: TestUpstream,
  payload: string,
  status: number,
  code: string | RegExp,
  label: string,
  closed = true,
): Promise<RawResult> {
  const n = up.requests.length;
  const bytes = up.rawBytes().length;
  const r = await rawRequest(port, payload);
  assertProblem(r, status, code, closed, label);
  await settle();
  assert.equal(up.requests.length, n, `${label}: no request reached the upstream`);
  assert.equal(up.rawBytes().slice(bytes), '', `${label}: not one byte reached the upstream`);
  return r;
}
