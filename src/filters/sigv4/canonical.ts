// AWS Signature Version 4 canonicalisation: the request as the client sent it → the canonical
// request and the string to sign (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html).
// Pure functions, no I/O.
//
// Strings here are byte strings: one UTF-16 unit per octet (latin1), which is how Node hands over
// req.url and header values. Percent-decoding yields octets, percent-encoding writes octets, so the
// canonical request is exactly the bytes AWS's rules produce, whatever the client's text encoding.

const HEX = '0123456789ABCDEF';
const SLASH = 0x2f;

/** RFC 3986 unreserved: A-Z a-z 0-9 - . _ ~ (the only octets AWS's UriEncode leaves alone). */
const UNRESERVED = new Uint8Array(256);
for (let c = 0; c < 256; c++) UNRESERVED[c] = /[A-Za-z0-9\-._~]/.test(String.fromCharCode(c)) ? 1 : 0;

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX_VALUE[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX_VALUE[0x41 + c] = HEX_VALUE[0x61 + c] = 10 + c;
const hexValue = (c: number) => (c < 128 ? HEX_VALUE[c]! : -1);

/**
 * AWS UriEncode: every octet but the unreserved ones as %XY (upper-case hex); '/' kept when
 * `keepSlash` (paths). A unit above 0xFF (a caller passed text, not bytes) is encoded as UTF-8.
 */
export function uriEncode(s: string, keepSlash: boolean): string {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || (UNRESERVED[c] === 0 && !(keepSlash && c === SLASH))) break;
  }
  if (i === n) return s;
  let out = s.slice(0, i);
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0xff) {
      out += UNRESERVED[c] === 1 || (keepSlash && c === SLASH) ? s[i] : '%' + HEX[c >> 4] + HEX[c & 15];
      continue;
    }
    const cp = s.codePointAt(i)!;
    if (cp > 0xffff) i++;
    for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) out += '%' + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

/** Percent-decodes to octets; '+' stays '+'. undefined for a malformed escape. */
export function pctDecode(s: string): string | undefined {
  let p = s.indexOf('%');
  if (p === -1) return s;
  let out = '';
  let from = 0;
  while (p !== -1) {
    if (p + 2 >= s.length) return undefined;
    const hi = hexValue(s.charCodeAt(p + 1));
    const lo = hexValue(s.charCodeAt(p + 2));
    if (hi < 0 || lo < 0) return undefined;
    out += s.slice(from, p) + String.fromCharCode((hi << 4) | lo);
    from = p + 3;
    p = s.indexOf('%', from);
  }
  return out + s.slice(from);
}

/** The raw path and raw query (no '?') of a request target; absolute-form is reduced to its path. */
export function splitTarget(target: string): { path: string; query: string } {
  let t = target;
  if (t.charCodeAt(0) !== SLASH) {
    const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(t);
    t = m ? t.slice(m[0].length) : t;
    if (t === '' || t.charCodeAt(0) === 0x3f) t = '/' + t;
  }
  const q = t.indexOf('?');
  return q === -1 ? { path: t, query: '' } : { path: t.slice(0, q), query: t.slice(q + 1) };
}

/**
 * AWS's path normalisation for every service but S3 (the one the AWS SDKs implement): empty and
 * '.' segments dropped, '..' drops the segment before it, a trailing slash kept when anything is
 * left. It works on the path as sent: an escaped dot (%2E) is not a dot segment here.
 */
export function normalizeAwsPath(rawPath: string): string {
  const segs: string[] = [];
  for (const seg of rawPath.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segs.pop();
    else segs.push(seg);
  }
  const lead = rawPath.charCodeAt(0) === SLASH ? '/' : '';
  return lead + segs.join('/') + (segs.length > 0 && rawPath.endsWith('/') ? '/' : '');
}

/**
 * The canonical URI. Non-S3 services: normalise, then URI-encode the path as sent, which encodes
 * its escapes a second time (`%20` → `%2520`): AWS's "encode each segment twice". S3: no
 * normalisation and one encoding: each segment decoded and re-encoded by AWS's rules, so a key is
 * signed as its octets whichever optional escapes the client used. undefined for a bad escape.
 */
