import { Type as T, type Static } from '@sinclair/typebox';
import { Duration, Size } from '../../config/schema.js';
import { ASYMMETRIC_ALGS, HMAC_ALGS } from './keys.js';

const HeaderName = T.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description: 'An HTTP field name' });
const Url = T.String({ pattern: '^https?://[^\\s]+$' });

const Alg = T.Union([...ASYMMETRIC_ALGS, ...HMAC_ALGS].map((a) => T.Literal(a)), {
  description: 'A JWS algorithm. `none` does not exist here, in any spelling',
});

export const jwtIssuerSchema = T.Object(
  {
    issuer: T.String({
      minLength: 1,
      description: 'The exact `iss` value tokens carry (compared byte for byte). With discovery it is also the URL the discovery document is fetched from',
    }),
    discovery: T.Optional(
      T.Boolean({
        description:
          'Fetch {issuer}/.well-known/openid-configuration, require its `issuer` to equal this issuer exactly, and use its jwks_uri ' +
          '(default true unless jwks_uri, jwks, jwks_file or secret is given). https only (http is allowed for loopback addresses)',
      }),
    ),
    jwks_uri: T.Optional(T.String({ ...Url, description: 'Fetch the key set from this URL, skipping discovery. https only (http for loopback addresses)' })),
    jwks: T.Optional(
      T.Object(
        { keys: T.Array(T.Record(T.String(), T.Unknown()), { maxItems: 100 }) },
        { additionalProperties: true, description: 'An inline key set (JWKS); only public members of RSA, EC and Ed25519 keys are used' },
      ),
    ),
    jwks_file: T.Optional(T.String({ minLength: 1, description: 'A JWKS file, read when the config is loaded (relative paths: from the config file)' })),
    secret: T.Optional(
      T.String({
        minLength: 32,
        description:
          'Shared secret for HS256/384/512 tokens (at least 32/48/64 bytes; use ${secret:...} or ${ENV}). An issuer with a secret has no ' +
          'public keys, and HS* algorithms are allowed only with one (no RS/HS confusion)',
      }),
    ),
    audiences: T.Array(T.String({ minLength: 1 }), {
      minItems: 1,
      description: 'The token `aud` must contain at least one of these (required)',
    }),
    algorithms: T.Optional(
      T.Array(Alg, {
        minItems: 1,
        uniqueItems: true,
        description: 'Accepted `alg` values (default RS256, ES256, EdDSA; HS256 with a secret). Taken from here, never from the token',
      }),
    ),
    typ: T.Optional(
      T.String({
        minLength: 1,
        description: 'Required `typ` header, e.g. at+jwt (RFC 9068); compared case-insensitively, "application/" optional (RFC 8725 §3.11)',
      }),
    ),
    required_claims: T.Optional(T.Array(T.String({ minLength: 1 }), { description: 'Claims that must be present and not null' })),
    required_scopes: T.Optional(
      T.Array(T.String({ minLength: 1, pattern: '^[^ ]+$' }), {
        description: 'Scopes the token must all grant, read from `scope` (space-separated) or `scp` (array or string); missing → 403 insufficient_scope',
      }),
    ),
    max_lifetime: T.Optional(Duration),
    roles_claim: T.Optional(
      T.String({ minLength: 1, description: 'Claim holding roles, a dotted path such as groups or realm_access.roles (array of strings or one string)' }),
    ),
    role_map: T.Optional(
      T.Record(T.String(), T.String({ minLength: 1 }), { description: 'Claim value → role; when given, only mapped values become roles' }),
    ),
    subject_claim: T.Optional(T.String({ minLength: 1, description: 'Claim used as the identity subject (default sub); must be a non-empty string' })),
  },
  {
    additionalProperties: false,
    description:
      'A trusted token issuer. Exactly one key source: discovery (the default), jwks_uri, jwks, jwks_file or secret. ' +
      'max_lifetime (default 24h) bounds exp - iat, or exp - now when the token has no iat',
  },
);

const TokenSource = T.Union([
  T.Object(
    {
      header: HeaderName,
      prefix: T.Optional(
        T.String({ description: 'Scheme prefix, matched case-insensitively (default "Bearer " for Authorization, none for other headers)' }),
      ),
    },
    { additionalProperties: false, description: 'A request header; a value without the prefix is not a token for this filter' },
  ),
  T.Object({ cookie: T.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }) }, { additionalProperties: false, description: 'A cookie' }),
  T.Object(
    { query: T.String({ minLength: 1 }) },
    { additionalProperties: false, description: 'A query parameter (e.g. access_token). Off unless listed: tokens in URLs end up in logs' },
  ),
]);

export const jwtSchema = T.Object(
  {
    issuers: T.Array(jwtIssuerSchema, { minItems: 1, description: 'Trusted issuers; a token is matched to one by its `iss`' }),
    clock_skew: T.Optional(Duration),
    from: T.Optional(
      T.Array(TokenSource, {
        minItems: 1,
        description:
          'Where the token is read (default: Authorization: Bearer). A token found in two places, or twice in one, is refused (400 authn.ambiguous_credentials)',
      }),
    ),
    max_token_bytes: T.Optional(Size),
    forward_token: T.Optional(
      T.Boolean({ description: 'Send the token upstream (default false: the Authorization field, or the configured header/cookie, is removed)' }),
    ),
    cache: T.Optional(
      T.Object(
        { max_entries: T.Optional(T.Integer({ minimum: 0, maximum: 1_000_000, description: 'Verified tokens kept per route (default 10000; 0 disables)' })) },
        { additionalProperties: false, description: 'Verified-token cache, keyed by the token hash; entries end at the token exp' },
      ),
    ),
    jwks: T.Optional(
      T.Object(
        {
          fetch_timeout: T.Optional(Duration),
          max_bytes: T.Optional(Size),
          cooldown: T.Optional(Duration),
          cache_ttl_min: T.Optional(Duration),
          cache_ttl_max: T.Optional(Duration),
          cache_ttl_default: T.Optional(Duration),
          max_stale: T.Optional(Duration),
        },
        {
          additionalProperties: false,
          description:
            'Key set and discovery fetching. Defaults: fetch_timeout 1.5s, max_bytes 150000, cooldown 30s (at most one on-demand fetch, ' +
            'e.g. for an unknown kid, per cooldown), cache_ttl_min 1m and cache_ttl_max 24h (bounds on the provider Cache-Control/Expires), ' +
            'cache_ttl_default 10m (provider sends neither), max_stale 24h (how long past expiry keys are still served while the provider is down)',
        },
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'OIDC / JWT bearer authentication (an authenticator). Defaults: clock_skew 60s (at most 5m), max_token_bytes 8KiB (431 beyond). ' +
      'A request without a token goes on to the other authenticators; a token that fails any check is refused with 401 ' +
      '(403 for insufficient scope, 503 when no keys could be fetched)',
  },
);
export type JwtConfig = Static<typeof jwtSchema>;
export type JwtIssuerConfig = Static<typeof jwtIssuerSchema>;
