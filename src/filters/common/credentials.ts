// Credential extraction shared by the authenticators. A credential that appears twice (two
// Authorization fields, header plus query token) is ambiguous and refused, never "first wins"
// (SECURITY.md auth pitfalls).
import type { RequestContext } from '../../pipeline/context.js';
import type { Reply } from '../../pipeline/filter.js';

export type Extracted = { value: string } | { ambiguous: true } | undefined;

export const AMBIGUOUS: Reply = {
  status: 400,
  code: 'authn.ambiguous_credentials',
  message: 'the request carries more than one credential of the same kind',
};

/** The single value of a header (lower-case name), from the raw list so duplicates are visible. */
export function singleHeader(ctx: RequestContext, lowerName: string): Extracted {
  const raw = ctx.req.rawHeaders;
  let found: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length !== lowerName.length || n.toLowerCase() !== lowerName) continue;
    if (found !== undefined) return { ambiguous: true };
    found = raw[i + 1]!;
  }
  return found === undefined ? undefined : { value: found };
}

/** A query parameter that must appear at most once; percent-decoded. */
export function singleQueryParam(ctx: RequestContext, name: string): Extracted {
  const q = ctx.query;
  // Fast path only when no name could be hiding percent-encoded (`access%5Ftoken`).
  if (q === '' || (!q.includes(name) && !q.includes('%'))) return undefined;
  let found: string | undefined;
  for (const part of q.split('&')) {
    const eq = part.indexOf('=');
    const k = eq === -1 ? part : part.slice(0, eq);
    let key: string;
    try {
      key = decodeURIComponent(k.replace(/\+/g, ' '));
    } catch {
      continue;
    }
    if (key !== name) continue;
    if (found !== undefined) return { ambiguous: true };
    try {
      found = decodeURIComponent((eq === -1 ? '' : part.slice(eq + 1)).replace(/\+/g, ' '));
    } catch {
      return { ambiguous: true };
    }
  }
  return found === undefined ? undefined : { value: found };
}

/** A cookie by name from the Cookie header(s); a name given twice is ambiguous. */
export function singleCookie(ctx: RequestContext, name: string): Extracted {
  const header = ctx.header('cookie');
  if (header === undefined) return undefined;
  let found: string | undefined;
  for (const part of header.split(/;\s*|,\s*/)) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    if (found !== undefined) return { ambiguous: true };
    found = part.slice(eq + 1).trim();
  }
  return found === undefined ? undefined : { value: found };
}

/** A value safe to put in an upstream header: no CR, LF, NUL or other controls (Envoy CVE-2023-27493). */
export function headerSafe(v: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(v) ? encodeURIComponent(v) : v;
}

/** The query string without every `name` parameter (names compared after percent-decoding); the
 * rest byte for byte. */
export function withoutQueryParam(query: string, name: string): string {
  if (query === '') return query;
  return query
    .split('&')
    .filter((part) => {
      const eq = part.indexOf('=');
      const k = eq === -1 ? part : part.slice(0, eq);
      try {
        return decodeURIComponent(k.replace(/\+/g, ' ')) !== name;
      } catch {
        return true;
      }
    })
    .join('&');
}

/** Forward the query without a credential parameter. Another filter may already have rewritten
 * the upstream query (sigv4 presigned URLs), so this builds on that. */
export function stripQueryParam(ctx: RequestContext, name: string): void {
  ctx.upstreamQuery = withoutQueryParam(ctx.upstreamQuery ?? ctx.query, name);
}
