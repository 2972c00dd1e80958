// Key records → the lookup table the filter reads. Built once per config load or file change;
// requests only do a Map lookup and a constant-time hash comparison. Each record's Identity is
// made here too, so an accepted request allocates nothing for it.
import { Ajv, type ValidateFunction } from 'ajv';
import { Type as T } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import { makeIdentity, type Identity } from '../common/identity.js';
import { keyRecordSchema, type KeyRecord } from './config.js';

export interface KeyEntry {
  readonly id: string;
  /** SHA-256 of the whole key (32 bytes). */
  readonly digest: Buffer;
  readonly enabled: boolean;
  /** Epoch ms from which the key is refused; undefined: never expires. */
  readonly expiresAt: number | undefined;
  readonly identity: Identity;
}

export type KeyIndex = ReadonlyMap<string, KeyEntry>;

/** A keys_file larger than this is refused (and the last good set kept): surely the wrong file. */
export const MAX_KEYS_FILE_BYTES = 16 * 1024 * 1024;

/** Parse an ISO date (a date alone is midnight UTC); NaN when invalid. */
export function parseExpiry(s: string): number {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  // Date.parse accepts 2027-02-31 as March 3rd: only dates that round-trip are real dates.
  if (Number.isNaN(ms)) return NaN;
  const day = s.slice(0, 10);
  return new Date(ms + offsetMs(s)).toISOString().slice(0, 10) === day ? ms : NaN;
}

/** The zone offset written in an ISO string, so the calendar date check uses the local date. */
function offsetMs(s: string): number {
  const m = /([+-])(\d{2}):(\d{2})$/.exec(s);
  if (!m || s.length <= 10) return 0;
  const v = (Number(m[2]) * 60 + Number(m[3])) * 60_000;
  return m[1] === '+' ? v : -v;
}

/**
 * Compile records; `sources` says where each list came from, for error messages. Throws an Error
 * naming the record (never its hash) on a duplicate id or an impossible date.
 */
export function compileKeys(sources: ReadonlyArray<{ where: string; records: readonly KeyRecord[] }>): KeyIndex {
  const index = new Map<string, KeyEntry>();
  const origin = new Map<string, string>();
  for (const { where, records } of sources) {
    records.forEach((r, i) => {
      const at = `${where}[${i}]`;
      const first = origin.get(r.id);
      if (first !== undefined) throw new Error(`${at}: duplicate key id "${r.id}" (first in ${first})`);
      origin.set(r.id, at);
      let expiresAt: number | undefined;
      if (r.expires_at !== undefined) {
        expiresAt = parseExpiry(r.expires_at);
        if (Number.isNaN(expiresAt)) throw new Error(`${at}.expires_at: "${r.expires_at}" is not a valid date`);
      }
      index.set(r.id, {
        id: r.id,
        digest: Buffer.from(r.hash.slice('sha256:'.length), 'hex'),
        enabled: r.enabled !== false,
        expiresAt,
        identity: makeIdentity({
          kind: 'api_key',
          subject: r.owner,
          roles: Object.freeze([...(r.roles ?? [])]),
          keyId: r.id,
          usagePlan: r.usage_plan,
        }),
      });
    });
  }
  return index;
}

let fileValidator: ValidateFunction | undefined;

/**
 * A keys file's text → records. YAML (JSON is YAML) holding a list of records or `{ keys: [...] }`.
 * Error messages carry positions and key paths, never values: the file holds hashes, and a key
 * pasted there by mistake must not end up in a log.
 */
export function parseKeysFile(text: string): KeyRecord[] {
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    // The yaml library appends a code frame (the offending line) to its message: keep line 1 only.
    throw new Error(`not valid YAML or JSON: ${String((err as Error).message).split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return [];
  const list = Array.isArray(doc) ? doc : typeof doc === 'object' && Array.isArray((doc as { keys?: unknown }).keys) ? (doc as { keys: unknown[] }).keys : undefined;
  if (list === undefined) throw new Error('expected a list of key records, or an object with a "keys" list');
  fileValidator ??= new Ajv({ allErrors: false, strict: false }).compile(T.Array(keyRecordSchema));
  if (!fileValidator(list)) {
    const e = fileValidator.errors![0]!;
    const path = e.instancePath.replace(/^\/(\d+)/, '[$1]').replace(/\//g, '.');
    const extra = e.keyword === 'additionalProperties' ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"` : '';
    throw new Error(`${path || 'keys'}: ${e.message ?? 'invalid'}${extra}`);
  }
  return list as KeyRecord[];
}
