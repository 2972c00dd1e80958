import { Type as T, type Static } from '@sinclair/typebox';

export const corsSchema = T.Object(
  {
    allow_origins: T.Array(T.String(), {
      description: 'Allowed origins, e.g. https://app.example.com, https://*.example.com, or "*" (any; not with credentials)',
    }),
    allow_methods: T.Optional(T.Array(T.String({ pattern: '^[A-Z]+$' }), { description: 'Default GET, HEAD, POST' })),
    allow_headers: T.Optional(T.Array(T.String(), { description: 'Request headers a preflight may ask for (case-insensitive)' })),
    expose_headers: T.Optional(T.Array(T.String(), { description: 'Response headers the browser may read' })),
    allow_credentials: T.Optional(T.Boolean({ description: 'Send Access-Control-Allow-Credentials: true (default false)' })),
    max_age: T.Optional(T.Integer({ minimum: 0, maximum: 86400, description: 'Preflight cache seconds (default 600)' })),
  },
  { additionalProperties: false, description: 'Cross-origin resource sharing; preflights are answered before authentication' },
);
export type CorsConfig = Static<typeof corsSchema>;
