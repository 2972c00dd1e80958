// The client certificate of a TLS connection, read once per connection and cached on the socket
// (keep-alive requests reuse it: no re-parsing, no re-hashing). Listeners that request client
// certificates disable TLS renegotiation, so the certificate cannot change under the cache.
import { createHash, type X509Certificate } from 'node:crypto';
import { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';

export interface PeerCert {
  /** URI, DNS, email and IP SAN values, in certificate order, without their type. */
  readonly sans: readonly string[];
  readonly uris: readonly string[];
  readonly dns: readonly string[];
  readonly emails: readonly string[];
  /** The last CN of the subject, if any. */
  readonly cn: string | undefined;
  /** Subject DN as one line, `C=US, O=Acme\, Inc, CN=client` (Node's escaping kept). */
  readonly subject: string;
  readonly issuer: string;
  /** SHA-256 of the DER, lower-case hex, no colons. */
  readonly fingerprint: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface PeerState {
  /** undefined: the connection is not TLS or the client sent no certificate. */
  readonly cert: PeerCert | undefined;
  /** The handshake verified the certificate against the listener's client CA bundle. */
  readonly authorized: boolean;
  /** OpenSSL's verdict when not authorized, e.g. CERT_HAS_EXPIRED. */
  readonly error: string | undefined;
}

const NOT_TLS: PeerState = Object.freeze({ cert: undefined, authorized: false, error: undefined });
const cache = new WeakMap<Socket, PeerState>();

export function peerOf(socket: Socket): PeerState {
  const hit = cache.get(socket);
  if (hit !== undefined) return hit;
  let state = NOT_TLS;
  if (socket instanceof TLSSocket) {
    const x = socket.getPeerX509Certificate();
    if (x !== undefined) {
      const err = socket.authorizationError as unknown;
      state = Object.freeze({
        cert: describeCert(x),
        authorized: socket.authorized,
        error: err === undefined || err === null ? undefined : typeof err === 'string' ? err : String((err as Error).message ?? err),
      });
    }
  }
  cache.set(socket, state);
  return state;
}

export function describeCert(x: X509Certificate): PeerCert {
  const san = parseSubjectAltName(x.subjectAltName ?? '');
  const subjectLines = x.subject.split('\n');
  let cn: string | undefined;
  for (const line of subjectLines) if (line.startsWith('CN=')) cn = unescapeDnValue(line.slice(3));
  return Object.freeze({
    sans: Object.freeze(san.map((e) => e.value)),
    uris: Object.freeze(san.filter((e) => e.type === 'URI').map((e) => e.value)),
    dns: Object.freeze(san.filter((e) => e.type === 'DNS').map((e) => e.value)),
    emails: Object.freeze(san.filter((e) => e.type === 'email').map((e) => e.value)),
    cn,
    subject: subjectLines.join(', '),
    issuer: x.issuer.split('\n').join(', '),
    fingerprint: createHash('sha256').update(x.raw).digest('hex'),
    notBefore: Date.parse(x.validFrom),
    notAfter: Date.parse(x.validTo),
  });
}

export interface SanEntry {
  type: 'URI' | 'DNS' | 'email' | 'IP';
  value: string;
}

/**
 * Node's subjectAltName text: `DNS:a.example.com, URI:spiffe://x, IP Address:127.0.0.1`. Since
 * the CVE-2021-44532 fix, a value containing a separator or quote is written as a JSON string
 * (`DNS:"a\u002c b"`), so splitting on ", " alone would let a crafted SAN smuggle a second
 * entry. Entries of other types (otherName, dirName...) are skipped; a malformed text yields the
 * entries read before the fault and nothing after it.
 */
export function parseSubjectAltName(text: string): SanEntry[] {
  const out: SanEntry[] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon === -1) break;
    const rawType = text.slice(i, colon);
    let value: string;
    let next: number;
    if (text.charCodeAt(colon + 1) === 34 /* " */) {
      const end = closingQuote(text, colon + 2);
      if (end === -1) break;
      try {
        value = JSON.parse(text.slice(colon + 1, end + 1)) as string;
      } catch {
        break;
      }
      next = end + 1;
    } else {
      const sep = text.indexOf(', ', colon + 1);
      next = sep === -1 ? text.length : sep;
      value = text.slice(colon + 1, next);
    }
    const type = rawType === 'URI' ? 'URI' : rawType === 'DNS' ? 'DNS' : rawType === 'email' ? 'email' : rawType === 'IP Address' ? 'IP' : undefined;
    if (type !== undefined) out.push({ type, value });
    if (next >= text.length) break;
    if (text.startsWith(', ', next)) i = next + 2;
    else break;
  }
  return out;
}

function closingQuote(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 92 /* \ */) i++;
    else if (c === 34) return i;
  }
  return -1;
}

/** A DN attribute value as Node prints it: `Acme\, Inc` or a JSON-quoted string. */
function unescapeDnValue(v: string): string {
  if (v.startsWith('"')) {
    try {
      return JSON.parse(v) as string;
    } catch {
      return v;
    }
  }
  return v.replace(/\\(.)/g, '$1');
}
