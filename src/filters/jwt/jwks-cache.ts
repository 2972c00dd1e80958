// Remote JSON documents (JWKS, OIDC discovery) fetched with bounds and kept fresh, shared by every
// route and every config snapshot that names the same URL with the same fetch policy: one fetch
// per provider, not one per route, and keys stay warm across a reload.
//
// Rules (SECURITY.md, JWKS refetch): fetch time and size bounded (1.5 s, 150 kB); refreshed on the
// provider's Cache-Control / Expires, clamped to [ttl_min, ttl_max] (10 min when it sends none);
// a fetch on demand (unknown kid, no keys yet) at most once per cooldown; when the provider is
// down the last good document is served until it is `max_stale` past its expiry, then nothing
// (fail closed). Timers are unref'd and cleared when the last user releases the document.
import { request } from 'undici';
import type { Logger } from 'pino';
import type { Clock } from '../../pipeline/filter.js';

export interface FetchPolicy {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly cooldownMs: number;
  readonly ttlMinMs: number;
  readonly ttlMaxMs: number;
  readonly ttlDefaultMs: number;
  /** How long past its expiry a document is still served while refreshes fail. */
  readonly maxStaleMs: number;
}

export const DEFAULT_FETCH_POLICY: FetchPolicy = {
  timeoutMs: 1_500,
  maxBytes: 150_000,
  cooldownMs: 30_000,
  ttlMinMs: 60_000,
  ttlMaxMs: 24 * 3_600_000,
  ttlDefaultMs: 10 * 60_000,
  maxStaleMs: 24 * 3_600_000,
};

/** Counters for the observability issue to wire (gatehouse_jwt_jwks_fetches_total, ..._failures_total). */
export interface RemoteStats {
  fetches: number;
  failures: number;
}

/** https, or http to a loopback address (tests, a local IdP); nothing else is fetched. */
export function isFetchableUrl(u: string): boolean {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]');
}

/** Freshness from Cache-Control max-age (minus Age) or Expires, clamped; the default when neither. */
export function ttlFromHeaders(headers: Record<string, string | string[] | undefined>, p: FetchPolicy, nowMs: number): number {
  const clamp = (ms: number) => Math.min(p.ttlMaxMs, Math.max(p.ttlMinMs, ms));
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(', ') : v);
  const cc = one(headers['cache-control'])?.toLowerCase();
  if (cc !== undefined) {
    if (/(?:^|[\s,])(?:no-store|no-cache)(?:$|[\s,=])/.test(cc)) return p.ttlMinMs;
    const m = /(?:^|[\s,])max-age\s*=\s*"?(\d{1,10})"?/.exec(cc);
    if (m) {
      const age = Number(one(headers['age']) ?? 0);
      return clamp(Number(m[1]) * 1000 - (Number.isFinite(age) ? age * 1000 : 0));
    }
  }
  const expires = one(headers['expires']);
  if (expires !== undefined) {
    const at = Date.parse(expires);
    if (Number.isNaN(at)) return p.ttlMinMs; // RFC 9111: an invalid Expires means "already expired"
    const date = Date.parse(one(headers['date']) ?? '');
    return clamp(at - (Number.isNaN(date) ? nowMs : date));
  }
  return p.ttlDefaultMs;
}

const JSON_TYPES = /^application\/(?:[a-z0-9.+-]*\+)?json$/;

/** GET a JSON document within the policy's time and size bounds. Redirects are not followed. */
export async function fetchJson(url: string, p: FetchPolicy, nowMs: number): Promise<{ json: unknown; ttlMs: number }> {
  const res = await request(url, {
    method: 'GET',
    headers: { accept: 'application/json, application/jwk-set+json' },
    signal: AbortSignal.timeout(p.timeoutMs),
    headersTimeout: p.timeoutMs,
    bodyTimeout: p.timeoutMs,
  });
  let consumed = false;
  try {
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
    const ct = String(res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!JSON_TYPES.test(ct)) throw new Error(`content-type "${ct.slice(0, 64)}" is not JSON`);
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > p.maxBytes) throw new Error(`document of ${declared} bytes exceeds ${p.maxBytes}`);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body) {
      total += (chunk as Buffer).length;
      if (total > p.maxBytes) throw new Error(`document exceeds ${p.maxBytes} bytes`);
      chunks.push(chunk as Buffer);
    }
    consumed = true;
    const json: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return { json, ttlMs: ttlFromHeaders(res.headers, p, nowMs) };
  } finally {
    if (!consumed) {
      // Abandon the rest of the body; undici reports the abort as an 'error' nobody else awaits.
      res.body.on('error', () => undefined);
      res.body.destroy();
    }
  }
}

