// The audit trail's tamper evidence, pure code shared by the writer and `gatehouse audit verify`.
// Each line is one JSON object whose `hash` is SHA-256 over the line's other members serialized
// in order (which includes `prev`, the previous record's hash), so editing, deleting or
// reordering any record breaks every later link. With a key, `hmac` is HMAC-SHA256(key, hash):
// without the key nobody can append a record that verifies, nor rewrite the chain from scratch.
// A file's first record (type "file_start") carries the last hash of the previous file, so the
// chain continues across rotation.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const GENESIS = '0'.repeat(64);

export interface Sealed {
  line: string;
  hash: string;
}

/** Serializes `record` (which must already carry `seq` and `prev`) with its hash and optional HMAC. */
export function seal(record: Record<string, unknown>, key: Buffer | undefined): Sealed {
  const body = JSON.stringify(record);
  const hash = createHash('sha256').update(body).digest('hex');
  const hmac = key ? createHmac('sha256', key).update(hash).digest('hex') : undefined;
  // The body's closing brace is replaced, so the stored bytes are exactly body + the seal members.
  const line = `${body.slice(0, -1)},"hash":"${hash}"${hmac ? `,"hmac":"${hmac}"` : ''}}\n`;
  return { line, hash };
}

export type LineCheck =
  | { ok: true; record: Record<string, unknown>; hash: string; keyed: boolean }
  | { ok: false; problem: string };

/** Checks one line on its own: well-formed, hash matches its content, HMAC matches when a key is given. */
export function checkLine(text: string, key: Buffer | undefined): LineCheck {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { ok: false, problem: 'not valid JSON (truncated or edited)' };
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return { ok: false, problem: 'not a JSON object' };
  const { hash, hmac, ...rest } = obj;
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) return { ok: false, problem: 'no hash' };
  const computed = createHash('sha256').update(JSON.stringify(rest)).digest('hex');
  if (computed !== hash) return { ok: false, problem: 'content does not match its hash (edited)' };
  if (key) {
    if (typeof hmac !== 'string') return { ok: false, problem: 'no hmac, but a key was given (unkeyed record in a keyed chain)' };
    const want = createHmac('sha256', key).update(hash).digest();
    const got = Buffer.from(hmac, 'hex');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, problem: 'hmac does not verify (forged, or another key)' };
  }
  return { ok: true, record: rest, hash, keyed: typeof hmac === 'string' };
}
