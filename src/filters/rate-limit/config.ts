// Config of the `rate_limit` (throttling) and `quota` filters and of the top-level `usage_plans`.
// The descriptions are the user documentation (they become the JSON Schema).
import { Type as T, type Static, type TSchema } from '@sinclair/typebox';

const NAME = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

const KeyPart = T.Union(
  [
    T.Literal('route', { description: 'The route name: each route counts apart' }),
    T.Literal('subject', { description: 'The authenticated caller (identity subject)' }),
    T.Literal('api_key', { description: 'The API key id (api_key) or access key id (sigv4) the caller used' }),
    T.Literal('usage_plan', { description: "The caller's usage plan" }),
    T.Literal('client_ip', { description: 'The client address (X-Forwarded-For is believed only from trusted_proxies)' }),
    T.Object({ header: T.String({ pattern: HEADER_NAME, description: 'A request header value (long values are hashed)' }) }, { additionalProperties: false }),
    T.Object({ claim: T.String({ minLength: 1, description: 'A verified JWT claim (dotted path for nested claims, e.g. org.id)' }) }, { additionalProperties: false }),
  ],
  { description: 'One part of what a limit counts by' },
);

const common = {
  name: T.String({
    pattern: NAME,
    description:
      'Names the limit in RateLimit headers, logs and counter keys. Limits with the same name on several routes share ' +
      'their counters (a gateway-wide limit) unless `key` includes route; they must then have the same settings',
  }),
  key: T.Optional(
    T.Array(KeyPart, {
      maxItems: 6,
      description:
        'What to count by, any combination (e.g. [route, api_key]). Default []: one counter for the limit name. ' +
        'A part the request lacks (no identity, header absent) counts as one shared "missing" value, unless when_missing is skip',
    }),
  ),
  when_missing: T.Optional(
    T.Union([T.Literal('shared'), T.Literal('skip')], {
      description: 'A key part absent from the request: shared (default) = all such requests share one counter; skip = the limit does not apply to them',
    }),
  ),
  mode: T.Optional(
    T.Union([T.Literal('enforce'), T.Literal('shadow')], {
      description: 'shadow: count and log (access log decisions, enforced: false) what would be refused, refuse nothing. Default enforce',
    }),
  ),
  on_store_error: T.Optional(
    T.Union([T.Literal('fail_open'), T.Literal('fail_closed')], {
      description:
        'When the redis store is unreachable: fail_open = decide on a local in-memory bucket holding fallback_share of the ' +
        'limit (per gateway instance); fail_closed = 503 ratelimit.store_unavailable. Default fail_open for rate_limit, fail_closed for quota',
    }),
  ),
  fallback_share: T.Optional(
    T.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      description: 'fail_open: the share of rate, burst or limit each instance enforces locally while Redis is down (default 1; with N instances 1/N keeps the total)',
    }),
  ),
};

export const throttleLimitSchema = T.Object(
  {
    ...common,
    rate: T.Number({ exclusiveMinimum: 0, maximum: 1_000_000, description: 'Steady rate: tokens (requests) added per second; may be fractional (0.5 = one every 2 s)' }),
    burst: T.Integer({ minimum: 1, maximum: 100_000_000, description: 'Bucket size: the most requests admitted at once after a quiet period' }),
  },
  { additionalProperties: false, description: 'A token bucket (as AWS API Gateway and Envoy): one token per request' },
);

const Period = T.Union([T.Literal('day'), T.Literal('week'), T.Literal('month')], {
  description: 'Calendar window: day, week (Monday 00:00 first, ISO 8601) or month, in time_zone',
});
const TimeZone = T.String({ minLength: 1, description: 'IANA time zone of the window boundaries, e.g. Europe/Berlin (default UTC)' });
// Not the shared Duration: offsets reach a month (beyond Node's timer bound) and want days.
// Kept free of config/schema.ts imports, which imports this module (usage_plans).
const Offset = T.Union(
  [
    T.Integer({ minimum: 0, maximum: 31 * 86_400_000, description: 'milliseconds' }),
    T.String({ pattern: '^[0-9]+(ms|s|m|h|d)$', description: 'e.g. 6h, 1d' }),
  ],
  { description: 'Shift of the window boundary after the calendar one: integer ms or 30m, 6h, 1d (at most 31 days)' },
);

export const quotaLimitSchema = T.Object(
  {
    ...common,
    limit: T.Integer({ minimum: 1, maximum: 1_000_000_000_000, description: 'Requests allowed per window' }),
    period: Period,
    time_zone: T.Optional(TimeZone),
    offset: T.Optional(Offset),
  },
  {
    additionalProperties: false,
    description: 'A quota: at most `limit` requests per calendar window. offset shifts the boundary (day + 6h: 06:00 to 06:00; week + 6d: weeks start on Sunday)',
  },
);

