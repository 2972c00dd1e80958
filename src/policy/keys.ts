// The condition key namespace, which is also the policy variable namespace. Each key resolves to
// a getter once, at compile time, so a request never parses a key string.
import { closest } from './suggest.js';
import type { AuthzRequest } from './types.js';

/** How a request value should be read by the operators. */
export type KeyKind =
  | 'single' // a string (or a claim's natural type)
  | 'multi' // an array of values: roles, scopes, SANs, array claims
  | 'time' // ms since the epoch; Date* operators compare it, String* see ISO 8601
  | 'bool'; // request.secure

export interface KeyRef {
  /** Canonical spelling (fixed part lower case), used in decisions and traces. */
  readonly name: string;
  readonly kind: KeyKind;
  /** Header keys whose values must never appear in an explain trace. */
  readonly secret: boolean;
  /** Undefined (or an empty array) when the request has no value for the key. */
  readonly get: (req: AuthzRequest) => unknown;
}

type Getter = (req: AuthzRequest) => unknown;

const FIXED: Record<string, { kind: KeyKind; get: Getter }> = {
  'identity.sub': { kind: 'single', get: (r) => r.identity?.subject },
  'identity.subject': { kind: 'single', get: (r) => r.identity?.subject },
  'identity.issuer': { kind: 'single', get: (r) => r.identity?.issuer },
  'identity.roles': { kind: 'multi', get: (r) => r.identity?.roles },
  'identity.scopes': { kind: 'multi', get: (r) => r.identity?.scopes },
  'identity.method': { kind: 'single', get: (r) => r.identity?.kind },
  'identity.key_id': { kind: 'single', get: (r) => r.identity?.keyId },
  'identity.usage_plan': { kind: 'single', get: (r) => r.identity?.usagePlan },
  'request.ip': { kind: 'single', get: (r) => r.ip },
  'request.method': { kind: 'single', get: (r) => r.method },
  'request.path': { kind: 'single', get: (r) => r.path },
  'request.route': { kind: 'single', get: (r) => r.route },
  'request.host': { kind: 'single', get: (r) => r.host },
  'request.scheme': { kind: 'single', get: (r) => r.scheme },
  'request.secure': { kind: 'bool', get: (r) => r.scheme === 'https' },
  'request.time': { kind: 'time', get: (r) => r.time },
  'tls.client.san': { kind: 'multi', get: (r) => r.identity?.tls?.sans },
  'tls.client.fingerprint': { kind: 'single', get: (r) => r.identity?.tls?.fingerprint },
  'tls.client.subject': { kind: 'single', get: (r) => r.identity?.tls?.subject },
};

const PREFIXES = ['identity.claims.', 'request.params.', 'request.headers.', 'request.query.'] as const;

// Headers that carry credentials: an explain trace shows <redacted> instead of their value.
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);

/** The documented key list, with <name> placeholders, for the README and `gatehouse help`. */
export const CONDITION_KEYS: readonly string[] = Object.freeze([
  ...Object.keys(FIXED),
  'identity.claims.<name>',
  'request.params.<name>',
  'request.headers.<lower-name>',
  'request.query.<name>',
]);

/** Resolves a key, or returns an error message (with a hint when a known key is close). */
export function resolveKey(key: string): KeyRef | string {
  const lower = key.toLowerCase();
  const fixed = FIXED[lower];
  if (fixed) return { name: lower, kind: fixed.kind, secret: false, get: fixed.get };
  for (const prefix of PREFIXES) {
    if (!lower.startsWith(prefix)) continue;
    const suffix = key.slice(prefix.length);
    if (suffix === '') return `condition key ${JSON.stringify(key)} needs a name after ${JSON.stringify(prefix)}`;
    return prefixed(prefix, suffix);
  }
  return `unknown condition key ${JSON.stringify(key)}${hint(key)}`;
}

function prefixed(prefix: (typeof PREFIXES)[number], suffix: string): KeyRef {
  switch (prefix) {
    case 'identity.claims.':
      return { name: prefix + suffix, kind: 'single', secret: false, get: claimGetter(suffix) };
    case 'request.params.':
      return { name: prefix + suffix, kind: 'single', secret: false, get: (r) => r.params?.[suffix] };
    case 'request.headers.': {
      const h = suffix.toLowerCase();
      return { name: prefix + h, kind: 'single', secret: SECRET_HEADERS.has(h), get: (r) => r.header(h) };
    }
    case 'request.query.':
      return { name: prefix + suffix, kind: 'single', secret: false, get: (r) => r.query(suffix) };
  }
}

// A claim name may itself contain dots (namespaced claims such as `https://example.com/roles`),
// so the whole suffix is tried as one member first, then as a path through nested objects.
function claimGetter(suffix: string): Getter {
  const steps = suffix.split('.');
  if (steps.length === 1) return (r) => ownMember(r.identity?.claims, suffix);
  return (r) => {
    const claims = r.identity?.claims;
    if (claims === undefined) return undefined;
    const direct = ownMember(claims, suffix);
    if (direct !== undefined) return direct;
    let cur: unknown = claims;
    for (let i = 0; i < steps.length; i++) {
      cur = ownMember(cur, steps[i]!);
      if (cur === undefined) return undefined;
    }
    return cur;
  };
}

// Own members only: a claim named `constructor` or `__proto__` must not reach Object.prototype.
function ownMember(obj: unknown, name: string): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  if (!Object.prototype.hasOwnProperty.call(obj, name)) return undefined;
  const v = (obj as Record<string, unknown>)[name];
  return v === null ? undefined : v;
}

function hint(key: string): string {
  const candidates: string[] = Object.keys(FIXED);
  // For `request.header.x-foo` suggest `request.headers.x-foo`: graft the user's name onto each prefix.
  const parts = key.split('.');
  if (parts.length >= 3) {
    const name = parts.slice(2).join('.');
    for (const p of PREFIXES) candidates.push(p + name);
  }
  const best = closest(key, candidates);
  return best === undefined ? '' : ` (did you mean ${JSON.stringify(best)}?)`;
}
