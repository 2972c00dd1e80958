// SigV4 verification as pure functions of (request, policy, now): find the credential, check its
// form, scope, time and key, rebuild the canonical request and compare signatures in constant
// time. No I/O and no clock of its own; the filter (index.ts) supplies the body when one is needed.
//
// Stages, so the filter can refuse cheaply and read a body only for a request worth reading:
//   detect()   which form the request carries (none, Authorization header, presigned query)
//   prepare()  everything that needs no body: syntax, scope, time, key, signed-header rules,
//              canonical request up to the payload hash
//   signatureMatches(pending, payloadHash) / finish(pending, body)
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalHeaders, canonicalQuery, canonicalRequest, canonicalUri, parseQuery, stringToSign, type QueryParam } from './canonical.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** AWS's ceiling for X-Amz-Expires: 7 days. */
export const MAX_PRESIGN_SECONDS = 604_800;

/** Query parameters of the presigned form; with forward_credentials off none reaches the upstream. */
export const PRESIGN_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Security-Token'] as const;

export type Sigv4Code =
  | 'authn.ambiguous_credentials'
  | 'authn.sigv4.malformed'
  | 'authn.sigv4.signature_mismatch'
  | 'authn.sigv4.request_expired'
  | 'authn.sigv4.unknown_access_key'
  | 'authn.sigv4.key_disabled'
  | 'authn.sigv4.scope_mismatch'
  | 'authn.sigv4.unsigned_header'
  | 'authn.sigv4.unsigned_payload_not_allowed'
  | 'authn.sigv4.payload_hash_mismatch'
  | 'authn.sigv4.invalid_session_token'
  | 'authn.sigv4.presign_disabled'
  | 'authn.sigv4.presign_too_long';

export interface Failure {
  readonly ok: false;
  readonly code: Sigv4Code;
  /** Generic text for the problem body: never key material, never the expected signature. */
  readonly message: string;
}

const fail = (code: Sigv4Code, message: string): Failure => ({ ok: false, code, message });

/** The request as the client sent it. Strings are byte strings (latin1), as Node provides them. */
export interface SigV4Request {
  readonly method: string;
  /** Path as sent, before any normalization, without the query. */
  readonly rawPath: string;
  /** Query as sent, without '?'. */
  readonly rawQuery: string;
  /** Flat [name, value, ...] list as received (req.rawHeaders). */
  readonly rawHeaders: readonly string[];
}

/** A secret access key and its derived signing keys. */
export interface SigningSecret {
  readonly secret: string;
  /** Derived signing keys by scope date (a memo: 4 HMACs saved per request). */
  readonly signingKeys: Map<string, Buffer>;
}

/** A previous value of a rotated secret or session token, accepted while `until` is ahead of now (secrets.overlap). */
export interface PreviousSigningSecret extends SigningSecret {
  readonly until: number;
}
export interface PreviousToken {
  readonly digest: Buffer;
  readonly until: number;
}

export interface KeyRecord extends SigningSecret {
  readonly id: string;
  readonly enabled: boolean;
  /** SHA-256 of each accepted session token; empty for a long-term key, which takes none. */
  readonly sessionTokens: readonly Buffer[];
  /** Previous secrets, tried only when the current one does not match. */
  readonly previousSecrets?: readonly PreviousSigningSecret[];
  /** Previous session tokens (SHA-256), tried only when no current one matches. */
  readonly previousTokens?: readonly PreviousToken[];
}

/** Which value of the key's secret (or session token) verified: the current one or a previous one. */
export type SecretUsed = 'current' | 'previous';

export interface VerifierPolicy {
  readonly region: string;
  readonly service: string;
  readonly maxSkewMs: number;
  readonly presigned: boolean;
  readonly maxExpiresS: number;
  readonly unsignedPayload: boolean;
  /** S3 rules: no path normalisation, single encoding; presigned URLs are UNSIGNED-PAYLOAD. */
  readonly s3: boolean;
  /** Lower-case header names that must be signed whenever the request carries them. */
  readonly requireSigned: readonly string[];
  readonly keys: ReadonlyMap<string, KeyRecord>;
}

