// IP addresses and CIDR blocks for IpAddress / NotIpAddress. Request addresses are parsed into a
// reused buffer (no allocation per request); IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a
// dual-stack socket reports for IPv4 clients) compare as IPv4, in requests and in policies.
import { isIP } from 'node:net';

export interface Cidr {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, host bits zeroed. */
  readonly bytes: Uint8Array;
  readonly prefix: number;
  readonly source: string;
}

/** Parses `a.b.c.d`, `a.b.c.d/n`, IPv6 and IPv6/n; returns an error message when malformed. */
export function parseCidr(src: string): Cidr | string {
  const slash = src.indexOf('/');
  const addr = slash < 0 ? src : src.slice(0, slash);
  const buf = new Uint8Array(16);
  let family = parseIpInto(addr, buf);
  if (family === 0 || isIP(addr) === 0) return `${JSON.stringify(src)} is not an IP address or CIDR block`;
  const max = isIP(addr) === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = src.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > max) return `${JSON.stringify(src)} has an invalid prefix length (0-${max})`;
    prefix = Number(p);
  }
  // A mapped block written in IPv6 (`::ffff:10.0.0.0/104`) is the IPv4 block 10.0.0.0/8.
  if (max === 128 && family === 4) {
    if (prefix < 96) return `${JSON.stringify(src)} spans beyond the IPv4-mapped range (prefix must be at least 96)`;
    prefix -= 96;
  }
  const bytes = buf.slice(0, family === 4 ? 4 : 16);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  family = family === 4 ? 4 : 6;
  return { family, bytes, prefix, source: src };
}

export function cidrContains(c: Cidr, family: 4 | 6, addr: Uint8Array): boolean {
  if (c.family !== family) return false;
  const full = c.prefix >> 3;
  for (let i = 0; i < full; i++) if (addr[i] !== c.bytes[i]) return false;
  const rest = c.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (addr[full]! & mask) === c.bytes[full];
}

/**
 * Writes the address into out (4 bytes for IPv4, 16 for IPv6) and returns its family, or 0 when
 * malformed. Mapped addresses are written as their 4 IPv4 bytes and reported as 4.
 */
export function parseIpInto(s: string, out: Uint8Array): 0 | 4 | 6 {
  if (s.indexOf(':') < 0) return parseV4(s, 0, s.length, out, 0) ? 4 : 0;
  return parseV6(s, out);
}

function parseV4(s: string, from: number, to: number, out: Uint8Array, at: number): boolean {
  let part = 0;
  let digits = 0;
  let n = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : 46; /* '.' terminates the last part */
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = n;
      n = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57) return false;
    // No leading zeros: `010` is octal to some parsers, and ambiguity in an ACL is a bypass.
    if (digits === 1 && n === 0) return false;
    n = n * 10 + (c - 48);
    if (++digits > 3 || n > 255) return false;
  }
  return part === 4;
}

function parseV6(s: string, out: Uint8Array): 0 | 4 | 6 {
  let end = s.length;
  const zone = s.indexOf('%');
  if (zone >= 0) end = zone; // the zone only picks an interface; it is not part of the address
  let count = 0;
  let gap = -1;
  let i = 0;
  if (s.startsWith('::', 0)) {
    gap = 0;
    i = 2;
  } else if (s.charCodeAt(0) === 58) return 0;
  while (i < end) {
    // An embedded IPv4 tail takes the last two groups.
    const nextColon = s.indexOf(':', i);
    const segEnd = nextColon < 0 || nextColon > end ? end : nextColon;
    if (s.indexOf('.', i) >= 0 && s.indexOf('.', i) < segEnd) {
      if (segEnd !== end || count > 6) return 0;
      const tmp = scratchV4;
      if (!parseV4(s, i, end, tmp, 0)) return 0;
      setGroup(out, count++, (tmp[0]! << 8) | tmp[1]!);
      setGroup(out, count++, (tmp[2]! << 8) | tmp[3]!);
      i = end;
      break;
    }
    const len = segEnd - i;
    if (len < 1 || len > 4 || count >= 8) return 0;
    let v = 0;
    for (let k = i; k < segEnd; k++) {
      const h = hexValue(s.charCodeAt(k));
      if (h < 0) return 0;
      v = (v << 4) | h;
    }
    setGroup(out, count++, v);
    i = segEnd;
    if (i < end) {
      i++; // the colon
      if (s.charCodeAt(i) === 58) {
        if (gap >= 0) return 0;
        gap = count;
        i++;
      } else if (i === end) return 0; // trailing single colon
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return 0;
  if (gap >= 0) {
    const move = count - gap;
    for (let k = 1; k <= move; k++) setGroup(out, 8 - k, getGroup(out, count - k));
    for (let k = gap; k < 8 - move; k++) setGroup(out, k, 0);
  }
  if (isMappedV4(out)) {
    out.copyWithin(0, 12, 16);
    return 4;
  }
  return 6;
}

const scratchV4 = new Uint8Array(4);

function isMappedV4(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

// Big-endian 16-bit groups over the byte buffer (a Uint16Array would use host byte order).
function getGroup(b: Uint8Array, i: number): number {
  return (b[i * 2]! << 8) | b[i * 2 + 1]!;
}

function setGroup(b: Uint8Array, i: number, v: number): void {
  b[i * 2] = v >> 8;
  b[i * 2 + 1] = v & 0xff;
}
