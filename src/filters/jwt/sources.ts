// Where a token is read from, and how it is kept from the upstream afterwards. Extraction sees
// duplicates (two Authorization fields, a cookie given twice, a repeated query parameter) and the
// caller refuses a token found in two places: never "first wins".
import type { RequestContext } from '../../pipeline/context.js';
import { singleCookie, singleHeader, singleQueryParam, stripQueryParam, type Extracted } from '../common/credentials.js';
import type { JwtConfig } from './config.js';

export interface TokenSource {
  /** undefined: no token of ours here (e.g. `Authorization: Basic ...`); '' when the scheme is there but the token is not. */
  extract(ctx: RequestContext): Extracted;
  /** Keep the token from the upstream request (forward_token: false). */
  strip(ctx: RequestContext): void;
}

function headerSource(name: string, prefix: string | undefined): TokenSource {
  const lower = name.toLowerCase();
  const pre = (prefix ?? (lower === 'authorization' ? 'Bearer ' : '')).toLowerCase();
  const scheme = pre.trim();
  return {
    extract(ctx) {
      const e = singleHeader(ctx, lower);
      if (e === undefined || 'ambiguous' in e) return e;
      const v = e.value.trim();
      if (pre === '') return { value: v };
      if (v.length >= pre.length && v.slice(0, pre.length).toLowerCase() === pre) return { value: v.slice(pre.length).replace(/^ +/, '') };
      if (scheme !== '' && v.toLowerCase() === scheme) return { value: '' }; // "Bearer" with no token
      return undefined; // another scheme: not ours
    },
    strip(ctx) {
      ctx.removeUpstreamHeader(lower);
    },
  };
}

function cookieSource(name: string): TokenSource {
  return {
    extract: (ctx) => singleCookie(ctx, name),
    strip(ctx) {
      // Only our cookie goes; the others still reach the upstream.
      const all = ctx.header('cookie');
      if (all === undefined) return;
      const rest = all.split(/;\s*/).filter((part) => {
        const eq = part.indexOf('=');
        return part.trim() !== '' && (eq === -1 || part.slice(0, eq).trim() !== name);
      });
      ctx.removeUpstreamHeader('cookie');
      if (rest.length) ctx.addUpstreamHeader('cookie', rest.join('; '));
    },
  };
}

function querySource(name: string): TokenSource {
  return {
    extract: (ctx) => singleQueryParam(ctx, name),
    strip(ctx) {
      stripQueryParam(ctx, name);
    },
  };
}

export function compileSources(from: JwtConfig['from']): TokenSource[] {
  if (from === undefined) return [headerSource('authorization', undefined)];
  return from.map((s) => ('header' in s ? headerSource(s.header, s.prefix) : 'cookie' in s ? cookieSource(s.cookie) : querySource(s.query)));
}
