// Where one issuer's verification keys come from: a static key set (inline or file), a shared
// HMAC secret, or the provider (OIDC discovery → jwks_uri, or jwks_uri directly) through the shared
// JwksRegistry. The request path asks `lookup`; only when that fails does it `refetch`, which the
// registry bounds to one fetch per cooldown.
import { KeySet, type PublicJwk } from './keys.js';
import { isFetchableUrl, type FetchPolicy, type JwksRegistry, type RemoteDoc } from './jwks-cache.js';

export type Lookup = PublicJwk | Uint8Array | 'unknown_kid' | 'keys_unavailable';

export interface KeySource {
  lookup(kid: string | undefined, alg: string): Lookup;
  /** A fetch on demand (cooldown-bounded; joins one in flight). Never rejects. */
  refetch(): Promise<void>;
  /** Is this key still in the issuer's current key set? (cached verifications are dropped when not) */
  trusts(key: PublicJwk | Uint8Array): boolean;
  close(): void;
}

export class SecretKeys implements KeySource {
  readonly #secret: Uint8Array;
  constructor(secret: Uint8Array) {
    this.#secret = secret;
  }
  lookup(): Lookup {
    return this.#secret;
  }
  async refetch(): Promise<void> {}
  trusts(key: PublicJwk | Uint8Array): boolean {
    return key === this.#secret;
  }
  close(): void {}
}

export class StaticKeys implements KeySource {
  readonly #set: KeySet;
  constructor(set: KeySet) {
    this.#set = set;
  }
  lookup(kid: string | undefined, alg: string): Lookup {
    return this.#set.select(kid, alg) ?? 'unknown_kid';
  }
  async refetch(): Promise<void> {}
  trusts(key: PublicJwk | Uint8Array): boolean {
    return !(key instanceof Uint8Array) && this.#set.has(key);
  }
  close(): void {}
}

export interface DiscoveryDoc {
  readonly jwks_uri: string;
}

/** The discovery document must name the issuer we asked about, exactly (OIDC Discovery §4.3). */
export function parseDiscovery(issuer: string) {
  return (json: unknown): DiscoveryDoc => {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('discovery document is not a JSON object');
    const d = json as Record<string, unknown>;
    if (d.issuer !== issuer) throw new Error('discovery document names a different issuer');
    if (typeof d.jwks_uri !== 'string' || !isFetchableUrl(d.jwks_uri)) throw new Error('discovery document has no usable https jwks_uri');
    return { jwks_uri: d.jwks_uri };
  };
}

const parseJwks = (json: unknown, previous: KeySet | undefined) => KeySet.fromJwks(json, previous);

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

export class RemoteKeys implements KeySource {
  readonly #registry: JwksRegistry;
  readonly #policy: FetchPolicy;
  readonly #disc: RemoteDoc<DiscoveryDoc> | undefined;
  #jwks: RemoteDoc<KeySet> | undefined;
  #closed = false;

  /** With `jwksUri` the key set is fetched directly; without it, through the issuer's discovery document. */
  constructor(registry: JwksRegistry, issuer: string, jwksUri: string | undefined, policy: FetchPolicy) {
    this.#registry = registry;
    this.#policy = policy;
    if (jwksUri !== undefined) this.#jwks = registry.acquire('jwks', jwksUri, policy, parseJwks);
    else this.#disc = registry.acquire(`discovery ${issuer}`, discoveryUrl(issuer), policy, parseDiscovery(issuer));
  }

  /** Follows the discovery document to its current jwks_uri (which a provider may change). */
  #keys(): KeySet | undefined {
    if (this.#disc !== undefined) {
      const d = this.#disc.current();
      if (d !== undefined && d.jwks_uri !== this.#jwks?.url && !this.#closed) {
        const old = this.#jwks;
        this.#jwks = this.#registry.acquire('jwks', d.jwks_uri, this.#policy, parseJwks);
        if (old !== undefined) this.#registry.release(old as RemoteDoc<unknown>);
        if (this.#jwks.current() === undefined) void this.#jwks.refresh();
      }
    }
    return this.#jwks?.current();
  }

  lookup(kid: string | undefined, alg: string): Lookup {
    const set = this.#keys();
    if (set === undefined) return 'keys_unavailable';
    return set.select(kid, alg) ?? 'unknown_kid';
  }

  async refetch(): Promise<void> {
    if (this.#disc !== undefined && this.#disc.current() === undefined) await this.#disc.refresh();
    this.#keys();
    if (this.#jwks !== undefined) await this.#jwks.refresh();
  }

  /** Start fetching now, unless the shared documents are already warm, so the first request usually finds keys. */
  start(): void {
    if (this.#keys() === undefined) void this.refetch();
  }

  trusts(key: PublicJwk | Uint8Array): boolean {
    return !(key instanceof Uint8Array) && this.#keys()?.has(key) === true;
  }

  /** Counters of the underlying documents. */
  stats(): { discovery?: RemoteDoc<DiscoveryDoc>['stats']; jwks?: RemoteDoc<KeySet>['stats'] } {
    return { ...(this.#disc ? { discovery: this.#disc.stats } : {}), ...(this.#jwks ? { jwks: this.#jwks.stats } : {}) };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#jwks !== undefined) this.#registry.release(this.#jwks as RemoteDoc<unknown>);
    if (this.#disc !== undefined) this.#registry.release(this.#disc as RemoteDoc<unknown>);
  }
}
