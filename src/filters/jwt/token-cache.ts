// Verified-token cache: a hot token costs one SHA-256 and one Map lookup instead of a signature
// check. Keyed by the token's hash (the token itself is never kept), bounded (the oldest entry
// goes first), and an entry lives no longer than its token's exp. One cache per filter instance,
// so a token accepted on a route with other audiences or scopes is never reused here.
import { hash } from 'node:crypto';
import type { Identity } from '../common/identity.js';
import type { PublicJwk } from './keys.js';

export interface CachedToken {
  readonly identity: Identity;
  /** Clock ms after which the entry is dead (the token's exp). */
  readonly expiresAt: number;
  /** The key that verified it: the entry dies with the key when the issuer rotates it out. */
  readonly key: PublicJwk | Uint8Array;
  readonly issuerIndex: number;
}

/** The 32 digest bytes as a 'binary' (latin1) string: the cheapest Map key node:crypto hands out. */
export const tokenHash = (token: string): string => hash('sha256', token, 'binary');

export class TokenCache {
  readonly #max: number;
  readonly #map = new Map<string, CachedToken>();

  constructor(maxEntries: number) {
    this.#max = maxEntries;
  }

  get(key: string, nowMs: number): CachedToken | undefined {
    const e = this.#map.get(key);
    if (e === undefined) return undefined;
    if (nowMs >= e.expiresAt) {
      this.#map.delete(key);
      return undefined;
    }
    return e;
  }

  set(key: string, entry: CachedToken): void {
    if (this.#max === 0) return;
    if (this.#map.size >= this.#max) {
      // Map iterates in insertion order: the first key is the oldest.
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
    this.#map.set(key, entry);
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  get size(): number {
    return this.#map.size;
  }
}
