// The API key format: gh_<id>_<secret><checksum>.
//   id        12 characters [0-9a-z] (~62 bits): the lookup key, safe to log and show.
//   secret    32 characters base62 (~190 bits, SECURITY.md asks for >= 128) from crypto.randomBytes.
//   checksum  6 characters base62 of the CRC-32 of everything before it (Zuplo/GitHub style): a
//             leak scanner, or the gateway, tells a real key from a look-alike without a lookup.
// The stored form is `sha256:<hex>` of the whole key string, so a secret cannot be moved to another
// id. Plain SHA-256 is enough for keys with this much entropy (SECURITY.md: HMAC with a pepper is
// for low-entropy keys, which this format never produces).
import { createHash, randomBytes } from 'node:crypto';

export const KEY_PREFIX = 'gh_';
export const ID_LENGTH = 12;
export const SECRET_LENGTH = 32;
export const CHECKSUM_LENGTH = 6;
/** Ids written by hand in a record may be 6..32 characters; generated ones are 12. */
export const ID_PATTERN = '^[0-9a-z]{6,32}$';
export const HASH_PATTERN = '^sha256:[0-9a-f]{64}$';
/** Longest key the parser looks at; anything longer is refused before any work. */
export const MAX_KEY_LENGTH = KEY_PREFIX.length + 32 + 1 + 128 + CHECKSUM_LENGTH;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

export interface ParsedKey {
  readonly id: string;
  /** The whole presented key, the input of the hash. */
  readonly key: string;
}

/** Uniform random characters from `alphabet` (rejection sampling: no modulo bias). */
function randomChars(alphabet: string, n: number, random: (size: number) => Buffer): string {
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < n) {
    const buf = random(n * 2);
    for (let i = 0; i < buf.length && out.length < n; i++) {
      const b = buf[i]!;
      if (b < limit) out += alphabet[b % alphabet.length];
    }
  }
  return out;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(s: string): number {
  let c = 0xffffffff;
  for (let i = 0; i < s.length; i++) c = CRC_TABLE[(c ^ s.charCodeAt(i)) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function checksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export interface NewKey {
  readonly id: string;
  readonly key: string;
  readonly hash: string;
}

/** A fresh key. `random` is injectable for tests; production uses crypto.randomBytes. */
export function generateKey(random: (size: number) => Buffer = randomBytes): NewKey {
  const id = randomChars(BASE36, ID_LENGTH, random);
  const body = `${KEY_PREFIX}${id}_${randomChars(BASE62, SECRET_LENGTH, random)}`;
  const key = body + checksum(body);
  return { id, key, hash: hashKey(key) };
}

const isIdChar = (c: number) => (c >= 48 && c <= 57) || (c >= 97 && c <= 122);
const isBase62 = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/**
 * The id of a well-formed key, or undefined. A single pass over at most MAX_KEY_LENGTH
 * characters, no regular expression: this runs on attacker input before any lookup.
 */
export function parseKey(key: string): ParsedKey | undefined {
  if (key.length > MAX_KEY_LENGTH || !key.startsWith(KEY_PREFIX)) return undefined;
  const sep = key.indexOf('_', KEY_PREFIX.length);
  const idLen = sep - KEY_PREFIX.length;
  if (sep === -1 || idLen < 6 || idLen > 32) return undefined;
  for (let i = KEY_PREFIX.length; i < sep; i++) if (!isIdChar(key.charCodeAt(i))) return undefined;
  const tailLen = key.length - sep - 1;
  // A secret shorter than 22 base62 characters carries less than 128 bits.
  if (tailLen < 22 + CHECKSUM_LENGTH) return undefined;
  for (let i = sep + 1; i < key.length; i++) if (!isBase62(key.charCodeAt(i))) return undefined;
  const bodyEnd = key.length - CHECKSUM_LENGTH;
  if (checksum(key.slice(0, bodyEnd)) !== key.slice(bodyEnd)) return undefined;
  return { id: key.slice(KEY_PREFIX.length, sep), key };
}

/** The stored form of a key: `sha256:<hex>` of the whole key. */
export function hashKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** The raw 32 digest bytes of a key, for the constant-time comparison. */
export function digestKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
