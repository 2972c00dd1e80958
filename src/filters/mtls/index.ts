// Client certificates. The TLS listener requests (or requires) a certificate and verifies it
// against its client CA bundle during the handshake; this filter turns the verified certificate
// into an Identity, per route: trust verdict, validity dates against the gateway clock (a
// keep-alive connection can outlive its certificate), pinned fingerprints, SAN allow-list, then
// subject and roles. The decision is a pure function of the cached peer facts and the clock.
import { defineFilter, type Reply } from '../../pipeline/filter.js';
import { IDENTITY, makeIdentity, type Identity } from '../common/identity.js';
import { headerSafe } from '../common/credentials.js';
import { mtlsSchema, type MtlsConfig } from './config.js';
import { peerOf, type PeerCert, type PeerState } from './peer.js';
import { compileSanPatterns, type SanMatcher } from './san-pattern.js';

/**
 * Not a registered HTTP authentication scheme (none exists for TLS client certificates): it lets a
 * 401 carry the WWW-Authenticate field RFC 9110 asks for, and tells a person what is accepted.
 */
export const MTLS_CHALLENGE = 'ClientCertificate';

/** OpenSSL verdicts that are about time, not trust. */
const TIME_ERRORS = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

export const CERT_HEADERS = {
  fingerprint: 'x-gatehouse-client-cert-fingerprint',
  subject: 'x-gatehouse-client-cert-subject',
  sans: 'x-gatehouse-client-cert-sans',
} as const;

type MtlsCode =
  | 'authn.mtls.cert_required'
  | 'authn.mtls.cert_untrusted'
  | 'authn.mtls.cert_expired'
  | 'authn.mtls.san_not_allowed'
  | 'authn.mtls.fingerprint_mismatch';

const forbid = (code: MtlsCode, message: string): Reply => ({ status: 403, code, message });

const REQUIRED: Reply = {
  status: 401,
  code: 'authn.mtls.cert_required',
  message: 'this route requires a client certificate',
  headers: { 'www-authenticate': MTLS_CHALLENGE },
};
const UNTRUSTED = forbid('authn.mtls.cert_untrusted', 'the client certificate is not trusted');
const EXPIRED = forbid('authn.mtls.cert_expired', 'the client certificate is expired or not yet valid');
const NOT_PINNED = forbid('authn.mtls.fingerprint_mismatch', 'the client certificate is not accepted here');
const SAN_REFUSED = forbid('authn.mtls.san_not_allowed', 'the client certificate names no accepted subject');

export interface MtlsPolicy {
  require: boolean;
  pinned: ReadonlySet<string> | undefined;
  allowed: SanMatcher | undefined;
  subjectFrom: MtlsConfig['subject_from'];
  roles: ReadonlyArray<{ match: SanMatcher; roles: readonly string[] }>;
  certHeaders: boolean;
}

export function compilePolicy(cfg: MtlsConfig): MtlsPolicy {
  return {
    require: cfg.require !== false,
    pinned: cfg.pinned_fingerprints ? new Set(cfg.pinned_fingerprints.map((f) => f.replace(/:/g, '').toLowerCase())) : undefined,
    allowed: cfg.allowed_sans ? compileSanPatterns(cfg.allowed_sans, 'mtls.allowed_sans') : undefined,
    subjectFrom: cfg.subject_from,
    roles: Object.entries(cfg.roles_by_san ?? {}).map(([pattern, roles]) => ({
      match: compileSanPatterns([pattern], `mtls.roles_by_san["${pattern}"]`),
      roles: Object.freeze([...roles]),
    })),
    certHeaders: cfg.cert_headers === true,
  };
}

/** What a trusted certificate earns on this route: refused, or a subject, roles and an Identity. */
export type Verdict = Reply | Accepted;
export interface Accepted {
  readonly identity: Identity;
  /** Upstream header pairs when cert_headers is on (flat name, value list). */
  readonly headers: readonly string[];
}

/**
 * The per-request decision: undefined = no certificate and none required (no credential).
 * `judge` is the part that depends on the certificate alone; the filter caches it per connection.
 */
