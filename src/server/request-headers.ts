// One pass over the client's raw header list: checks framing and Host (SECURITY.md rows 1-3, 9,
// 13-15) and builds the header list sent upstream. Client-sent copies of forwarding and identity
// headers never survive this pass; the gateway writes its own.
import type { Reply } from '../pipeline/filter.js';
import { latin1, type RawHeaders } from '../upstream/raw-headers.js';

/** Hop-by-hop fields (RFC 9110 7.6.1) plus the de-facto ones; never forwarded. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'http2-settings',
]);

/** Fields the gateway owns or that could carry spoofed client identity / routing hints. */
const SPOOFABLE = new Set([
  'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix',
  'forwarded', 'x-real-ip', 'true-client-ip', 'cf-connecting-ip', 'x-client-ip', 'x-cluster-client-ip',
  'x-request-id',
  // Identity headers other proxies use: an upstream that trusts them must never see a client's copy.
  'remote-user', 'x-remote-user', 'x-forwarded-user', 'x-forwarded-email', 'x-forwarded-preferred-username',
  'x-forwarded-groups', 'x-forwarded-access-token', 'x-forwarded-client-cert', 'x-client-cert', 'x-ssl-client-cert',
  // Method/URL override headers some frameworks honour: they would bypass routing and policy.
  'x-original-url', 'x-rewrite-url', 'x-http-method-override', 'x-http-method', 'x-method-override',
  // undici cannot forward Expect and Node already answered 100-continue for us.
  'expect',
]);
const SPOOFABLE_PREFIXES = ['x-gatehouse-', 'x-auth-request-', 'x-ssl-'];

/** Length and first letter of every request field name the scan treats specially (x-* names
 * always are, which covers the prefixes above): the key of the fast path in scanRequestHeaders. */
const REQUEST_SPECIAL = new Set(
  [...HOP_BY_HOP, ...SPOOFABLE, 'host', 'content-length', 'transfer-encoding', 'connection', 'upgrade'].map((n) => n.length * 128 + n.charCodeAt(0)),
);

export interface ScannedHeaders {
  error: Reply | undefined;
  /** Flat list for the upstream request, without hop-by-hop, spoofable or Host fields. */
  upstream: string[];
  /** The single Host value (validated by the caller). */
  host: string | undefined;
  xff: string | undefined;
  xfProto: string | undefined;
  xfHost: string | undefined;
  requestId: string | undefined;
  contentLength: number;
  chunked: boolean;
  upgrade: string | undefined;
}

const bad = (code: 'request.bad_framing' | 'request.bad_host' | 'request.headers_too_large' | 'request.unsupported_encoding', status: number, message: string): Reply => ({
  status,
  code,
  message,
  close: true,
});

/** Lower-case and fold '_' to '-' so `X_Gatehouse_User` is caught like `X-Gatehouse-User` (CGI maps both to one variable). */
function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.indexOf('_') === -1 ? lower : lower.replace(/_/g, '-');
}

function isSpoofable(name: string): boolean {
  if (SPOOFABLE.has(name)) return true;
  for (let i = 0; i < SPOOFABLE_PREFIXES.length; i++) if (name.startsWith(SPOOFABLE_PREFIXES[i]!)) return true;
  return false;
}

