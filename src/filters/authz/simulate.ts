// Runs one described request (method, path, identity...) through the same routing and the same
// route evaluator the gateway uses, and returns the decision with its statement-by-statement
// trace. Shared by `gatehouse explain`, `gatehouse test-policies` and the admin POST /explain.
import { decodeJwt } from 'jose';
import type { GatehouseConfig } from '../../config/schema.js';
import { normalizePath } from '../../routing/normalize-path.js';
import { Router } from '../../routing/router.js';
import type { AuthzRequest, Decision, PolicyIdentity, TraceEntry } from '../../policy/index.js';
import type { AuthMethod } from '../common/identity.js';
import { claimAt, rolesOf, scopesOf } from '../jwt/claims.js';
import type { JwtConfig } from '../jwt/config.js';
import { routeAuthenticators } from '../registry.js';
import { routeEvaluator } from './catalog.js';
import type { AuthzConfig } from './config.js';

/** A request as a test file, the CLI or the admin API describes it. */
export interface SimulatedRequest {
  method: string;
  /** Request target as a client sends it: path and optional ?query (normalized here). */
  path: string;
  host?: string;
  headers?: Record<string, string>;
  ip?: string;
  scheme?: 'http' | 'https';
  /** ISO 8601 or ms since the epoch; default now. */
  time?: string | number;
}

/**
 * Either an identity (`subject`, `roles`, `claims`, ...) or, without `subject`/`claims`, a JWT
 * claims set that is mapped to an identity exactly as the route's jwt filter would map it.
 */
export type IdentityInput = Record<string, unknown>;

export interface Simulation {
  route: string | undefined;
  /** The resource string policies match: route/<name><normalized path>. */
  resource: string | undefined;
  action: string;
  identity: PolicyIdentity | undefined;
  /** public: no authenticator and no authz; no_route: nothing matched (404); bad_path: 400. */
  outcome: 'evaluated' | 'public' | 'no_route' | 'bad_path';
  decision: Decision | undefined;
  trace: TraceEntry[];
}

export class SimulationError extends Error {}

const routers = new WeakMap<GatehouseConfig, Router<number>>();

function routerOf(config: GatehouseConfig): Router<number> {
  let r = routers.get(config);
  if (!r) {
    r = new Router(config.routes.map((route, i) => ({ match: route.match, value: i })));
    routers.set(config, r);
  }
  return r;
}

export function simulate(config: GatehouseConfig, req: SimulatedRequest, identityInput: IdentityInput | undefined): Simulation {
  const method = req.method.toUpperCase();
  const action = `http:${method}`;
  const norm = normalizePath(req.path, 16 * 1024);
  const none = { route: undefined, resource: undefined, action, identity: undefined, decision: undefined, trace: [] };
  if (!norm.ok) return { ...none, outcome: 'bad_path' };
  const headers = lowerKeys(req.headers ?? {});
  const host = (req.host ?? headers.host ?? 'localhost').toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  const hit = routerOf(config).match({ host, method, path: norm.path, query: norm.query, header: (n) => headers[n] });
  if (!hit) return { ...none, outcome: 'no_route' };
  const route = config.routes[hit.value]!;
  const filters = (route.filters ?? {}) as Record<string, unknown>;
  const authenticated = routeAuthenticators(filters).length > 0;
  const authzCfg = (filters.authz as AuthzConfig | undefined) ?? (authenticated ? {} : undefined);
  const identity = identityInput === undefined ? undefined : toIdentity(identityInput, filters.jwt as JwtConfig | undefined);
  const resource = `route/${route.name}${norm.path}`;
  if (!authzCfg) return { route: route.name, resource, action, identity, outcome: 'public', decision: undefined, trace: [] };
  const query = new URLSearchParams(norm.query);
  const request: AuthzRequest = {
    method,
    path: norm.path,
    route: route.name,
    host,
    ip: req.ip ?? '127.0.0.1',
    scheme: req.scheme ?? 'https',
    time: timeOf(req.time),
    params: hit.params,
    header: (n) => headers[n],
    query: (n) => query.get(n) ?? undefined,
    identity,
  };
  const { decision, trace } = routeEvaluator(config, route.name, authzCfg).explain(request);
  return { route: route.name, resource, action, identity, outcome: 'evaluated', decision, trace };
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = String(v);
  return out;
}