export function decide(p: MtlsPolicy, peer: PeerState, now: number, judged = judge): Verdict | undefined {
  const cert = peer.cert;
  if (cert === undefined) return p.require ? REQUIRED : undefined;
  if (!peer.authorized) return peer.error !== undefined && TIME_ERRORS.has(peer.error) ? EXPIRED : UNTRUSTED;
  if (!(now >= cert.notBefore && now <= cert.notAfter)) return EXPIRED;
  return judged(p, cert);
}

export function judge(p: MtlsPolicy, cert: PeerCert): Verdict {
  if (p.pinned !== undefined && !p.pinned.has(cert.fingerprint)) return NOT_PINNED;
  if (p.allowed !== undefined && !cert.sans.some((s) => p.allowed!.test(s))) return SAN_REFUSED;
  const subject = subjectOf(cert, p.subjectFrom);
  if (subject === undefined || subject === '') return SAN_REFUSED;
  const roles: string[] = [];
  for (const r of p.roles) {
    if (!cert.sans.some((s) => r.match.test(s))) continue;
    for (const role of r.roles) if (!roles.includes(role)) roles.push(role);
  }
  const identity = makeIdentity({
    kind: 'mtls',
    subject,
    issuer: cert.issuer,
    roles: Object.freeze(roles),
    tls: Object.freeze({ sans: cert.sans, fingerprint: cert.fingerprint, subject: cert.subject }),
  });
  const headers = p.certHeaders
    ? [
        CERT_HEADERS.fingerprint, cert.fingerprint,
        CERT_HEADERS.subject, headerSafe(cert.subject),
        ...(cert.sans.length ? [CERT_HEADERS.sans, cert.sans.map(sanForHeader).join(', ')] : []),
      ]
    : [];
  return Object.freeze({ identity, headers: Object.freeze(headers) });
}

/** One SAN in a comma-separated header value: a value holding a comma or a control is percent-encoded. */
function sanForHeader(v: string): string {
  // eslint-disable-next-line no-control-regex
  return /[,%\u0000-\u001f\u007f]/.test(v) ? encodeURIComponent(v) : v;
}

function subjectOf(c: PeerCert, from: MtlsConfig['subject_from']): string | undefined {
  switch (from) {
    case 'san_uri':
      return c.uris[0];
    case 'san_dns':
      return c.dns[0];
    case 'san_email':
      return c.emails[0];
    case 'cn':
      return c.cn;
    default:
      return c.uris[0] ?? c.dns[0] ?? c.cn;
  }
}

export default defineFilter<MtlsConfig>({
  name: 'mtls',
  order: 200,
  schema: mtlsSchema,
  authenticator: true,
  reasons: ['authn.mtls.cert_required', 'authn.mtls.cert_untrusted', 'authn.mtls.cert_expired', 'authn.mtls.san_not_allowed', 'authn.mtls.fingerprint_mismatch'],
  create(cfg, deps) {
    const policy = compilePolicy(cfg);
    const clock = deps.clock;
    // The certificate-only part of the decision, once per connection (keyed by its PeerCert).
    const verdicts = new WeakMap<PeerCert, Verdict>();
    const cachedJudge = (p: MtlsPolicy, cert: PeerCert): Verdict => {
      let v = verdicts.get(cert);
      if (v === undefined) verdicts.set(cert, (v = judge(p, cert)));
      return v;
    };
    return {
      challenge: MTLS_CHALLENGE,
      onRequest: function mtlsOnRequest(ctx): Reply | void {
        const v = decide(policy, peerOf(ctx.req.socket), clock.now(), cachedJudge);
        if (v === undefined) return;
        if ('status' in v) return v;
        if (v.headers.length) ctx.upstreamHeaders = ctx.upstreamHeaders ? ctx.upstreamHeaders.concat(v.headers) : [...v.headers];
        // Any-of: the first authenticator that accepted the request names the caller.
        if (ctx.get(IDENTITY) === undefined) ctx.set(IDENTITY, v.identity);
      },
    };
  },
});
