import { Type as T, type Static } from '@sinclair/typebox';

const HeaderName = T.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" });

export const authnSchema = T.Object(
  {
    optional: T.Optional(
      T.Boolean({ description: 'Let requests without any credential through anonymously (default false: 401). A credential that is present but invalid is always refused' }),
    ),
    identity_headers: T.Optional(
      T.Union([
        T.Literal(false, { description: 'Send no identity headers upstream' }),
        T.Object(
          {
            subject: T.Optional(HeaderName),
            issuer: T.Optional(HeaderName),
            roles: T.Optional(HeaderName),
            scopes: T.Optional(HeaderName),
            method: T.Optional(HeaderName),
            key_id: T.Optional(HeaderName),
            claims: T.Optional(T.Record(T.String(), HeaderName, { description: 'Claim name → header name' })),
          },
          { additionalProperties: false, description: 'Header names for identity facts sent upstream' },
        ),
      ]),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The authentication gate, added automatically to any route with an authenticator (jwt, sigv4, api_key, mtls): ' +
      'authenticators are tried in order as "any of"; with no identity the request is refused (401). Identity is sent ' +
      'upstream as x-gatehouse-subject, x-gatehouse-issuer, x-gatehouse-roles, x-gatehouse-scopes, x-gatehouse-auth-method, ' +
      'x-gatehouse-key-id unless configured otherwise; client-sent copies are always stripped',
  },
);
export type AuthnConfig = Static<typeof authnSchema>;