export type Detected =
  | { readonly ok: true; readonly form: 'none' }
  | { readonly ok: true; readonly form: 'header'; readonly authorization: string }
  | { readonly ok: true; readonly form: 'presigned'; readonly params: readonly QueryParam[] };

export type PayloadMode = { readonly kind: 'claimed'; readonly hash: string } | { readonly kind: 'unsigned' } | { readonly kind: 'compute' };

/** A request whose credential passed every check that needs no body. */
export interface Pending {
  readonly ok: true;
  readonly form: 'header' | 'presigned';
  readonly key: KeyRecord;
  readonly amzDate: string;
  /** Until when this signature is acceptable (ms since the epoch): the replay cache's horizon. */
  readonly acceptableUntil: number;
  readonly scope: string;
  readonly scopeDate: string;
  readonly presented: Buffer;
  readonly signature: string;
  /** The canonical request without its last line, the payload hash. */
  readonly creqPrefix: string;
  readonly payload: PayloadMode;
  readonly sessionToken: boolean;
  /** The session token matched only a previous value (secrets.overlap). */
  readonly previousToken: boolean;
}

const NONE: Detected = { ok: true, form: 'none' };
const AMBIGUOUS = fail('authn.ambiguous_credentials', 'the request carries more than one credential');

/** Which SigV4 credential form the request carries, if any. Two credentials are ambiguous. */
export function detect(req: SigV4Request): Detected | Failure {
  let authorization: string | undefined;
  let count = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === 13 && n.toLowerCase() === 'authorization') {
      count++;
      authorization = raw[i + 1]!;
    }
  }
  if (count > 1) return AMBIGUOUS;
  const header = authorization !== undefined && authorization.startsWith('AWS4-');
  if (!req.rawQuery.includes('X-Amz-')) return header ? { ok: true, form: 'header', authorization: authorization! } : NONE;
  const params = parseQuery(req.rawQuery);
  if (params === undefined) return fail('authn.sigv4.malformed', 'the query contains a malformed percent-escape');
  const presigned = params.some((p) => p.name === 'X-Amz-Signature' || p.name === 'X-Amz-Credential' || p.name === 'X-Amz-Algorithm');
  if (presigned && authorization !== undefined) return AMBIGUOUS;
  if (presigned) return { ok: true, form: 'presigned', params };
  return header ? { ok: true, form: 'header', authorization: authorization! } : NONE;
}

interface Credential {
  readonly accessKeyId: string;
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  readonly terminator: string;
}

const SIGNATURE_RE = /^[0-9a-f]{64}$/;
const HEADER_NAME_RE = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const HTTP_DATE_RE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function parseCredential(v: string): Credential | Failure {
  const parts = v.split('/');
  if (parts.length !== 5 || parts.some((p) => p === '')) return fail('authn.sigv4.malformed', 'the credential must be KEY/DATE/REGION/SERVICE/aws4_request');
  const [accessKeyId, scopeDate, region, service, terminator] = parts as [string, string, string, string, string];
  if (!/^\d{8}$/.test(scopeDate)) return fail('authn.sigv4.malformed', 'the credential scope date must be YYYYMMDD');
  return { accessKeyId, scopeDate, region, service, terminator };
}

/** SignedHeaders: lower-case field names, ';'-separated, strictly ascending (sorted, no repeats). */
function parseSignedHeaders(v: string): string[] | Failure {
  const names = v.split(';');
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    if (!HEADER_NAME_RE.test(n)) return fail('authn.sigv4.malformed', 'SignedHeaders must list lower-case header names separated by ";"');
    if (i > 0 && !(names[i - 1]! < n)) return fail('authn.sigv4.malformed', 'SignedHeaders must be sorted and without repeats');
  }
  return names;
}

