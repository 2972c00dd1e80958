// The one object every layer after authentication reads (authz, limits, audit, upstream headers).
// Every authenticator produces the same shape, so policies never care how a caller proved itself.
import { attr } from '../../pipeline/context.js';
import type { AuthMethod, PolicyIdentity } from '../../policy/index.js';

export type { AuthMethod } from '../../policy/index.js';

/** The caller; the type lives with the policy language (policy/types.ts), which reads it. */
export type Identity = PolicyIdentity;

export const IDENTITY = attr<Identity>('identity');

/**
 * Set by the authenticator that named the caller when the credential verified only against the
 * previous value of a rotated secret (secrets.overlap); the authn gate records it on its decision.
 */
export const PREVIOUS_CREDENTIAL = attr<true>('previous_credential');

/** The reason code the authn gate's allow decision carries for such a request. */
export const PREVIOUS_CREDENTIAL_CODE = 'authn.previous_credential';

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