export function scanRequestHeaders(raw: readonly string[], maxCount: number, trusted: boolean): ScannedHeaders {
  const out: ScannedHeaders = {
    error: undefined, upstream: [], host: undefined, xff: undefined, xfProto: undefined, xfHost: undefined,
    requestId: undefined, contentLength: -1, chunked: false, upgrade: undefined,
  };
  if (raw.length > maxCount * 2) {
    out.error = bad('request.headers_too_large', 431, `more than ${maxCount} header fields`);
    return out;
  }
  let connectionTokens: string[] | undefined;
  let hosts = 0;
  let teSeen = false;
  const up = out.upstream;
  for (let i = 0; i < raw.length; i += 2) {
    const rawName = raw[i]!;
    // Most fields (Accept, User-Agent, Cookie, Content-Type...) cannot be special: forwarded after
    // one Set lookup, without lower-casing. Every x-* name, and any name with '_', takes the full path.
    const c0 = rawName.charCodeAt(0) | 0x20;
    if (c0 !== 0x78 && !REQUEST_SPECIAL.has(rawName.length * 128 + c0) && rawName.indexOf('_') === -1) {
      up.push(rawName, raw[i + 1]!);
      continue;
    }
    const name = canonicalName(rawName);
    const value = raw[i + 1]!;
    if ((name === 'transfer-encoding' || name === 'content-length') && raw[i]!.indexOf('_') !== -1) {
      // `Transfer_Encoding` / `Content_Length`: Node frames the message without them, while a
      // CGI/WSGI backend (or a proxy behind us) may read them as the framing header: refuse (row 3).
      out.error = bad('request.bad_framing', 400, 'a framing header name is misspelled');
      return out;
    }
    switch (name) {
      case 'host':
        hosts++;
        out.host = value;
        continue;
      case 'content-length': {
        // Node rejects most conflicts already; this is the second line of defence (row 2).
        if (out.contentLength !== -1 || !/^[0-9]{1,15}$/.test(value)) {
          out.error = bad('request.bad_framing', 400, 'invalid or repeated Content-Length');
          return out;
        }
        out.contentLength = Number(value);
        up.push('content-length', value);
        continue;
      }
      case 'transfer-encoding': {
        if (teSeen) {
          out.error = bad('request.bad_framing', 400, 'repeated Transfer-Encoding');
          return out;
        }
        teSeen = true;
        if (value.trim().toLowerCase() !== 'chunked') {
          // Only plain `chunked` is safe to re-frame: anything else (gzip, chunked, ",chunked")
          // is an obfuscation attempt or a coding we would have to decode (row 3).
          out.error = bad('request.unsupported_encoding', 501, 'only Transfer-Encoding: chunked is supported');
          return out;
        }
        out.chunked = true;
        continue;
      }
      case 'connection':
        (connectionTokens ??= []).push(...value.toLowerCase().split(',').map((t) => t.trim()).filter(Boolean));
        continue;
      case 'upgrade':
        out.upgrade = value;
        continue;
      case 'x-forwarded-for':
        if (trusted) out.xff = out.xff === undefined ? value : `${out.xff}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        if (trusted) out.xfProto = value;
        continue;
      case 'x-forwarded-host':
        if (trusted) out.xfHost = value;
        continue;
      case 'x-request-id':
        if (trusted) out.requestId = value;
        continue;
    }
    if (HOP_BY_HOP.has(name) || isSpoofable(name)) continue;
    up.push(raw[i]!, value);
  }
  if (hosts !== 1) {
    out.error = bad('request.bad_host', 400, hosts === 0 ? 'missing Host header' : 'repeated Host header');
    return out;
  }
  if (teSeen && out.contentLength !== -1) {
    out.error = bad('request.bad_framing', 400, 'both Content-Length and Transfer-Encoding');
    return out;
  }
  if (connectionTokens) {
    // Fields nominated by Connection are hop-by-hop too (RFC 9110 7.6.1).
    for (const t of connectionTokens) {
      if (t === 'close' || t === 'keep-alive' || t === 'upgrade') continue;
      for (let i = up.length - 2; i >= 0; i -= 2) if (canonicalName(up[i]!) === t) up.splice(i, 2);
    }
  }
  return out;
}

/**
 * Response field names handled specially (hop-by-hop, and the upstream's x-request-id, which the
 * gateway replaces), keyed by length and lower-cased first letter: an ordinary name such as
 * Content-Type is passed on after one Set lookup, without toLowerCase(). (Keying by length alone
 * sent Content-Type and Content-Length down the slow path: profiled at ~3.5 us per response.)
 */
const RESPONSE_SPECIAL = new Set([...HOP_BY_HOP, 'x-request-id'].map((n) => n.length * 128 + n.charCodeAt(0)));
const responseKey = (name: string) => name.length * 128 + (name.charCodeAt(0) | 0x20);

/** Content-Length's key in the same scheme: the one ordinary field whose value the proxy reads. */
const CONTENT_LENGTH_KEY = responseKey('content-length');

/**
 * Drop hop-by-hop fields (and those named in Connection) from an upstream response. Returns the
 * upstream's Content-Length when it sent exactly one plain decimal value, else -1: the proxy then
 * knows which body chunk is the last one.
 */
export function filterResponseHeaders(raw: RawHeaders, out: string[], remove: ReadonlySet<string> | undefined): number {
  let nominated: string[] | undefined;
  let contentLength = -1;
  let lengths = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]!);
    const key = responseKey(name);
    if (key === CONTENT_LENGTH_KEY && name.toLowerCase() === 'content-length') {
      lengths++;
      contentLength = decimal(raw[i + 1]!);
    }
    if (remove === undefined && !RESPONSE_SPECIAL.has(key)) {
      out.push(name, latin1(raw[i + 1]!));
      continue;
    }
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower === 'x-request-id') {
      if (lower === 'connection') {
        const v = latin1(raw[i + 1]!).toLowerCase();
        // The usual values name no other field: no token list is built for them.
        if (v !== 'keep-alive' && v !== 'close') (nominated ??= []).push(...v.split(',').map((t) => t.trim()));
      }
      continue;
    }
    if (remove !== undefined && remove.has(lower)) continue;
    out.push(name, latin1(raw[i + 1]!));
  }
  if (nominated) {
    for (const t of nominated) {
      if (!t || t === 'close' || t === 'keep-alive') continue;
      for (let i = out.length - 2; i >= 0; i -= 2) if (out[i]!.toLowerCase() === t) out.splice(i, 2);
    }
  }
  return lengths === 1 ? contentLength : -1;
}

/** A field value of 1-15 ASCII digits as a number, anything else -1. */
function decimal(v: Buffer | string): number {
  if (v.length === 0 || v.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const d = (typeof v === 'string' ? v.charCodeAt(i) : v[i]!) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