/** "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…": exactly these three, once each. */
export function parseAuthorization(v: string): { ok: true; credential: string; signedHeaders: string; signature: string } | Failure {
  const sp = v.indexOf(' ');
  if (sp !== ALGORITHM.length || !v.startsWith(ALGORITHM)) return fail('authn.sigv4.malformed', `only ${ALGORITHM} is supported`);
  const parts = v.slice(sp + 1).split(',');
  if (parts.length !== 3) return fail('authn.sigv4.malformed', 'the Authorization header must have Credential, SignedHeaders and Signature');
  let credential: string | undefined;
  let signedHeaders: string | undefined;
  let signature: string | undefined;
  for (const part of parts) {
    let a = 0;
    let b = part.length;
    while (a < b && part.charCodeAt(a) === 0x20) a++;
    while (b > a && part.charCodeAt(b - 1) === 0x20) b--;
    const eq = part.indexOf('=', a);
    const k = eq === -1 || eq > b ? '' : part.slice(a, eq);
    const value = eq === -1 || eq > b ? '' : part.slice(eq + 1, b);
    if (k === 'Credential' && credential === undefined) credential = value;
    else if (k === 'SignedHeaders' && signedHeaders === undefined) signedHeaders = value;
    else if (k === 'Signature' && signature === undefined) signature = value;
    else return fail('authn.sigv4.malformed', 'the Authorization header must have Credential, SignedHeaders and Signature, once each');
  }
  return { ok: true, credential: credential!, signedHeaders: signedHeaders!, signature: signature! };
}

/** X-Amz-Date (YYYYMMDD'T'HHMMSS'Z') → ms, undefined unless it names a real instant. */
export function parseAmzDate(s: string): number | undefined {
  if (s.length !== 16 || s.charCodeAt(8) !== 0x54 /* T */ || s.charCodeAt(15) !== 0x5a /* Z */) return undefined;
  const y = digits(s, 0, 4);
  const mo = digits(s, 4, 2);
  const d = digits(s, 6, 2);
  const h = digits(s, 9, 2);
  const mi = digits(s, 11, 2);
  const se = digits(s, 13, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) return undefined;
  if (d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, se);
}

/** The decimal number in s[from, from+n), or -1 unless all n characters are digits. */
function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

let amzSecond = Number.NaN;
let amzText = '';
/** 20261130T081317Z. Formatted once per second: the signer calls it on every attempt (~2 us each
 * through toISOString and two regex replaces). */
export function formatAmzDate(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== amzSecond) {
    amzSecond = sec;
    amzText = new Date(sec * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  }
  return amzText;
}

/** An IMF-fixdate Date header → ms (AWS accepts `date` when `x-amz-date` is absent). */
function parseHttpDate(s: string): number | undefined {
  const m = HTTP_DATE_RE.exec(s);
  if (!m) return undefined;
  const ms = Date.UTC(+m[3]!, MONTHS.indexOf(m[2]!), +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  return new Date(ms).toUTCString() === s ? ms : undefined;
}

function headerValues(raw: readonly string[], lowerName: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === lowerName.length && n.toLowerCase() === lowerName) out.push(raw[i + 1]!);
  }
  return out;
}

function single(params: readonly QueryParam[], name: string): string | undefined | null {
  let found: string | undefined;
  for (const p of params) {
    if (p.name !== name) continue;
    if (found !== undefined) return null;
    found = p.value;
  }
  return found;
}

/** SHA-256 (hex) of a byte string. */
export const sha256Hex = (data: string): string => createHash('sha256').update(data, 'latin1').digest('hex');

function tokenAccepted(key: KeyRecord, token: string | undefined, nowMs: number): SecretUsed | undefined {
  if (token === undefined) return key.sessionTokens.length === 0 ? 'current' : undefined;
  if (key.sessionTokens.length === 0) return undefined;
  // Compare digests: equal length always, so timingSafeEqual applies and the token's length leaks
  // nothing. The token arrives as octets (latin1 units); configured tokens are hashed as UTF-8.
  const d = createHash('sha256').update(token, 'latin1').digest();
  let ok = false;
  for (const t of key.sessionTokens) ok = timingSafeEqual(d, t) || ok;
  if (ok) return 'current';
  // Previous tokens of a rotated session token, only while their overlap lasts.
  for (const t of key.previousTokens ?? []) ok = (nowMs < t.until && timingSafeEqual(d, t.digest)) || ok;
  return ok ? 'previous' : undefined;
}

