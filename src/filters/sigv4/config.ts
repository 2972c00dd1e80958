import { Type as T, type Static } from '@sinclair/typebox';
import { Duration } from '../../config/schema.js';

const HeaderName = T.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description: 'An HTTP field name' });

const AccessKey = T.Object(
  {
    id: T.String({ pattern: '^[A-Za-z0-9_.-]{1,128}$', description: 'Access key id (what clients put in Credential=); logged in place of the secret' }),
    secret: T.String({
      minLength: 1,
      description: 'Secret access key. Write a secret reference (${secret:env:NAME} or ${secret:file:/path}), never the value; it is never logged',
    }),
    subject: T.Optional(T.String({ minLength: 1, description: 'Identity subject for this key (default: the key id)' })),
    roles: T.Optional(T.Array(T.String({ minLength: 1 }), { description: 'Roles given to callers using this key' })),
    usage_plan: T.Optional(T.String({ minLength: 1, description: 'Usage plan for rate limits and quotas' })),
    enabled: T.Optional(T.Boolean({ description: 'false refuses the key with authn.sigv4.key_disabled (default true)' })),
    session_tokens: T.Optional(
      T.Array(T.String({ minLength: 1 }), {
        description:
          'Makes this a temporary credential: every request must carry one of these X-Amz-Security-Token values, signed ' +
          '(secret references, like the secret). A key without session_tokens refuses requests that carry a token',
      }),
    ),
  },
  { additionalProperties: false },
);

export const sigv4Schema = T.Object(
  {
    region: T.String({ pattern: '^[a-z0-9-]+$', description: 'Region the credential scope must name, e.g. us-east-1' }),
    service: T.String({ pattern: '^[a-z0-9-]+$', description: 'Service the credential scope must name, e.g. execute-api' }),
    access_keys: T.Array(AccessKey, { minItems: 1, description: 'Accepted access keys (ids unique)' }),
    max_skew: T.Optional(Duration),
    presigned: T.Optional(
      T.Object(
        {
          enabled: T.Optional(T.Boolean({ description: 'Accept presigned URLs (query-string signatures); default true' })),
          max_expires: T.Optional(Duration),
        },
        {
          additionalProperties: false,
          description: 'Presigned URLs. max_expires: the longest X-Amz-Expires accepted (default 1h, at most 7 days); longer → authn.sigv4.presign_too_long',
        },
      ),
    ),
    unsigned_payload: T.Optional(
      T.Boolean({
        description:
          'Accept x-amz-content-sha256: UNSIGNED-PAYLOAD (the body is then not covered by the signature and is streamed, not buffered). ' +
          'Default false: 403 authn.sigv4.unsigned_payload_not_allowed',
      }),
    ),
    replay_protection: T.Optional(
      T.Boolean({
        description:
          'Refuse a signature seen before while it is still valid (authn.sigv4.replayed). Makes presigned URLs single-use. ' +
          'The cache is per process until a shared store backs it. Default false',
      }),
    ),
    forward_credentials: T.Optional(
      T.Boolean({
        description:
          'Forward Authorization, X-Amz-Security-Token and the presigned X-Amz-* query parameters upstream. Default false: they are removed ' +
          '(a forwarded signature is a replayable credential)',
      }),
    ),
    s3_style_paths: T.Optional(
      T.Boolean({
        description:
          'Canonicalise paths the S3 way: no dot-segment or slash normalisation, single encoding; presigned URLs are UNSIGNED-PAYLOAD. ' +
          'Default false (every other AWS service)',
      }),
    ),
    signed_headers: T.Optional(
      T.Array(HeaderName, {
        description:
          'Headers that must be signed whenever present, in addition to host and x-amz-date (and x-amz-security-token): ' +
          'list every header a route match or policy reads, or a client could change it without breaking the signature',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'AWS Signature Version 4 verification (header and presigned forms). Failures answer 403 with an x-amzn-ErrorType header. ' +
      'max_skew: allowed clock difference for header signatures (default 5m, at most 1h). Bodies of signed-payload requests are ' +
      'buffered (up to the route max_body_bytes) and checked before anything is sent upstream',
  },
);
export type Sigv4Config = Static<typeof sigv4Schema>;
