import { Type as T, type Static } from '@sinclair/typebox';

const SanPattern = T.String({ minLength: 1, description: 'Exact SAN value, or a pattern where * matches one or more characters other than /' });

export const mtlsSchema = T.Object(
  {
    require: T.Optional(
      T.Boolean({
        description:
          'A client certificate is mandatory on this route (default true): without one the answer is 401 ' +
          'authn.mtls.cert_required, whatever other authenticator the route has. false: a missing certificate is ' +
          '"no credential" and the next authenticator is tried (any-of); a certificate that is present is still checked',
      }),
    ),
    allowed_sans: T.Optional(
      T.Array(SanPattern, {
        description:
          'Accept only certificates with a URI, DNS, email or IP SAN matching one of these, e.g. ' +
          'spiffe://example.org/ns/*/sa/* (403 authn.mtls.san_not_allowed). Default: any certificate the listener trusts',
      }),
    ),
    pinned_fingerprints: T.Optional(
      T.Array(T.String({ pattern: '^([0-9A-Fa-f]{64}|([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})$' }), {
        description: 'Accept only these certificates: SHA-256 of the DER, hex with or without colons (403 authn.mtls.fingerprint_mismatch)',
      }),
    ),
    subject_from: T.Optional(
      T.Union([T.Literal('san_uri'), T.Literal('san_dns'), T.Literal('san_email'), T.Literal('cn')], {
        description: 'Where the identity subject comes from. Default: the first URI SAN, else the first DNS SAN, else the subject CN',
      }),
    ),
    roles_by_san: T.Optional(
      T.Record(T.String({ minLength: 1 }), T.Array(T.String({ minLength: 1 })), {
        description: 'SAN value or pattern → roles; a certificate gets the roles of every entry one of its SANs matches',
      }),
    ),
    cert_headers: T.Optional(
      T.Boolean({
        description:
          'Send the verified certificate upstream as x-gatehouse-client-cert-fingerprint, -subject and -sans ' +
          '(default false). Client-sent copies, X-Forwarded-Client-Cert and X-SSL-* are always stripped',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Client certificates (mTLS) on TLS listeners with tls.client_auth request or require: identity from the ' +
      'certificate\'s SANs or CN, with optional SAN allow-list and fingerprint pinning. 401 when none is sent, 403 ' +
      'when it is untrusted, expired, not allowed or not pinned',
  },
);
export type MtlsConfig = Static<typeof mtlsSchema>;