export function canonicalUri(rawPath: string, s3: boolean): string | undefined {
  if (!s3) {
    if (pctDecode(rawPath) === undefined) return undefined;
    return uriEncode(normalizeAwsPath(rawPath), true) || '/';
  }
  if (rawPath === '') return '/';
  const segs = rawPath.split('/');
  for (let i = 0; i < segs.length; i++) {
    const d = pctDecode(segs[i]!);
    if (d === undefined) return undefined;
    segs[i] = uriEncode(d, false);
  }
  return segs.join('/');
}

/**
 * The decoded path the signature covers: for non-S3 services AWS's normalised path, for S3 the
 * path as sent; both as octets. The gateway refuses a request when this differs from the path it
 * routes and authorises on (see pathsAgree).
 */
export function signedResourcePath(rawPath: string, s3: boolean): string | undefined {
  return pctDecode(s3 ? rawPath || '/' : normalizeAwsPath(rawPath) || '/');
}

/** True when the signed path and the gateway's normalized path name the same resource. */
export function pathsAgree(rawPath: string, gatewayPath: string, s3: boolean): boolean {
  const signed = signedResourcePath(rawPath, s3);
  return signed !== undefined && signed === pctDecode(gatewayPath);
}

export interface QueryParam {
  /** Octets, decoded. */
  readonly name: string;
  readonly value: string;
  /** The piece as sent, for rebuilding a forwarded query. */
  readonly raw: string;
}

/** Splits a raw query into decoded parameters, empty pieces skipped. undefined for a bad escape. */
export function parseQuery(rawQuery: string): QueryParam[] | undefined {
  const out: QueryParam[] = [];
  if (rawQuery === '') return out;
  for (const raw of rawQuery.split('&')) {
    if (raw === '') continue;
    const eq = raw.indexOf('=');
    const name = pctDecode(eq === -1 ? raw : raw.slice(0, eq));
    const value = pctDecode(eq === -1 ? '' : raw.slice(eq + 1));
    if (name === undefined || value === undefined) return undefined;
    out.push({ name, value, raw });
  }
  return out;
}

/** Canonical query string: names and values AWS-encoded, sorted by name then value, `name=` for none. */
export function canonicalQuery(params: readonly QueryParam[], skipName?: string): string {
  const pairs: [string, string][] = [];
  for (const p of params) if (p.name !== skipName) pairs.push([uriEncode(p.name, false), uriEncode(p.value, false)]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  let out = '';
  for (let i = 0; i < pairs.length; i++) out += (i ? '&' : '') + pairs[i]![0] + '=' + pairs[i]![1];
  return out;
}

/** A header value in canonical form: SP/HTAB runs collapsed to one space, then trimmed. */
export function canonicalHeaderValue(v: string): string {
  let out = '';
  let space = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x20 || c === 0x09) {
      space = true;
      continue;
    }
    if (space && out !== '') out += ' ';
    space = false;
    out += v[i];
  }
  return out;
}

/**
 * The canonical headers block (`name:value\n` per signed header, in SignedHeaders order) from the
 * raw header list. Repeated fields are joined with ',' in the order received. Returns the name of
 * a signed header the request does not carry instead.
 */
export function canonicalHeaders(rawHeaders: readonly string[], signed: readonly string[]): string | { missing: string } {
  const values = new Map<string, string | null>();
  for (const name of signed) values.set(name, null);
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const prev = values.get(name);
    if (prev === undefined) continue;
    const v = canonicalHeaderValue(rawHeaders[i + 1]!);
    values.set(name, prev === null ? v : prev + ',' + v);
  }
  let out = '';
  for (const name of signed) {
    const v = values.get(name);
    if (v === null || v === undefined) return { missing: name };
    out += name + ':' + v + '\n';
  }
  return out;
}

export function canonicalRequest(method: string, uri: string, query: string, headers: string, signedHeaders: string, payloadHash: string): string {
  return `${method}\n${uri}\n${query}\n${headers}\n${signedHeaders}\n${payloadHash}`;
}

export function stringToSign(amzDate: string, scope: string, canonicalRequestHashHex: string): string {
  return `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${canonicalRequestHashHex}`;
}