const planSelection = {
  usage_plans: T.Optional(T.Boolean({ description: "Apply the caller's usage plan (from its API key or the plan's subjects) on this route. Default true" })),
  default_usage_plan: T.Optional(T.String({ pattern: NAME, description: 'Usage plan for callers that have none (default: none, only the limits above apply)' })),
  headers: T.Optional(
    T.Boolean({ description: 'Send RateLimit-Policy and RateLimit response fields (IETF draft-11) for these limits (default true; shadow limits never)' }),
  ),
};

export const rateLimitSchema = T.Object(
  {
    limits: T.Optional(T.Array(throttleLimitSchema, { description: 'Token buckets; a request must fit in all of them (a refused request is charged to none)' })),
    ...planSelection,
  },
  {
    additionalProperties: false,
    description:
      'Throttling: 429 ratelimit.exceeded with Retry-After when a bucket is empty. Counters live in rate_limit_store. ' +
      'With quota on the same route, all limits of both are decided together, all-or-nothing',
  },
);
export type RateLimitConfig = Static<typeof rateLimitSchema>;

export const quotaSchema = T.Object(
  {
    limits: T.Optional(T.Array(quotaLimitSchema, { description: 'Quotas; a request must fit in all of them (a refused request is charged to none)' })),
    ...planSelection,
    usage_path: T.Optional(
      T.String({
        pattern: '^/',
        description:
          "GET on this path (which the route must match) answers the caller's own usage on this route as JSON, without " +
          'charging or forwarding: only limits counted by the caller (subject, api_key, claim, usage plan). Needs an identity (401 otherwise)',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Quotas: 429 quota.exhausted with Retry-After (until the window ends) once a window is used up. Quotas are billing: on_store_error defaults to fail_closed',
  },
);
export type QuotaConfig = Static<typeof quotaSchema>;
export type ThrottleLimitConfig = Static<typeof throttleLimitSchema>;
export type QuotaLimitConfig = Static<typeof quotaLimitSchema>;
export type KeyPartConfig = Static<typeof KeyPart>;

const failure = {
  on_store_error: common.on_store_error,
  fallback_share: common.fallback_share,
};

export const usagePlansSchema = (): TSchema =>
  T.Array(
    T.Object(
      {
        name: T.String({ pattern: NAME, description: 'Referenced by API key and SigV4 key records (usage_plan) and by default_usage_plan' }),
        description: T.Optional(T.String({ description: 'Informational' })),
        throttle: T.Optional(
          T.Object(
            {
              rate: throttleLimitSchema.properties.rate,
              burst: throttleLimitSchema.properties.burst,
              ...failure,
            },
            { additionalProperties: false, description: 'Per caller, across every route with rate_limit (AWS: per-client limit)' },
          ),
        ),
        route_throttles: T.Optional(
          T.Record(
            T.String({ pattern: NAME }),
            T.Object(
              { rate: throttleLimitSchema.properties.rate, burst: throttleLimitSchema.properties.burst, ...failure },
              { additionalProperties: false },
            ),
            { description: 'Route name → per caller and route bucket (AWS: per-client per-method limit), in addition to throttle' },
          ),
        ),
        quota: T.Optional(
          T.Object(
            {
              limit: quotaLimitSchema.properties.limit,
              period: Period,
              time_zone: T.Optional(TimeZone),
              offset: T.Optional(Offset),
              ...failure,
            },
            { additionalProperties: false, description: 'Per caller, across every route with quota' },
          ),
        ),
        subjects: T.Optional(
          T.Array(T.String({ minLength: 1 }), { description: 'Identities (subjects) attached to this plan, for callers without an API key record (JWT, mTLS)' }),
        ),
      },
      { additionalProperties: false, description: 'A usage plan: a named throttle + quota bundle that callers are attached to' },
    ),
    {
      description:
        "Usage plans (as AWS API Gateway's). A caller's plan is its key record's usage_plan, else the plan listing its subject, " +
        "else the route's default_usage_plan. Plan counters are per caller: the API key id, or the subject when there is no key",
    },
  );

export interface UsagePlanConfig {
  name: string;
  description?: string;
  throttle?: { rate: number; burst: number; on_store_error?: 'fail_open' | 'fail_closed'; fallback_share?: number };
  route_throttles?: Record<string, { rate: number; burst: number; on_store_error?: 'fail_open' | 'fail_closed'; fallback_share?: number }>;
  quota?: { limit: number; period: 'day' | 'week' | 'month'; time_zone?: string; offset?: number | string; on_store_error?: 'fail_open' | 'fail_closed'; fallback_share?: number };
  subjects?: string[];
}
