// Request and identity builders for this folder's tests (not used by the gateway).
import { buildEvaluator } from './evaluate.js';
import { compilePolicy } from './compile.js';
import type { Attachment, AuthzRequest, Evaluator, EvaluatorOptions, PolicyIdentity } from './types.js';

export function identity(p: Partial<PolicyIdentity> = {}): PolicyIdentity {
  return {
    kind: 'jwt',
    subject: 'alice',
    issuer: 'https://idp.example',
    roles: [],
    scopes: [],
    claims: {},
    keyId: undefined,
    usagePlan: undefined,
    tls: undefined,
    ...p,
  };
}

export interface RequestSpec {
  method?: string;
  path?: string;
  route?: string;
  host?: string;
  ip?: string;
  scheme?: 'http' | 'https';
  time?: number;
  params?: Record<string, string>;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  identity?: PolicyIdentity | undefined;
}

export const T0 = Date.parse('2025-06-01T12:00:00Z');

export function request(s: RequestSpec = {}): AuthzRequest {
  const headers = s.headers ?? {};
  const query = s.query ?? {};
  return {
    method: s.method ?? 'GET',
    path: s.path ?? '/',
    route: s.route ?? 'api',
    host: s.host ?? 'api.example.com',
    ip: s.ip ?? '203.0.113.7',
    scheme: s.scheme ?? 'https',
    time: s.time ?? T0,
    params: s.params,
    header: (n) => headers[n],
    query: (n) => query[n],
    identity: 'identity' in s ? s.identity : identity(),
  };
}

/** An evaluator for route `api` from inline documents, all attached to the route. */
export function evaluatorFor(docs: unknown[], opts: Partial<EvaluatorOptions> = {}): Evaluator {
  const attachments: Attachment[] = docs.map((d, i) => ({ policy: compilePolicy(`p${i}`, d), roles: undefined }));
  return buildEvaluator({ route: 'api', attachments, ...opts });
}

/** One Allow (or Deny) statement on everything, plus the given members. */
export const stmt = (extra: Record<string, unknown>, effect: 'Allow' | 'Deny' = 'Allow') => ({
  Statement: [{ Effect: effect, Action: 'http:*', Resource: 'route/api/*', ...extra }],
});
