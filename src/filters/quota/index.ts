// Quotas: N requests per calendar day, week or month (UTC or a time zone, with an offset) per key
// or identity; usage-plan quotas; 429 quota.exhausted with Retry-After until the window ends; an
// optional usage endpoint answering the caller's own usage. Shares its engine with rate_limit, so
// both filters' limits on one route are decided together, all-or-nothing.
import { defineFilter } from '../../pipeline/filter.js';
import { quotaSchema, type QuotaConfig } from '../rate-limit/config.js';
import { createTrafficFilter } from '../rate-limit/engine.js';

export default defineFilter<QuotaConfig>({
  name: 'quota',
  order: 410,
  schema: quotaSchema,
  reasons: ['quota.exhausted', 'ratelimit.store_unavailable', 'ratelimit.usage', 'authn.missing_credentials'],
  create(cfg, deps, scope) {
    return createTrafficFilter('quota', cfg, deps, scope);
  },
});
