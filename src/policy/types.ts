// The evaluator's view of the world. These shapes are structural copies of the gateway's types
// (Identity, the request context) so that policy/ stays free of any import from the server side.
import type { CompiledPolicy } from './compile.js';

export type AuthMethod = 'jwt' | 'sigv4' | 'api_key' | 'mtls';

/**
 * The caller, whichever authenticator proved it. The gateway's `Identity` (filters/common) is this
 * type: defined here so policy/ imports nothing from the server side.
 */
export interface PolicyIdentity {
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

export interface AuthzRequest {
  /** Upper case. */
  readonly method: string;
  /** The normalized path (the one routing used); starts with `/`. */
  readonly path: string;
  /** Route name. */
  readonly route: string;
  readonly host: string;
  readonly ip: string;
  readonly scheme: 'http' | 'https';
  /** Milliseconds since the epoch, from the injected clock. */
  readonly time: number;
  readonly params: Readonly<Record<string, string>> | undefined;
  header(lowerName: string): string | undefined;
  query(name: string): string | undefined;
  readonly identity: PolicyIdentity | undefined;
}

export type ReasonCode = 'authz.explicit_deny' | 'authz.no_matching_allow' | 'authz.condition_failed';

export const POLICY_REASONS: readonly ReasonCode[] = Object.freeze([
  'authz.explicit_deny',
  'authz.no_matching_allow',
  'authz.condition_failed',
] as const);

export interface Decision {
  readonly allowed: boolean;
  /** Undefined when allowed. */
  readonly reason: ReasonCode | undefined;
  /** The deciding policy: the matching Deny, the matching Allow, or the Allow whose condition failed. */
  readonly policy: string | undefined;
  /** The deciding statement: its Sid, else `#<index>` (0-based, as in error paths). */
  readonly statement: string | undefined;
  /** `Operator key` of the failed condition (condition_failed), or of the first condition of a conditional Deny. */
  readonly condition: string | undefined;
  /** For denials: the statement's explanation, else its policy's. */
  readonly explanation: string | undefined;
  readonly remediation: string | undefined;
}

export type Effect = 'Allow' | 'Deny';

export type TraceOutcome =
  | 'not_attached'
  | 'action_mismatch'
  | 'resource_mismatch'
  | 'principal_mismatch'
  | 'condition_failed'
  | 'matched';

export interface TraceEntry {
  readonly policy: string;
  readonly statement: string;
  readonly effect: Effect;
  /** `route`, or `role:<name>` for a policy attached to a role. */
  readonly via: string;
  readonly outcome: TraceOutcome;
  /** A sentence naming what was compared and the request value; secrets are shown as <redacted>. */
  readonly detail: string;
}

export interface Evaluator {
  /** The hot path. */
  evaluate(req: AuthzRequest): Decision;
  /** Walks every statement (no index, no pruning) and returns the same decision as evaluate(). */
  explain(req: AuthzRequest): { decision: Decision; trace: TraceEntry[] };
}


export interface Attachment {
  readonly policy: CompiledPolicy;
  /** Undefined: applies to every caller (attached to the route); else only to callers holding one of these roles. */
  readonly roles: readonly string[] | undefined;
}

export interface EvaluatorOptions {
  /** The route this evaluator serves; resources are `route/<route><path>`. */
  readonly route: string;
  readonly attachments: readonly Attachment[];
  /** With no matching Allow (and no Deny), allow any authenticated caller. Default false. */
  readonly allowAuthenticated?: boolean;
  /** Match Deny resources case-insensitively (see resource-match.ts for why). Default true. */
  readonly caseInsensitiveDeny?: boolean;
}