/** One remote document with its freshness, cooldown and refresh timer. */
export class RemoteDoc<T> {
  readonly url: string;
  readonly stats: RemoteStats = { fetches: 0, failures: 0 };
  readonly #policy: FetchPolicy;
  readonly #parse: (json: unknown, previous: T | undefined) => T;
  readonly #clock: Clock;
  readonly #log: Logger;
  #value: T | undefined = undefined;
  /** Clock time after which the value is stale, and after which it is no longer served. */
  #expiresAt = -Infinity;
  #lastAttempt = -Infinity;
  #inflight: Promise<boolean> | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;
  #refs = 0;

  constructor(url: string, policy: FetchPolicy, parse: (json: unknown, previous: T | undefined) => T, clock: Clock, log: Logger) {
    this.url = url;
    this.#policy = policy;
    this.#parse = parse;
    this.#clock = clock;
    this.#log = log;
  }

  /** The last good document, unless it is more than max_stale past its expiry. */
  current(): T | undefined {
    return this.#value !== undefined && this.#clock.now() <= this.#expiresAt + this.#policy.maxStaleMs ? this.#value : undefined;
  }

  /**
   * Fetch now, joining a fetch already in flight. Without `force`, at most one fetch starts per
   * cooldown (a flood of unknown kids costs the provider one request per cooldown). Resolves to
   * whether a usable document is held afterwards; never rejects.
   */
  refresh(force = false): Promise<boolean> {
    if (this.#inflight !== undefined) return this.#inflight;
    if (!force && this.#clock.now() - this.#lastAttempt < this.#policy.cooldownMs) return Promise.resolve(this.current() !== undefined);
    this.#inflight = this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #fetch(): Promise<boolean> {
    const started = this.#clock.now();
    this.#lastAttempt = started;
    this.stats.fetches++;
    try {
      const { json, ttlMs } = await fetchJson(this.url, this.#policy, started);
      this.#value = this.#parse(json, this.#value);
      this.#expiresAt = this.#clock.now() + ttlMs;
      this.#schedule(ttlMs);
      return true;
    } catch (err) {
      this.stats.failures++;
      this.#log.warn({ url: this.url, err: (err as Error).message, serving_stale: this.current() !== undefined }, 'jwt: key document fetch failed');
      this.#schedule(Math.max(this.#policy.cooldownMs, 1_000));
      return this.current() !== undefined;
    }
  }

  #schedule(ms: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#refs === 0) return;
    this.#timer = setTimeout(() => void this.refresh(true), Math.min(ms, 2 ** 31 - 1));
    this.#timer.unref();
  }

  retain(): void {
    this.#refs++;
  }

  /** True when this was the last user: the timer is cleared and the document may be dropped. */
  release(): boolean {
    if (--this.#refs > 0) return false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    return true;
  }
}

/** The process-wide set of remote key documents, held in FilterDeps.jwks. */
export class JwksRegistry {
  readonly #docs = new Map<string, RemoteDoc<unknown>>();
  readonly #clock: Clock;
  readonly #log: Logger;

  constructor(clock: Clock, log: Logger) {
    this.#clock = clock;
    this.#log = log;
  }

  /**
   * The shared document for this key (kind, URL, expected issuer, fetch policy), created on first
   * use. Each acquire must be paired with one release.
   */
  acquire<T>(key: string, url: string, policy: FetchPolicy, parse: (json: unknown, previous: T | undefined) => T): RemoteDoc<T> {
    const fullKey = `${key}\n${url}\n${JSON.stringify(policy)}`;
    let doc = this.#docs.get(fullKey) as RemoteDoc<T> | undefined;
    if (doc === undefined) {
      doc = new RemoteDoc<T>(url, policy, parse, this.#clock, this.#log);
      this.#docs.set(fullKey, doc as RemoteDoc<unknown>);
    }
    doc.retain();
    return doc;
  }

  release(doc: RemoteDoc<unknown>): void {
    if (!doc.release()) return;
    for (const [k, d] of this.#docs) if (d === doc) this.#docs.delete(k);
  }

  /** Documents currently held (for tests and the admin API). */
  get size(): number {
    return this.#docs.size;
  }
}
