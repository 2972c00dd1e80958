// The overlap window of rotated secrets (secrets.overlap): when a reload replaces the value of a
// secret reference, the previous value stays acceptable to inbound verifiers (sigv4 secrets and
// session tokens, jwt HMAC secrets, admin.token) until the rotation time plus the overlap.
//
// Keyed by the CURRENT value: a verifier holds only its configured value, so it asks "which
// previous values did this one replace?" without knowing its key path. Repeated rotations chain
// (v1 → v2 → v3 leaves v2 and v1 behind v3, each with its own deadline); an entry outlives a
// later unrelated reload as long as the value it is filed under is still configured. Expiry is
// the verifier's check, against its clock, at verification time: a compiled filter may hold an
// entry long after it ran out, and never accepts it then.
//
// A rotation is a reload whose config differs from the running one only in secret-sourced values
// (the refresh check's test, and a SIGHUP after the provider changed): only then do key paths of
// the two configs correspond. A reload that also edits the file records nothing new, and every
// reload caps the deadlines already recorded at "now + the new overlap", so setting overlap to 0
// and reloading cuts every previous value off at once (after a leak).
import { formatKeyPath, type Segment } from '../config/key-path.js';
import type { GatehouseConfig } from '../config/schema.js';
import { redactConfig } from '../admin/redact.js';

export interface PreviousSecret {
  readonly value: string;
  /** Clock ms from which the value is refused again. */
  readonly until: number;
}

/** Previous values of a rotated secret, by its current value (empty when it never rotated). */
export type PreviousSecrets = (current: string) => readonly PreviousSecret[];

export const NO_PREVIOUS: PreviousSecrets = () => [];

/** The entries still acceptable at `now`. */
export function stillValid(entries: readonly PreviousSecret[], now: number): PreviousSecret[] {
  return entries.filter((e) => now < e.until);
}

/** The longest overlap accepted (validation says so). */
export const MAX_OVERLAP_MS = 24 * 3_600_000;

export interface Rotated {
  /** Key path of the secret, e.g. routes[2].filters.sigv4.access_keys[0].secret. */
  readonly path: string;
  /** Until when its previous value is accepted; the rotation time itself when overlap is 0. */
  readonly until: number;
}

interface Side {
  readonly config: GatehouseConfig;
  readonly secretPaths: readonly string[];
}

export class SecretHistory {
  #byValue: ReadonlyMap<string, readonly PreviousSecret[]> = new Map();

  readonly lookup: PreviousSecrets = (current) => this.#byValue.get(current) ?? [];

  /**
   * Installs the history for a reload from `from` to `to` and returns the secrets it found rotated
   * (paths only, never values) and an undo for when the new config fails to compile.
   */
  update(from: Side, to: Side, overlapMs: number, now: number): { rotated: Rotated[]; undo(): void } {
    const before = this.#byValue;
    const nextValues = secretValues(to.config, to.secretPaths);
    const rotation = isRotation(from, to);
    const prevValues = rotation ? secretValues(from.config, from.secretPaths) : new Map<string, string>();
    const cap = now + overlapMs;
    const byValue = new Map<string, PreviousSecret[]>();
    const rotated: Rotated[] = [];
    for (const [path, value] of nextValues) {
      const old = prevValues.get(path);
      let candidates: readonly PreviousSecret[];
      if (old !== undefined && old !== value) {
        rotated.push({ path, until: overlapMs > 0 ? cap : now });
        candidates = [{ value: old, until: cap }, ...(before.get(old) ?? [])];
      } else {
        candidates = before.get(value) ?? [];
      }
      if (overlapMs <= 0) continue;
      let list = byValue.get(value);
      for (const c of candidates) {
        const until = Math.min(c.until, cap);
        if (c.value === value || until <= now) continue;
        list ??= [];
        const same = list.findIndex((e) => e.value === c.value);
        if (same === -1) list.push({ value: c.value, until });
        else if (list[same]!.until < until) list[same] = { value: c.value, until };
      }
      if (list !== undefined) byValue.set(value, list);
    }
    for (const list of byValue.values()) Object.freeze(list);
    this.#byValue = byValue;
    return {
      rotated,
      undo: () => {
        this.#byValue = before;
      },
    };
  }

  /** How many previous values are held (for tests). */
  get size(): number {
    let n = 0;
    for (const l of this.#byValue.values()) n += l.length;
    return n;
  }
}

/** True when the two configs differ only in values that came from secret references. */
function isRotation(a: Side, b: Side): boolean {
  const bs = new Set(b.secretPaths);
  if (new Set(a.secretPaths).size !== bs.size || a.secretPaths.some((p) => !bs.has(p))) return false;
  return JSON.stringify(redactConfig(a.config, a.secretPaths)) === JSON.stringify(redactConfig(b.config, b.secretPaths));
}

/** The string values at the given key paths. */
function secretValues(config: GatehouseConfig, paths: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (paths.length === 0) return out;
  const wanted = new Set(paths);
  const walk = (v: unknown, path: Segment[]): void => {
    if (typeof v === 'string') {
      if (path.length > 0 && wanted.has(formatKeyPath(path))) out.set(formatKeyPath(path), v);
      return;
    }
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(config, []);
  return out;
}
