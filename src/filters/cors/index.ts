// CORS, answered at the edge: preflights get their 204 here, before any authentication filter
// runs (browsers never send credentials on a preflight), and actual responses get the
// Access-Control-* fields. Upstream copies of those fields are dropped so one config rules.
import { defineFilter, type Reply } from '../../pipeline/filter.js';
import { corsSchema, type CorsConfig } from './config.js';
import { compileOrigins } from './origins.js';

const SAFELISTED_HEADERS = new Set(['accept', 'accept-language', 'content-language', 'content-type', 'range']);
const SIMPLE_METHODS = new Set(['GET', 'HEAD', 'POST']);

export default defineFilter<CorsConfig>({
  name: 'cors',
  order: 100,
  schema: corsSchema,
  reasons: ['cors.preflight', 'cors.origin_not_allowed', 'cors.method_not_allowed', 'cors.header_not_allowed'],
  create(cfg) {
    const credentials = cfg.allow_credentials === true;
    const origins = compileOrigins(cfg.allow_origins);
    if (credentials && origins.any) {
      throw new Error('cors: allow_origins "*" cannot be combined with allow_credentials (browsers refuse it); list the origins');
    }
    const methods = new Set((cfg.allow_methods ?? ['GET', 'HEAD', 'POST']).map((m) => m.toUpperCase()));
    const anyHeader = (cfg.allow_headers ?? []).includes('*');
    if (credentials && anyHeader) throw new Error('cors: allow_headers "*" cannot be combined with allow_credentials');
    const headers = new Set((cfg.allow_headers ?? []).map((h) => h.toLowerCase()));
    const allowMethods = [...methods].join(', ');
    const allowHeaders = anyHeader ? '*' : [...headers].join(', ');
    const expose = (cfg.expose_headers ?? []).join(', ');
    const maxAge = String(cfg.max_age ?? 600);

    const deny = (code: Reply['code'], message: string): Reply => ({ status: 403, code, message, headers: { vary: 'Origin' } });

    return {
      handlesPreflight: true,
      onRequest: function corsOnRequest(ctx) {
        const origin = ctx.header('origin');
        if (origin === undefined) return;
        const allowed = origins.test(origin);
        const acrm = ctx.method === 'OPTIONS' ? ctx.header('access-control-request-method') : undefined;
        if (acrm !== undefined) {
          if (!allowed) return deny('cors.origin_not_allowed', 'the origin is not allowed');
          if (!SIMPLE_METHODS.has(acrm) && !methods.has(acrm)) return deny('cors.method_not_allowed', `method ${acrm} is not allowed`);
          const requested = ctx.header('access-control-request-headers');
          if (requested && !anyHeader) {
            for (const raw of requested.split(',')) {
              const h = raw.trim().toLowerCase();
              if (h && !headers.has(h) && !SAFELISTED_HEADERS.has(h)) return deny('cors.header_not_allowed', `header ${h} is not allowed`);
            }
          }
          const out: Record<string, string> = {
            'access-control-allow-origin': origins.any ? '*' : origin,
            'access-control-allow-methods': allowMethods,
            'access-control-max-age': maxAge,
            vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
          };
          if (allowHeaders) out['access-control-allow-headers'] = allowHeaders;
          if (credentials) out['access-control-allow-credentials'] = 'true';
          return { status: 204, code: 'cors.preflight', empty: true, headers: out };
        }
        if (!allowed) return;
        ctx.addResponseHeader('access-control-allow-origin', origins.any ? '*' : origin);
        if (!origins.any) ctx.addResponseHeader('vary', 'Origin');
        if (credentials) ctx.addResponseHeader('access-control-allow-credentials', 'true');
        if (expose) ctx.addResponseHeader('access-control-expose-headers', expose);
      },
      onResponse: function corsOnResponse(_ctx, res) {
        const h = res.headers;
        for (let i = h.length - 2; i >= 0; i -= 2) if (h[i]!.toLowerCase().startsWith('access-control-')) h.splice(i, 2);
      },
    };
  },
});
