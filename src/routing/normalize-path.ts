// Path normalization: the one canonical path that routing and policy both read (DESIGN.md §2,
// SECURITY.md row 11). Anything a backend could read two ways is rejected here rather than guessed.
//
// Canonical form: unreserved escapes decoded exactly once, other escapes upper-cased, no dot
// segments, no empty segments except a trailing slash. Because the canonical form has none of the
// constructs the rules remove, normalizing it again returns it unchanged (the fuzz test checks).
import type { NormalizeResult } from './types.js';

type Failure = Extract<NormalizeResult, { ok: false }>;

// Shared frozen failures: rejecting hostile input should cost no allocation either.
const fail = (code: Failure['code'], message: string): Failure => Object.freeze({ ok: false, code, message });
const TOO_LONG = fail('request.uri_too_long', 'the request target is too long');
const NOT_ORIGIN_FORM = fail('request.bad_path', 'the request target must start with /');
const BAD_CHAR = fail('request.bad_path', 'the path contains a character that is not allowed');
const BAD_QUERY = fail('request.bad_path', 'the query contains a character that is not allowed');
const BAD_ESCAPE = fail('request.bad_path', 'the path contains a malformed percent-escape');
const FORBIDDEN_ESCAPE = fail('request.bad_path', 'the path contains an encoded character that is not allowed');

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const QUESTION = 0x3f;

// Raw path characters. Everything outside printable ASCII is refused, and so are the characters
// some backends give a meaning the gateway would not see: '\' (a separator on Windows and in
// WHATWG URLs), ';' (path parameters: Tomcat/Jetty read /admin;x/ as /admin/) and '#'.
const enum C {
  Plain = 0,
  Bad = 1,
  Percent = 2,
  Slash = 3,
}
const PATH_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  PATH_CLASS[c] = c <= 0x20 || c === 0x7f || c === 0x5c || c === 0x3b || c === 0x23 ? C.Bad : C.Plain;
}
PATH_CLASS[PERCENT] = C.Percent;
PATH_CLASS[SLASH] = C.Slash;

// What to do with a decoded escape value 0..255.
const enum E {
  Keep = 0,
  Decode = 1,
  Reject = 2,
}
const ESCAPE_ACTION = new Uint8Array(256);
for (let v = 0; v < 256; v++) {
  const ch = String.fromCharCode(v);
  if (/[A-Za-z0-9\-._~]/.test(ch)) ESCAPE_ACTION[v] = E.Decode;
  // Encoded separators and controls are where "the gateway saw one path, the backend another"
  // bypasses come from (%2F, %5C, %00, and %3B for backends that decode before cutting ';').
  else if (v < 0x20 || v === 0x7f || v === SLASH || v === 0x5c || v === 0x3b) ESCAPE_ACTION[v] = E.Reject;
}

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX_VALUE[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX_VALUE[0x41 + c] = HEX_VALUE[0x61 + c] = 10 + c;
const HEX_UPPER = '0123456789ABCDEF';

/**
 * Normalizes an origin-form request target (req.url). Returns the canonical path and the raw
 * query (without '?'), or a reason code. Absolute-form targets must be reduced to origin-form by
 * the caller first.
 */
export function normalizePath(target: string, maxUriBytes: number): NormalizeResult {
  // Node's HTTP/1 req.url is latin1-decoded (one unit per byte), but a caller may pass a string
  // decoded from UTF-8. A unit is at most 3 UTF-8 bytes, so only a target within 3x of the limit
  // is measured as UTF-8: exact for UTF-8 strings, an overstatement (never an under-) for latin1.
  const len = target.length;
  if (len > maxUriBytes || (len * 3 > maxUriBytes && Buffer.byteLength(target, 'utf8') > maxUriBytes)) return TOO_LONG;
  if (len === 0 || target.charCodeAt(0) !== SLASH) return NOT_ORIGIN_FORM;

  // One scan validates every raw path character and decides whether the path is already canonical.
  let canonical = true;
  let end = len;
  for (let i = 0; i < len; i++) {
    const c = target.charCodeAt(i);
    if (c === QUESTION) {
      end = i;
      break;
    }
    if (c >= 128) return BAD_CHAR;
    const cls = PATH_CLASS[c];
    if (cls === C.Plain) continue;
    if (cls === C.Bad) return BAD_CHAR;
    if (cls === C.Percent) canonical = false;
    else if (i + 1 < len) {
      const next = target.charCodeAt(i + 1);
      if (next === SLASH || next === DOT) canonical = false;
    }
  }

  let query = '';
  if (end < len) {
    for (let i = end + 1; i < len; i++) {
      const c = target.charCodeAt(i);
      if (c <= 0x20 || c === 0x7f || c === 0x23) return BAD_QUERY;
    }
    query = target.slice(end + 1);
  }
  if (canonical) return { ok: true, path: end === len ? target : target.slice(0, end), query };
  return canonicalize(target, end, query);
}

/**
 * The slow path, for targets[0..end) already checked for bad raw characters: decodes escapes
 * segment by segment, then applies RFC 3986 5.2.4 dot-segment removal and finally drops empty
 * segments (merging '//'), keeping a trailing slash.
 */
function canonicalize(target: string, end: number, query: string): NormalizeResult {
  // Segments are kept, empty ones included, so that '..' removes exactly what RFC 3986 says it
  // removes (in '/a//../b' it removes the empty segment: '/a/b'). Merging slashes afterwards
  // cannot then change which segment a '..' consumed.
  const stack: string[] = [];
  let trailingSlash = false;
  let start = 1;
  while (start <= end) {
    let stop = target.indexOf('/', start);
    if (stop === -1 || stop > end) stop = end;
    const seg = decodeSegment(target, start, stop);
    if (typeof seg !== 'string') return seg;
    const last = stop === end;
    if (seg === '.' || seg === '..') {
      if (seg === '..') stack.pop();
      trailingSlash = last;
    } else {
      stack.push(seg);
      trailingSlash = false;
    }
    start = stop + 1;
  }

  let path = '';
  for (const seg of stack) if (seg !== '') path += '/' + seg;
  // A final empty segment (from '/a/' or from a trailing dot segment) is the trailing slash.
  if (path === '' || trailingSlash || stack[stack.length - 1] === '') path += '/';
  return { ok: true, path, query };
}

function decodeSegment(s: string, from: number, to: number): string | Failure {
  let pct = s.indexOf('%', from);
  if (pct === -1 || pct >= to) return s.slice(from, to);
  let out = '';
  let copied = from;
  while (pct !== -1 && pct < to) {
    if (pct + 2 >= to) return BAD_ESCAPE;
    const hi = hexValue(s.charCodeAt(pct + 1));
    const lo = hexValue(s.charCodeAt(pct + 2));
    if (hi < 0 || lo < 0) return BAD_ESCAPE;
    const v = (hi << 4) | lo;
    const action = ESCAPE_ACTION[v];
    if (action === E.Reject) return FORBIDDEN_ESCAPE;
    out += s.slice(copied, pct);
    out += action === E.Decode ? String.fromCharCode(v) : '%' + HEX_UPPER[hi] + HEX_UPPER[lo];
    copied = pct + 3;
    pct = s.indexOf('%', copied);
  }
  return out + s.slice(copied, to);
}

function hexValue(c: number): number {
  return c < 128 ? HEX_VALUE[c]! : -1;
}
