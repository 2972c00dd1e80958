// Host normalization (SECURITY.md row 9): one spelling per authority, so host routing cannot be
// steered by case, a port, a trailing dot or a value the backend parses differently.
import { isIPv6 } from 'node:net';

// Names are accepted in the DNS-compatible subset of the RFC 3986 reg-name grammar: letters,
// digits, '-', '.', '_', '~'. Percent-escapes and sub-delims are grammatical but never name a
// real host, and ',' would make a list (some proxies take the first element, some the last).
const NAME_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9\-._~]/.test(ch)) NAME_CHAR[c] = 1;
}

/**
 * Normalizes a Host header value (or the authority of an absolute-form target): lower-cased,
 * port removed, one trailing dot removed; IPv6 literals keep their brackets. Returns undefined
 * when the value is not a single valid host[:port].
 */
export function normalizeHost(hostHeader: string): string | undefined {
  const len = hostHeader.length;
  if (len === 0) return undefined;
  if (hostHeader.charCodeAt(0) === 0x5b /* '[' */) return ipLiteral(hostHeader);

  const colon = hostHeader.indexOf(':');
  let nameEnd = len;
  if (colon !== -1) {
    if (!validPort(hostHeader, colon + 1)) return undefined;
    nameEnd = colon;
  }
  if (nameEnd > 1 && hostHeader.charCodeAt(nameEnd - 1) === 0x2e /* '.' */) nameEnd--;
  if (nameEnd === 0) return undefined;

  let lower = true;
  let prev = 0x2e; // a leading '.' counts as an empty label
  for (let i = 0; i < nameEnd; i++) {
    const c = hostHeader.charCodeAt(i);
    if (c >= 128 || NAME_CHAR[c] === 0) return undefined;
    if (c === 0x2e && prev === 0x2e) return undefined;
    if (c >= 0x41 && c <= 0x5a) lower = false;
    prev = c;
  }
  if (prev === 0x2e) return undefined;
  const name = nameEnd === len ? hostHeader : hostHeader.slice(0, nameEnd);
  // Only ASCII got this far, so toLowerCase cannot map anything into or out of the grammar.
  return lower ? name : name.toLowerCase();
}

function ipLiteral(value: string): string | undefined {
  const close = value.indexOf(']');
  if (close === -1) return undefined;
  if (close + 1 < value.length) {
    if (value.charCodeAt(close + 1) !== 0x3a /* ':' */ || !validPort(value, close + 2)) return undefined;
  }
  // isIPv6 accepts zone ids ('fe80::1%eth0'); RFC 3986 needs them written %25 and no backend
  // should route on one, so any '%' is refused before asking it.
  const inner = value.slice(1, close);
  if (inner.includes('%') || !isIPv6(inner)) return undefined;
  // One spelling per address ('[0:0::1]' and '[::1]' are the same host): the WHATWG serializer
  // compresses and lower-cases. IPv6 literals are rare enough for its cost not to matter.
  return new URL(`http://[${inner}]/`).hostname;
}

/** port = *DIGIT (RFC 3986), at most 65535; an empty port is grammatical and means the default. */
function validPort(s: string, from: number): boolean {
  const digits = s.length - from;
  if (digits > 5) return false;
  let port = 0;
  for (let i = from; i < s.length; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return false;
    port = port * 10 + d;
  }
  return port <= 65535;
}
