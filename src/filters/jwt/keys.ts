// A verified snapshot of an issuer's public keys, built from a JWKS document. Only public members
// are kept (a provider that publishes a private `d` by mistake does not make us hold it), `oct`
// keys are never taken from a key set (no HMAC with a published "key"), and a key is offered for an
// alg only when its type and curve fit that alg (no RS/HS or RS/PS confusion).

export const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const;
export type AsymmetricAlg = (typeof ASYMMETRIC_ALGS)[number];
export type HmacAlg = (typeof HMAC_ALGS)[number];
export type JwsAlg = AsymmetricAlg | HmacAlg;

/** Minimum HMAC secret bytes per RFC 7518 §3.2: at least the hash output. */
export const HMAC_MIN_BYTES: Record<HmacAlg, number> = { HS256: 32, HS384: 48, HS512: 64 };

export const isHmacAlg = (a: string): a is HmacAlg => (HMAC_ALGS as readonly string[]).includes(a);

/** The most keys one key set may hold; beyond that the document is refused (amplification bound). */
export const MAX_KEYS = 100;

export interface PublicJwk {
  readonly kty: 'RSA' | 'EC' | 'OKP';
  readonly kid?: string;
  readonly alg?: string;
  readonly crv?: string;
  readonly n?: string;
  readonly e?: string;
  readonly x?: string;
  readonly y?: string;
}

const EC_CURVE: Partial<Record<string, string>> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

/** Does this key's type (and curve) fit the alg? */
export function keyFitsAlg(k: PublicJwk, alg: string): boolean {
  if (k.alg !== undefined && k.alg !== alg) return false;
  switch (alg) {
    case 'RS256': case 'RS384': case 'RS512': case 'PS256': case 'PS384': case 'PS512':
      return k.kty === 'RSA';
    case 'ES256': case 'ES384': case 'ES512':
      return k.kty === 'EC' && k.crv === EC_CURVE[alg];
    case 'EdDSA': case 'Ed25519':
      return k.kty === 'OKP' && k.crv === 'Ed25519';
    default:
      return false;
  }
}

const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The public part of one JWK, or undefined when it is not a usable signature-verification key. */
function publicPart(raw: unknown): PublicJwk | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const j = raw as Record<string, unknown>;
  if (j.use !== undefined && j.use !== 'sig') return undefined;
  if (j.key_ops !== undefined && !(Array.isArray(j.key_ops) && j.key_ops.includes('verify'))) return undefined;
  if (j.kid !== undefined && !str(j.kid)) return undefined;
  if (j.alg !== undefined && !(ASYMMETRIC_ALGS as readonly unknown[]).includes(j.alg)) return undefined;
  const base = { ...(j.kid !== undefined ? { kid: j.kid as string } : {}), ...(j.alg !== undefined ? { alg: j.alg as string } : {}) };
  if (j.kty === 'RSA' && str(j.n) && str(j.e)) return { kty: 'RSA', ...base, n: j.n, e: j.e };
  if (j.kty === 'EC' && (j.crv === 'P-256' || j.crv === 'P-384' || j.crv === 'P-521') && str(j.x) && str(j.y)) return { kty: 'EC', ...base, crv: j.crv, x: j.x, y: j.y };
  if (j.kty === 'OKP' && j.crv === 'Ed25519' && str(j.x)) return { kty: 'OKP', ...base, crv: 'Ed25519', x: j.x };
  return undefined;
}

const fingerprint = (k: PublicJwk) => [k.kty, k.kid, k.alg, k.crv, k.n, k.e, k.x, k.y].join('|');

export class KeySet {
  readonly #byKid = new Map<string, PublicJwk[]>();
  readonly #all: PublicJwk[] = [];
  readonly #set = new Set<PublicJwk>();
  readonly #byPrint = new Map<string, PublicJwk>();

  /**
   * Builds a key set from a JWKS document; throws when it has no usable key. Keys unchanged since
   * `previous` keep their object identity, so cached verifications and jose's imported CryptoKeys
   * (a WeakMap on the JWK object) survive a refresh.
   */
  static fromJwks(doc: unknown, previous?: KeySet): KeySet {
    if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) throw new Error('not a JWKS document (no "keys" array)');
    const raw = (doc as { keys: unknown[] }).keys;
    const set = new KeySet();
    for (const r of raw) {
      const k = publicPart(r);
      if (k === undefined) continue;
      const print = fingerprint(k);
      if (set.#byPrint.has(print)) continue;
      if (set.#all.length >= MAX_KEYS) throw new Error(`the key set holds more than ${MAX_KEYS} keys`);
      const key = (previous !== undefined ? previous.#byPrint.get(print) : undefined) ?? Object.freeze(k);
      set.#byPrint.set(print, key);
      set.#all.push(key);
      set.#set.add(key);
      if (key.kid !== undefined) {
        const list = set.#byKid.get(key.kid);
        if (list) list.push(key);
        else set.#byKid.set(key.kid, [key]);
      }
    }
    if (set.#all.length === 0) throw new Error('the key set has no usable signature key (RSA, EC P-256/384/521, Ed25519)');
    return set;
  }

  get size(): number {
    return this.#all.length;
  }

  /** The key for a token's kid and alg; without a kid, the only key that fits the alg (if exactly one). */
  select(kid: string | undefined, alg: string): PublicJwk | undefined {
    if (kid !== undefined) return this.#byKid.get(kid)?.find((k) => keyFitsAlg(k, alg));
    let found: PublicJwk | undefined;
    for (const k of this.#all) {
      if (!keyFitsAlg(k, alg)) continue;
      if (found !== undefined) return undefined; // several candidates: a kid is required
      found = k;
    }
    return found;
  }

  /** Does any key fit this alg? */
  fits(alg: string): boolean {
    return this.#all.some((k) => keyFitsAlg(k, alg));
  }

  has(key: PublicJwk): boolean {
    return this.#set.has(key);
  }

  kids(): string[] {
    return [...this.#byKid.keys()];
  }
}