function timeOf(t: string | number | undefined): number {
  if (t === undefined) return Date.now();
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) throw new SimulationError(`invalid time "${t}" (expected ISO 8601 or milliseconds since the epoch)`);
  return ms;
}

const METHODS: readonly AuthMethod[] = ['jwt', 'sigv4', 'api_key', 'mtls'];
const strings = (v: unknown, what: string): string[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new SimulationError(`identity ${what} must be a list of strings`);
  return v as string[];
};
const optString = (v: unknown, what: string): string | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new SimulationError(`identity ${what} must be a string`);
  return v;
};

export function toIdentity(input: IdentityInput, jwt: JwtConfig | undefined): PolicyIdentity {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new SimulationError('identity must be a JSON object');
  if ('subject' in input || 'claims' in input) return explicitIdentity(input);
  return identityFromClaims(input, jwt);
}

function explicitIdentity(i: IdentityInput): PolicyIdentity {
  const known = new Set(['subject', 'issuer', 'roles', 'scopes', 'claims', 'method', 'key_id', 'usage_plan', 'tls']);
  for (const k of Object.keys(i)) if (!known.has(k)) throw new SimulationError(`identity: unknown field "${k}" (known: ${[...known].join(', ')})`);
  const subject = optString(i.subject, 'subject');
  if (!subject) throw new SimulationError('identity subject must be a non-empty string');
  const method = (optString(i.method, 'method') ?? 'jwt') as AuthMethod;
  if (!METHODS.includes(method)) throw new SimulationError(`identity method must be one of ${METHODS.join(', ')}`);
  const claims = i.claims ?? {};
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new SimulationError('identity claims must be an object');
  let tls: PolicyIdentity['tls'];
  if (i.tls !== undefined) {
    const t = i.tls as Record<string, unknown>;
    tls = { sans: strings(t.sans, 'tls.sans'), fingerprint: optString(t.fingerprint, 'tls.fingerprint') ?? '', subject: optString(t.subject, 'tls.subject') ?? '' };
  }
  return {
    kind: method,
    subject,
    issuer: optString(i.issuer, 'issuer'),
    roles: strings(i.roles, 'roles'),
    scopes: strings(i.scopes, 'scopes'),
    claims: claims as Record<string, unknown>,
    keyId: optString(i.key_id, 'key_id'),
    usagePlan: optString(i.usage_plan, 'usage_plan'),
    tls,
  };
}

/** Maps a claims set as the route's jwt filter does: its issuer's subject claim and role mapping. */
export function identityFromClaims(claims: Record<string, unknown>, jwt: JwtConfig | undefined): PolicyIdentity {
  const iss = typeof claims.iss === 'string' ? claims.iss : undefined;
  const ic = jwt?.issuers.find((x) => x.issuer === iss) ?? jwt?.issuers[0];
  const subjectClaim = ic?.subject_claim ?? 'sub';
  const subject = claimAt(claims, [subjectClaim]);
  if (typeof subject !== 'string' || subject === '') throw new SimulationError(`the claims have no string "${subjectClaim}" to use as the subject`);
  return {
    kind: 'jwt',
    subject,
    issuer: iss,
    roles: rolesOf(claims, { rolesPath: ic?.roles_claim?.split('.'), roleMap: ic?.role_map ? new Map(Object.entries(ic.role_map)) : undefined }),
    scopes: scopesOf(claims),
    claims,
    keyId: undefined,
    usagePlan: undefined,
    tls: undefined,
  };
}

/** Reads a JWT's claims WITHOUT verifying it: explain is a what-if tool, never an authenticator. */
export function claimsOfToken(token: string): Record<string, unknown> {
  try {
    return decodeJwt(token) as Record<string, unknown>;
  } catch (err) {
    throw new SimulationError(`cannot decode the token: ${(err as Error).message}`);
  }
}
