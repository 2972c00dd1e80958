// Claim checks on a payload whose signature has been verified. Pure (time is an argument), so
// each rule is tested without keys or sockets. jose's own claim checks are not used: its
// maxTokenAge bounds now - iat only (a token with exp in 2286 passes) and the reason codes here
// must say exactly which rule failed.

export type ClaimCode =
  | 'authn.jwt.malformed'
  | 'authn.jwt.expired'
  | 'authn.jwt.not_yet_valid'
  | 'authn.jwt.issued_in_future'
  | 'authn.jwt.lifetime_too_long'
  | 'authn.jwt.issuer_mismatch'
  | 'authn.jwt.audience_mismatch'
  | 'authn.jwt.missing_claim'
  | 'authn.jwt.insufficient_scope';

export interface ClaimPolicy {
  readonly issuer: string;
  readonly audiences: ReadonlySet<string>;
  /** Allowed clock difference, seconds. */
  readonly skewS: number;
  /** Longest accepted exp - iat (or exp - now without iat), seconds. */
  readonly maxLifetimeS: number;
  readonly requiredClaims: readonly string[];
  /** Every one of these must be granted. */
  readonly requiredScopes: readonly string[];
  readonly subjectClaim: string;
  /** Path into the payload (`realm_access.roles` → ['realm_access', 'roles']). */
  readonly rolesPath: readonly string[] | undefined;
  /** When set, only mapped claim values become roles. */
  readonly roleMap: ReadonlyMap<string, string> | undefined;
}

export interface ClaimsOk {
  readonly subject: string;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  /** Seconds since the epoch. */
  readonly exp: number;
}

export class ClaimFailure {
  constructor(
    readonly code: ClaimCode,
    /** For the debug log only. */
    readonly detail: string,
  ) {}
}

const fail = (code: ClaimCode, detail: string) => new ClaimFailure(code, detail);
const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const own = (o: object, k: string): unknown => (Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined);

/** Scopes from `scope` (space-separated string, RFC 8693/9068) or `scp` (array or string). */
export function scopesOf(payload: Readonly<Record<string, unknown>>): string[] {
  const out = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === 'string') {
      for (const s of v.split(' ')) if (s !== '') out.add(s);
    } else if (Array.isArray(v)) {
      for (const s of v) if (typeof s === 'string' && s !== '' && !s.includes(' ')) out.add(s);
    }
  };
  add(own(payload, 'scope'));
  add(own(payload, 'scp'));
  return [...out];
}

/** Looks a dotted path up through own properties only (never the prototype chain). */
export function claimAt(payload: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let cur: unknown = payload;
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = own(cur, seg);
  }
  return cur;
}

export function rolesOf(payload: Readonly<Record<string, unknown>>, policy: Pick<ClaimPolicy, 'rolesPath' | 'roleMap'>): string[] {
  if (policy.rolesPath === undefined) return [];
  const v = claimAt(payload, policy.rolesPath);
  const values = typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  const out = new Set<string>();
  for (const value of values) {
    if (policy.roleMap === undefined) out.add(value);
    else {
      const mapped = policy.roleMap.get(value);
      if (mapped !== undefined) out.add(mapped);
    }
  }
  return [...out];
}

export function checkClaims(payload: Readonly<Record<string, unknown>>, p: ClaimPolicy, nowMs: number): ClaimsOk | ClaimFailure {
  const now = nowMs / 1000;
  const exp = own(payload, 'exp');
  if (exp === undefined) return fail('authn.jwt.missing_claim', 'exp');
  if (!isNumericDate(exp)) return fail('authn.jwt.malformed', 'exp is not a number');
  const nbf = own(payload, 'nbf');
  if (nbf !== undefined && !isNumericDate(nbf)) return fail('authn.jwt.malformed', 'nbf is not a number');
  const iat = own(payload, 'iat');
  if (iat !== undefined && !isNumericDate(iat)) return fail('authn.jwt.malformed', 'iat is not a number');

  if (exp <= now - p.skewS) return fail('authn.jwt.expired', `exp ${exp} now ${Math.floor(now)}`);
  if (nbf !== undefined && nbf > now + p.skewS) return fail('authn.jwt.not_yet_valid', `nbf ${nbf} now ${Math.floor(now)}`);
  if (iat !== undefined && iat > now + p.skewS) return fail('authn.jwt.issued_in_future', `iat ${iat} now ${Math.floor(now)}`);
  const lifetime = iat !== undefined ? exp - iat : exp - now;
  if (lifetime > p.maxLifetimeS) return fail('authn.jwt.lifetime_too_long', `lifetime ${Math.round(lifetime)}s`);

  // The issuer config was chosen by this very value; checked again so that no future change in
  // how issuers are picked can weaken it.
  if (own(payload, 'iss') !== p.issuer) return fail('authn.jwt.issuer_mismatch', 'iss');

  const aud = own(payload, 'aud');
  const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!auds.some((a) => typeof a === 'string' && p.audiences.has(a))) return fail('authn.jwt.audience_mismatch', 'aud');

  for (const name of p.requiredClaims) {
    const v = own(payload, name);
    if (v === undefined || v === null) return fail('authn.jwt.missing_claim', name);
  }
  const subject = own(payload, p.subjectClaim);
  if (typeof subject !== 'string' || subject === '') return fail('authn.jwt.missing_claim', p.subjectClaim);

  const scopes = scopesOf(payload);
  if (p.requiredScopes.length > 0) {
    const granted = new Set(scopes);
    for (const s of p.requiredScopes) if (!granted.has(s)) return fail('authn.jwt.insufficient_scope', s);
  }
  return { subject, scopes, roles: rolesOf(payload, p), exp };
}