/** Everything that needs no body. Returns the pending verification or the first failure. */
export function prepare(req: SigV4Request, d: Detected & { form: 'header' | 'presigned' }, policy: VerifierPolicy, nowMs: number): Pending | Failure {
  const raw = req.rawHeaders;
  let credentialRaw: string;
  let signedRaw: string;
  let signature: string;
  let amzDate: string;
  let timeMs: number;
  let acceptableUntil: number;
  let dateHeader: string | undefined;
  let token: string | undefined;
  let tokenHeader = false;
  let params: readonly QueryParam[] | undefined;

  if (d.form === 'header') {
    const auth = parseAuthorization(d.authorization);
    if (!auth.ok) return auth;
    credentialRaw = auth.credential;
    signedRaw = auth.signedHeaders;
    signature = auth.signature;
    const xAmzDate = headerValues(raw, 'x-amz-date');
    if (xAmzDate.length > 1) return fail('authn.sigv4.malformed', 'x-amz-date is repeated');
    if (xAmzDate.length === 1) {
      dateHeader = 'x-amz-date';
      amzDate = xAmzDate[0]!;
      const t = parseAmzDate(amzDate);
      if (t === undefined) return fail('authn.sigv4.malformed', 'x-amz-date must be YYYYMMDDTHHMMSSZ');
      timeMs = t;
    } else {
      const date = headerValues(raw, 'date');
      if (date.length !== 1) return fail('authn.sigv4.malformed', 'the request needs one x-amz-date (or Date) header');
      const t = parseHttpDate(date[0]!);
      if (t === undefined) return fail('authn.sigv4.malformed', 'the Date header is not an IMF-fixdate');
      dateHeader = 'date';
      timeMs = t;
      amzDate = formatAmzDate(t);
    }
    if (Math.abs(nowMs - timeMs) > policy.maxSkewMs) return fail('authn.sigv4.request_expired', 'the request time is outside the allowed clock skew');
    acceptableUntil = timeMs + policy.maxSkewMs;
    const tokens = headerValues(raw, 'x-amz-security-token');
    if (tokens.length > 1) return fail('authn.ambiguous_credentials', 'x-amz-security-token is repeated');
    token = tokens[0];
    tokenHeader = token !== undefined;
    if (req.rawQuery.includes('+')) return fail('authn.sigv4.malformed', "a raw '+' in the query is ambiguous; send %2B or %20");
    params = parseQuery(req.rawQuery);
    if (params === undefined) return fail('authn.sigv4.malformed', 'the query contains a malformed percent-escape');
  } else {
    if (!policy.presigned) return fail('authn.sigv4.presign_disabled', 'presigned URLs are not accepted on this route');
    params = d.params;
    const get = (n: string) => single(params!, n);
    const alg = get('X-Amz-Algorithm');
    const cred = get('X-Amz-Credential');
    const date = get('X-Amz-Date');
    const exp = get('X-Amz-Expires');
    const sh = get('X-Amz-SignedHeaders');
    const sig = get('X-Amz-Signature');
    const tok = get('X-Amz-Security-Token');
    if (alg === null || cred === null || date === null || exp === null || sh === null || sig === null || tok === null) return AMBIGUOUS;
    if (alg === undefined || cred === undefined || date === undefined || exp === undefined || sh === undefined || sig === undefined) {
      return fail('authn.sigv4.malformed', 'a presigned URL needs X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders and -Signature');
    }
    if (alg !== ALGORITHM) return fail('authn.sigv4.malformed', `only ${ALGORITHM} is supported`);
    if (req.rawQuery.includes('+')) return fail('authn.sigv4.malformed', "a raw '+' in the query is ambiguous; send %2B or %20");
    credentialRaw = cred;
    signedRaw = sh;
    signature = sig;
    amzDate = date;
    const t = parseAmzDate(date);
    if (t === undefined) return fail('authn.sigv4.malformed', 'X-Amz-Date must be YYYYMMDDTHHMMSSZ');
    timeMs = t;
    if (!/^[0-9]{1,6}$/.test(exp) || +exp < 1 || +exp > MAX_PRESIGN_SECONDS) return fail('authn.sigv4.malformed', 'X-Amz-Expires must be 1..604800 seconds');
    if (+exp > policy.maxExpiresS) return fail('authn.sigv4.presign_too_long', `presigned URLs may last at most ${policy.maxExpiresS} seconds here`);
    acceptableUntil = timeMs + +exp * 1000;
    if (timeMs - nowMs > policy.maxSkewMs) return fail('authn.sigv4.request_expired', 'the presigned URL is not valid yet');
    if (nowMs > acceptableUntil) return fail('authn.sigv4.request_expired', 'the presigned URL has expired');
    token = tok;
  }

  if (!SIGNATURE_RE.test(signature)) return fail('authn.sigv4.malformed', 'the signature must be 64 lower-case hex digits');
  const c = parseCredential(credentialRaw);
  if ('ok' in c) return c;
  const signed = parseSignedHeaders(signedRaw);
  if ('ok' in signed) return signed;

  // What the signature must cover: the authority (routing), the time (replay window), the session
  // token, and every header the operator named as influencing routing or policy.
  if (!signed.includes('host')) return fail('authn.sigv4.unsigned_header', 'host must be signed');
  if (dateHeader !== undefined && !signed.includes(dateHeader)) return fail('authn.sigv4.unsigned_header', `${dateHeader} must be signed`);
  if (tokenHeader && !signed.includes('x-amz-security-token')) return fail('authn.sigv4.unsigned_header', 'x-amz-security-token must be signed');
  for (const h of policy.requireSigned) {
    if (!signed.includes(h) && headerValues(raw, h).length > 0) return fail('authn.sigv4.unsigned_header', `${h} must be signed`);
  }

  if (c.terminator !== 'aws4_request') return fail('authn.sigv4.scope_mismatch', 'the credential scope must end in aws4_request');
  if (c.scopeDate !== amzDate.slice(0, 8)) return fail('authn.sigv4.scope_mismatch', 'the credential scope date is not the request date');
  if (c.region !== policy.region || c.service !== policy.service) return fail('authn.sigv4.scope_mismatch', 'the credential scope names another region or service');

  const key = policy.keys.get(c.accessKeyId);
  if (key === undefined) return fail('authn.sigv4.unknown_access_key', 'the access key is not known');
  if (!key.enabled) return fail('authn.sigv4.key_disabled', 'the access key is disabled');
  const tokenUsed = tokenAccepted(key, token, nowMs);
  if (tokenUsed === undefined) return fail('authn.sigv4.invalid_session_token', 'the security token included in the request is invalid');

  let payload: PayloadMode;
  const sha = headerValues(raw, 'x-amz-content-sha256');
  if (sha.length > 1) return fail('authn.sigv4.malformed', 'x-amz-content-sha256 is repeated');
  const claimed = sha[0];
  if (claimed === undefined) {
    // Presigned S3 URLs never carry a payload hash: S3 signs them as UNSIGNED-PAYLOAD.
    payload = d.form === 'presigned' && policy.s3 ? { kind: 'unsigned' } : { kind: 'compute' };
  } else if (claimed === UNSIGNED_PAYLOAD) {
    payload = { kind: 'unsigned' };
  } else if (SIGNATURE_RE.test(claimed)) {
    payload = { kind: 'claimed', hash: claimed };
  } else if (claimed.startsWith('STREAMING-')) {
    return fail('authn.sigv4.malformed', 'streaming (chunk-signed) payloads are not supported');
  } else {
    return fail('authn.sigv4.malformed', 'x-amz-content-sha256 must be 64 lower-case hex digits or UNSIGNED-PAYLOAD');
  }
  if (payload.kind === 'unsigned' && !policy.unsignedPayload) return fail('authn.sigv4.unsigned_payload_not_allowed', 'this route requires a signed payload');

  const uri = canonicalUri(req.rawPath, policy.s3);
  if (uri === undefined) return fail('authn.sigv4.malformed', 'the path contains a malformed percent-escape');
  const query = canonicalQuery(params, d.form === 'presigned' ? 'X-Amz-Signature' : undefined);
  const headers = canonicalHeaders(raw, signed);
  if (typeof headers !== 'string') return fail('authn.sigv4.malformed', `signed header ${headers.missing} is missing`);
  const scope = `${c.scopeDate}/${c.region}/${c.service}/aws4_request`;
  return {
    ok: true,
    form: d.form,
    key,
    amzDate,
    acceptableUntil,
    scope,
    scopeDate: c.scopeDate,
    presented: Buffer.from(signature, 'hex'),
    signature,
    creqPrefix: canonicalRequest(req.method, uri, query, headers, signedRaw, ''),
    payload,
    sessionToken: token !== undefined,
    previousToken: tokenUsed === 'previous',
  };
}

