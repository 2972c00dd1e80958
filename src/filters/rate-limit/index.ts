// Throttling: token buckets (rate + burst) keyed by any mix of route, caller, key, plan, client
// address, header or claim; usage-plan throttles; 429 ratelimit.exceeded with Retry-After and the
// IETF RateLimit fields. The decision itself is in engine.ts, shared with the quota filter.
import { defineFilter } from '../../pipeline/filter.js';
import { rateLimitSchema, type RateLimitConfig } from './config.js';
import { createTrafficFilter } from './engine.js';

export default defineFilter<RateLimitConfig>({
  name: 'rate_limit',
  order: 400,
  schema: rateLimitSchema,
  reasons: ['ratelimit.exceeded', 'ratelimit.store_unavailable'],
  create(cfg, deps, scope) {
    return createTrafficFilter('rate_limit', cfg, deps, scope);
  },
});
