// The checks a token must pass before any key is looked up or any signature computed. Pure: the
// same string always gives the same answer. jose alone accepts padding, duplicate member names
// (last wins) and non-canonical base64url; a gateway must not (SECURITY.md, JWT / OIDC).
import { checkMembers } from './json-members.js';

export type PrecheckCode = 'authn.jwt.malformed' | 'authn.jwt.duplicate_member' | 'authn.jwt.alg_not_allowed' | 'authn.jwt.crit_unsupported';

export interface ParsedToken {
  /** The decoded protected header; member names are unique. */
  readonly header: Readonly<Record<string, unknown>>;
  /** The decoded payload (claims set); member names are unique. */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly alg: string;
  /** `kid`, a plain map key: never a path, URL or query. */
  readonly kid: string | undefined;
  readonly typ: string | undefined;
}

/** Why a token was refused before any crypto. A class, so no decoded JSON can pass for one. */
export class PrecheckFailure {
  constructor(
    readonly code: PrecheckCode,
    /** For the debug log only; never contains the token. */
    readonly detail: string,
  ) {}
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });
const MAX_KID_LENGTH = 256;

const fail = (code: PrecheckCode, detail: string): PrecheckFailure => new PrecheckFailure(code, detail);

/** True for a non-empty run of base64url characters with no padding, of a length base64 can produce. */
function isBase64url(s: string): boolean {
  const n = s.length;
  if (n === 0 || n % 4 === 1) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
    if (!ok) return false;
  }
  return true;
}

/** Decodes a canonical base64url segment (unused trailing bits must be zero), else undefined. */
function decodeSegment(s: string): Buffer | undefined {
  if (!isBase64url(s)) return undefined;
  const buf = Buffer.from(s, 'base64url');
  return buf.toString('base64url') === s ? buf : undefined;
}

/** Decodes a segment holding a JSON object with unique member names. */
function decodeJsonObject(seg: string, what: string): Record<string, unknown> | PrecheckFailure {
  const bytes = decodeSegment(seg);
  if (bytes === undefined) return fail('authn.jwt.malformed', `${what} is not canonical unpadded base64url`);
  let text: string;
  try {
    text = fatalUtf8.decode(bytes);
  } catch {
    return fail('authn.jwt.malformed', `${what} is not UTF-8`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('authn.jwt.malformed', `${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('authn.jwt.malformed', `${what} is not a JSON object`);
  const members = checkMembers(text);
  if (members === 'duplicate') return fail('authn.jwt.duplicate_member', `${what} repeats a member name`);
  if (members !== 'ok') return fail('authn.jwt.malformed', `${what} is nested too deeply`);
  return value as Record<string, unknown>;
}

/**
 * Structure, encoding, JSON and header checks on a compact JWS. The size limit is checked by the
 * caller (it has its own status, 431). Which algorithms an issuer allows is checked later, once
 * the issuer is known; `none` in any spelling is refused here, for every issuer.
 */
export function precheck(token: string): ParsedToken | PrecheckFailure {
  const d1 = token.indexOf('.');
  const d2 = d1 === -1 ? -1 : token.indexOf('.', d1 + 1);
  if (d2 === -1 || token.indexOf('.', d2 + 1) !== -1) return fail('authn.jwt.malformed', 'not three dot-separated segments');
  const header = decodeJsonObject(token.slice(0, d1), 'header');
  if (header instanceof PrecheckFailure) return header;
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === '') return fail('authn.jwt.malformed', 'header has no alg');
  if (alg.toLowerCase() === 'none') return fail('authn.jwt.alg_not_allowed', 'alg none');
  if (header.crit !== undefined) return fail('authn.jwt.crit_unsupported', 'header has crit');
  if ('enc' in header) return fail('authn.jwt.malformed', 'encrypted tokens are not accepted');
  const kid = header.kid;
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH)) return fail('authn.jwt.malformed', 'kid is not a short string');
  const typ = header.typ;
  if (typ !== undefined && typeof typ !== 'string') return fail('authn.jwt.malformed', 'typ is not a string');
  const payload = decodeJsonObject(token.slice(d1 + 1, d2), 'payload');
  if (payload instanceof PrecheckFailure) return payload;
  if (decodeSegment(token.slice(d2 + 1)) === undefined) return fail('authn.jwt.malformed', 'signature is not canonical unpadded base64url');
  // jku, x5u, x5c and jwk are deliberately never read: keys come only from the issuer's
  // configured key set.
  return { header, payload, alg, kid, typ };
}

export function isPrecheckFailure(v: ParsedToken | PrecheckFailure): v is PrecheckFailure {
  return v instanceof PrecheckFailure;
}

/** `typ` compared as RFC 8725 §3.11 / RFC 7515 §4.1.9 say: case-insensitive, "application/" optional. */
export function normalizeTyp(typ: string): string {
  const t = typ.toLowerCase();
  return t.startsWith('application/') ? t.slice(12) : t;
}