/** HMAC-SHA256 of a byte string. */
export function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'latin1').digest();
}

/** kSigning = HMAC chain over date, region, service, aws4_request (no memo; see signingKey). */
export function deriveSigningKey(secret: string, scopeDate: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac('AWS4' + secret, scopeDate), region), service), 'aws4_request');
}

/** kSigning for a verifier key, memoised per key and date. */
export function signingKey(key: SigningSecret, scopeDate: string, region: string, service: string): Buffer {
  const memo = `${scopeDate}/${region}/${service}`;
  let k = key.signingKeys.get(memo);
  if (k !== undefined) return k;
  k = deriveSigningKey(key.secret, scopeDate, region, service);
  if (key.signingKeys.size >= 4) key.signingKeys.clear();
  key.signingKeys.set(memo, k);
  return k;
}

/** The expected signature (hex) for a pending request and a payload hash. Tests use it too. */
export function expectedSignature(p: Pending, payloadHash: string, region: string, service: string): Buffer {
  const creqHash = sha256Hex(p.creqPrefix + payloadHash);
  return hmac(signingKey(p.key, p.scopeDate, region, service), stringToSign(p.amzDate, p.scope, creqHash));
}

export function signatureMatches(p: Pending, payloadHash: string, policy: VerifierPolicy): boolean {
  return timingSafeEqual(expectedSignature(p, payloadHash, policy.region, policy.service), p.presented);
}

