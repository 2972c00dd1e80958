// X.509 certificates made at test time with node:crypto alone (no openssl binary, no fixtures with
// real expiry dates): a tiny DER writer for the few structures a CA, a server and client
// certificates need. ECDSA P-256 / SHA-256 throughout.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIPv4 } from 'node:net';

// --- DER -----------------------------------------------------------------------------------------
function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v >>>= 8) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const printable = (s: string) => tlv(0x13, Buffer.from(s, 'latin1'));
function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}
function oid(dotted: string): Buffer {
  const p = dotted.split('.').map(Number);
  const out = [p[0]! * 40 + p[1]!];
  for (const n of p.slice(2)) {
    const enc = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) enc.unshift((v & 0x7f) | 0x80);
    out.push(...enc);
  }
  return tlv(0x06, Buffer.from(out));
}
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  const y = d.getUTCFullYear();
  return y >= 1950 && y < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

// --- Certificates --------------------------------------------------------------------------------
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const ATTR = { C: '2.5.4.6', O: '2.5.4.10', OU: '2.5.4.11', CN: '2.5.4.3' } as const;

export type Dn = Partial<Record<keyof typeof ATTR, string>>;
export interface Sans {
  uri?: string[];
  dns?: string[];
  email?: string[];
  ip?: string[];
}

function name(dn: Dn): Buffer {
  const rdns: Buffer[] = [];
  for (const k of ['C', 'O', 'OU', 'CN'] as const) {
    const v = dn[k];
    if (v !== undefined) rdns.push(set(seq(oid(ATTR[k]), k === 'C' ? printable(v) : utf8(v))));
  }
  return seq(...rdns);
}

function ext(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

function sanExt(s: Sans): Buffer {
  const names: Buffer[] = [];
  for (const e of s.email ?? []) names.push(tlv(0x81, Buffer.from(e)));
  for (const d of s.dns ?? []) names.push(tlv(0x82, Buffer.from(d)));
  for (const u of s.uri ?? []) names.push(tlv(0x86, Buffer.from(u)));
  for (const ip of s.ip ?? []) {
    if (!isIPv4(ip)) throw new Error('only IPv4 SANs here');
    names.push(tlv(0x87, Buffer.from(ip.split('.').map(Number))));
  }
  return ext('2.5.29.17', false, seq(...names));
}

const spkiOf = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
/** RFC 5280 4.2.1.2 method 1 would hash the key bits; any stable id will do for chain building. */
const keyId = (k: KeyObject) => createHash('sha1').update(spkiOf(k)).digest();

function toPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

export interface Issued {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
  der: Buffer;
  /** sha256 of the DER, lower-case hex without colons. */
  fingerprint: string;
}

export interface Ca extends Issued {
  dn: Dn;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const DAY = 86_400_000;

function build(opts: {
  subject: Dn;
  issuer: Dn;
  publicKey: KeyObject;
  signer: KeyObject;
  signerPublic: KeyObject;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
  sans?: Sans | undefined;
  eku?: 'server' | 'client' | undefined;
}): Buffer {
  const exts = [
    ext('2.5.29.19', true, opts.ca ? seq(bool(true)) : seq()),
    // keyUsage: CA keyCertSign|cRLSign (bits 5, 6), leaf digitalSignature (bit 0).
    ext('2.5.29.15', true, opts.ca ? bits(Buffer.from([0x06]), 1) : bits(Buffer.from([0x80]), 7)),
    ext('2.5.29.14', false, octets(keyId(opts.publicKey))),
    ext('2.5.29.35', false, seq(tlv(0x80, keyId(opts.signerPublic)))),
  ];
  if (opts.eku) exts.push(ext('2.5.29.37', false, seq(oid(opts.eku === 'server' ? '1.3.6.1.5.5.7.3.1' : '1.3.6.1.5.5.7.3.2'))));
  if (opts.sans) exts.push(sanExt(opts.sans));
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ECDSA_SHA256,
    name(opts.issuer),
    seq(time(opts.notBefore), time(opts.notAfter)),
    name(opts.subject),
    spkiOf(opts.publicKey),
    explicit(3, seq(...exts)),
  );
  return seq(tbs, ECDSA_SHA256, bits(sign('sha256', tbs, opts.signer)));
}

function issued(der: Buffer, privateKey: KeyObject): Issued {
  return {
    cert: toPem(der),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    der,
    fingerprint: createHash('sha256').update(der).digest('hex'),
  };
}

export function makeCa(cn: string, now = Date.now()): Ca {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const dn: Dn = { O: 'Gatehouse Tests', CN: cn };
  const der = build({
    subject: dn, issuer: dn, publicKey, signer: privateKey, signerPublic: publicKey,
    notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY), ca: true,
  });
  return { ...issued(der, privateKey), dn, privateKey, publicKey };
}

export function issue(
  ca: Ca,
  opts: { subject: Dn; sans?: Sans; notBefore?: Date; notAfter?: Date; eku?: 'server' | 'client' },
  now = Date.now(),
): Issued {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = build({
    subject: opts.subject, issuer: ca.dn, publicKey, signer: ca.privateKey, signerPublic: ca.publicKey,
    notBefore: opts.notBefore ?? new Date(now - 60_000), notAfter: opts.notAfter ?? new Date(now + DAY),
    ca: false, sans: opts.sans, eku: opts.eku,
  });
  return issued(der, privateKey);
}
