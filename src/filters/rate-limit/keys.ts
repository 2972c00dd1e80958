// Counter keys: a limit's name plus the values of its key parts, read from the request once per
// check. Values an attacker controls (headers) or that may be long (claims) are hashed past 64
// characters, and the separator cannot occur in a value unhashed, so no two partitions collide.
import { createHash } from 'node:crypto';
import type { RequestContext } from '../../pipeline/context.js';
import type { Identity } from '../common/identity.js';
import type { KeyPartConfig } from './config.js';

export type PartGetter = (ctx: RequestContext, id: Identity | undefined, plan: string | undefined) => string | undefined;

const SEP = '\x1f';
const MAX_PLAIN = 64;

export function compilePart(p: KeyPartConfig): PartGetter {
  if (typeof p === 'string') {
    switch (p) {
      case 'route':
        return (ctx) => ctx.route?.name;
      case 'subject':
        return (_c, id) => id?.subject;
      case 'api_key':
        return (_c, id) => apiKeyOf(id);
      case 'usage_plan':
        return (_c, _i, plan) => plan;
      case 'client_ip':
        return (ctx) => ctx.clientIp;
    }
  }
  if ('header' in p) {
    const name = p.header.toLowerCase();
    return (ctx) => ctx.header(name);
  }
  const path = p.claim.split('.');
  return (_c, id) => claimValue(id?.claims, path);
}

/** The key id a caller authenticated with: API key id or SigV4 access key id (never a JWT kid). */
export function apiKeyOf(id: Identity | undefined): string | undefined {
  return id !== undefined && (id.kind === 'api_key' || id.kind === 'sigv4') ? id.keyId : undefined;
}

function claimValue(claims: Readonly<Record<string, unknown>> | undefined, path: readonly string[]): string | undefined {
  let v: unknown = claims;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** One key part's value as it goes into a counter key ('!' = missing, '=' value, '#' hash). */
export function encodePart(v: string | undefined): string {
  if (v === undefined) return `${SEP}!`;
  if (v.length <= MAX_PLAIN && !v.includes(SEP)) return `${SEP}=${v}`;
  return `${SEP}#${createHash('sha256').update(v).digest('base64url')}`;
}

/** Builds the counter key, or undefined when a part is missing and the limit skips such requests. */
export function buildKey(prefix: string, parts: readonly PartGetter[], skipMissing: boolean, ctx: RequestContext, id: Identity | undefined, plan: string | undefined): string | undefined {
  let k = prefix;
  for (let i = 0; i < parts.length; i++) {
    const v = parts[i]!(ctx, id, plan);
    if (v === undefined && skipMissing) return undefined;
    k += encodePart(v);
  }
  return k;
}

const OFFSET_RE = /^([0-9]+)(ms|s|m|h|d)$/;
const OFFSET_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A quota window offset: integer ms or 6h / 1d. */
export function parseOffset(v: number | string | undefined): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  const m = OFFSET_RE.exec(v);
  if (!m) throw new RangeError(`invalid offset "${v}"`);
  return Number(m[1]) * OFFSET_MS[m[2]!]!;
}