/**
 * Which secret of the key signed the request: the current one, else (only on mismatch) a previous
 * value of a rotated secret still inside its overlap at `nowMs`; undefined when none did. Each
 * comparison is constant-time; the canonical request is hashed once.
 */
export function matchingSecret(p: Pending, payloadHash: string, policy: VerifierPolicy, nowMs: number): SecretUsed | undefined {
  const toSign = stringToSign(p.amzDate, p.scope, sha256Hex(p.creqPrefix + payloadHash));
  if (timingSafeEqual(hmac(signingKey(p.key, p.scopeDate, policy.region, policy.service), toSign), p.presented)) return 'current';
  const previous = p.key.previousSecrets;
  if (previous === undefined) return undefined;
  for (const k of previous) {
    if (nowMs < k.until && timingSafeEqual(hmac(signingKey(k, p.scopeDate, policy.region, policy.service), toSign), p.presented)) return 'previous';
  }
  return undefined;
}

export const bodySha256 = (body: Buffer): string => createHash('sha256').update(body).digest('hex');

const MISMATCH = fail('authn.sigv4.signature_mismatch', 'the request signature does not match');
const HASH_MISMATCH = fail('authn.sigv4.payload_hash_mismatch', 'the body does not match x-amz-content-sha256');

/** The last stage, given the whole body (empty when none): signature and payload hash. */
export function finish(p: Pending, body: Buffer, policy: VerifierPolicy): Pending | Failure {
  switch (p.payload.kind) {
    case 'claimed':
      if (!signatureMatches(p, p.payload.hash, policy)) return MISMATCH;
      return bodySha256(body) === p.payload.hash ? p : HASH_MISMATCH;
    case 'unsigned':
      return signatureMatches(p, UNSIGNED_PAYLOAD, policy) ? p : MISMATCH;
    case 'compute':
      return signatureMatches(p, body.length === 0 ? EMPTY_SHA256 : bodySha256(body), policy) ? p : MISMATCH;
  }
}

/** All stages at once, for a request whose body is at hand (tests, benchmarks). */
export function verifyRequest(req: SigV4Request, body: Buffer, policy: VerifierPolicy, nowMs: number): Pending | Failure | { ok: true; form: 'none' } {
  const d = detect(req);
  if (!d.ok || d.form === 'none') return d;
  const p = prepare(req, d, policy, nowMs);
  return p.ok ? finish(p, body, policy) : p;
}
