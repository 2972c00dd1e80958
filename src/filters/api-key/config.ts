import { Type as T, type Static } from '@sinclair/typebox';
import { HASH_PATTERN, ID_PATTERN } from './key-format.js';

const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
const IsoDate = T.String({
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2}))?$',
  description: 'ISO 8601 date or date-time, e.g. 2027-01-31 or 2027-01-31T12:00:00Z (a date alone means its start, UTC)',
});

export const keyRecordSchema = T.Object(
  {
    id: T.String({ pattern: ID_PATTERN, description: 'The key id (the part after gh_); looked up, logged, sent upstream as x-gatehouse-key-id' }),
    hash: T.String({ pattern: HASH_PATTERN, description: 'sha256:<hex> of the whole key, as printed by `gatehouse keys create` / `gatehouse keys hash`' }),
    owner: T.String({ minLength: 1, maxLength: 256, description: 'Who holds the key; becomes the identity subject' }),
    roles: T.Optional(T.Array(T.String({ minLength: 1 }), { description: 'Roles granted to the key holder' })),
    usage_plan: T.Optional(T.String({ minLength: 1, description: 'Usage plan name, read by rate limits and quotas' })),
    expires_at: T.Optional(IsoDate),
    enabled: T.Optional(T.Boolean({ description: 'false revokes the key: it is refused with authn.api_key.revoked (default true)' })),
    created_at: T.Optional(T.String({ description: 'Informational: when the key was made' })),
    description: T.Optional(T.String({ description: 'Informational note' })),
  },
  { additionalProperties: false, description: 'An API key record: only the hash of the key is stored' },
);
export type KeyRecord = Static<typeof keyRecordSchema>;

export const apiKeySchema = T.Object(
  {
    header: T.Optional(
      T.String({
        pattern: HEADER_NAME,
        description: 'Request header carrying the key (default x-api-key). Two fields or a comma-joined value are refused (400)',
      }),
    ),
    query: T.Optional(
      T.String({
        minLength: 1,
        description: 'Also accept the key in this query parameter (off by default: URLs end up in logs and browser history). A key in both header and query is refused (400)',
      }),
    ),
    keys: T.Optional(T.Array(keyRecordSchema, { description: 'Inline key records (hashes only)' })),
    keys_file: T.Optional(
      T.String({
        minLength: 1,
        description:
          'YAML or JSON file with a list of key records (or {keys: [...]}), relative to the config file. Watched: ' +
          'added, disabled and removed keys apply within 2 s without a restart; a file that fails to parse or ' +
          'validate is logged and the last good set stays in force',
      }),
    ),
    forward_key: T.Optional(T.Boolean({ description: 'Send the key header (and query parameter) upstream (default false: removed)' })),
  },
  {
    additionalProperties: false,
    description:
      'API keys (gh_<id>_<secret>, made by `gatehouse keys create`): looked up by id, compared by SHA-256 hash in ' +
      'constant time. Unknown and wrong keys both answer 401 authn.api_key.invalid; disabled keys 401 ' +
      'authn.api_key.revoked; expired keys 401 authn.api_key.expired',
  },
);
export type ApiKeyConfig = Static<typeof apiKeySchema>;
