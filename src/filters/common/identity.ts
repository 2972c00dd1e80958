// The one object every layer after authentication reads (authz, limits, audit, upstream headers).
// Every authenticator produces the same shape, so policies never care how a caller proved itself.
import { attr } from '../../pipeline/context.js';

export type AuthMethod = 'jwt' | 'sigv4' | 'api_key' | 'mtls';

export interface Identity {
  readonly kind: AuthMethod;
  /** Stable caller id: JWT `sub`, SigV4 access key's principal, API key owner, certificate SAN/subject. */
  readonly subject: string;
  /** JWT `iss`; for other methods the configured authority name, if any. */
  readonly issuer: string | undefined;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
  /** Verified claims (JWT payload) or method-specific attributes; never secrets. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** API key id, SigV4 access key id, or JWT `kid`: what the logs may name instead of the secret. */
  readonly keyId: string | undefined;
  /** Usage plan the caller is attached to (API keys, later identities), for rate limits. */
  readonly usagePlan: string | undefined;
  /** Client certificate facts when the caller presented one. */
  readonly tls: { readonly sans: readonly string[]; readonly fingerprint: string; readonly subject: string } | undefined;
}

export const IDENTITY = attr<Identity>('identity');

/** Make an Identity with the optional parts defaulted, so authenticators stay short. */
export function makeIdentity(p: Partial<Identity> & { kind: AuthMethod; subject: string }): Identity {
  return {
    kind: p.kind,
    subject: p.subject,
    issuer: p.issuer,
    roles: p.roles ?? [],
    scopes: p.scopes ?? [],
    claims: p.claims ?? {},
    keyId: p.keyId,
    usagePlan: p.usagePlan,
    tls: p.tls,
  };
}
