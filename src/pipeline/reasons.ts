// The one vocabulary of reason codes. The same code appears in the problem body, the access log,
// audit records and metric labels. Filters declare theirs in their factory; a test checks that
// every declared code is registered here and that every code maps to a documented title.
import type { ReasonCode } from './filter.js';

export const REASONS = {
  'client.disconnected': 'The client closed the connection before the response completed',
  'route.not_found': 'No route matches the request',
  'request.bad_path': 'The request path is malformed or ambiguous',
  'request.bad_framing': 'The request framing is invalid or ambiguous',
  'request.bad_request': 'The request is malformed',
  'request.bad_host': 'The Host header is missing, duplicated or malformed',
  'request.misdirected': 'The request names an authority this gateway does not serve',
  'request.method_not_allowed': 'The method is not allowed here',
  'request.unsupported_encoding': 'The transfer coding is not supported',
  'request.expectation_failed': 'The Expect header cannot be met',
  'request.body_too_large': 'The request body exceeds the limit for this route',
  'request.headers_too_large': 'The request header section exceeds the limit',
  'request.uri_too_long': 'The request target exceeds the limit',
  'request.timeout': 'The request was not received in time',
  'request.version_not_supported': 'The HTTP version is not supported',
  'upstream.bad_response': 'The upstream sent an invalid response or reset the connection',
  'upstream.connect_failure': 'The upstream could not be reached',
  'upstream.no_healthy_endpoint': 'No healthy upstream endpoint is available',
  'upstream.timeout': 'The upstream did not answer in time',
  'upstream.overflow': 'The upstream is at capacity',
  'gateway.draining': 'The gateway is shutting down',
  'gateway.internal_error': 'The gateway failed to handle the request',
  'authn.missing_credentials': 'The route requires authentication and no credential was presented',
  'authn.ambiguous_credentials': 'The request carries more than one credential of the same kind',
  'cors.preflight': 'CORS preflight answered by the gateway',
  'cors.origin_not_allowed': 'The request origin is not allowed',
  'cors.method_not_allowed': 'The preflight method is not allowed',
  'cors.header_not_allowed': 'A preflight request header is not allowed',
} as const satisfies Record<ReasonCode, string>;

export type KnownReason = keyof typeof REASONS;

export function reasonTitle(code: string): string {
  return (REASONS as Record<string, string>)[code] ?? 'Request refused';
}
