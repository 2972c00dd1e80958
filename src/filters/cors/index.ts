// PLACEHOLDER until the CORS filter lands.
import { defineFilter } from '../../pipeline/filter.js';
import { corsSchema, type CorsConfig } from './config.js';

export default defineFilter<CorsConfig>({
  name: 'cors',
  order: 100,
  schema: corsSchema,
  reasons: ['cors.origin_not_allowed'],
  create() {
    return {};
  },
});
