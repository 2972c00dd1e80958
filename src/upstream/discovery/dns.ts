// DNS discovery: every A (and/or AAAA) record of the name becomes an endpoint on the configured
// port. Re-resolved when the shortest TTL runs out, clamped to [min_refresh, max_refresh]. A
// failed lookup keeps the last answer (retried after min_refresh, backing off to max_refresh); an
// authoritative empty answer (ENOTFOUND, ENODATA) empties the set.
import { promises as dns } from 'node:dns';
import type { EndpointSpec } from '../endpoint.js';

export interface DnsResolver {
  resolve4(host: string, opts: { ttl: true }): Promise<{ address: string; ttl: number }[]>;
  resolve6(host: string, opts: { ttl: true }): Promise<{ address: string; ttl: number }[]>;
}

export const systemResolver: DnsResolver = new dns.Resolver();

export interface DnsSettings {
  scheme: string;
  hostname: string;
  port: string;
  family: 4 | 6 | 'any';
  minRefreshMs: number;
  maxRefreshMs: number;
}

const EMPTY_ANSWER = new Set(['ENOTFOUND', 'ENODATA']);

export class DnsDiscovery {
  readonly #s: DnsSettings;
  readonly #resolver: DnsResolver;
  readonly #update: (specs: EndpointSpec[]) => void;
  readonly #onError: (err: Error) => void;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #failures = 0;
  /** Resolutions so far (for /clusters). */
  resolutions = 0;
  lastError: string | undefined;
  nextRefreshMs = 0;

  constructor(s: DnsSettings, resolver: DnsResolver, update: (specs: EndpointSpec[]) => void, onError: (err: Error) => void) {
    this.#s = s;
    this.#resolver = resolver;
    this.#update = update;
    this.#onError = onError;
  }

  start(): void {
    void this.#refresh();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  async #lookup(family: 4 | 6): Promise<{ address: string; ttl: number }[]> {
    try {
      return family === 4 ? await this.#resolver.resolve4(this.#s.hostname, { ttl: true }) : await this.#resolver.resolve6(this.#s.hostname, { ttl: true });
    } catch (err) {
      if (EMPTY_ANSWER.has((err as { code?: string }).code ?? '')) return [];
      throw err;
    }
  }

  async #refresh(): Promise<void> {
    const s = this.#s;
    let delay: number;
    try {
      const families: (4 | 6)[] = s.family === 'any' ? [4, 6] : [s.family];
      const records = (await Promise.all(families.map((f) => this.#lookup(f)))).flat();
      if (this.#closed) return;
      this.resolutions++;
      this.#failures = 0;
      this.lastError = undefined;
      const specs = records.map((r) => ({
        origin: `${s.scheme}//${r.address.includes(':') ? `[${r.address}]` : r.address}:${s.port}`,
        weight: 1,
        priority: 0,
      }));
      this.#update(specs);
      const ttl = records.length === 0 ? s.maxRefreshMs : Math.min(...records.map((r) => r.ttl)) * 1000;
      delay = Math.min(s.maxRefreshMs, Math.max(s.minRefreshMs, ttl));
    } catch (err) {
      if (this.#closed) return;
      this.#failures++;
      this.lastError = (err as Error).message;
      this.#onError(err as Error);
      delay = Math.min(s.maxRefreshMs, s.minRefreshMs * 2 ** Math.min(this.#failures - 1, 16));
    }
    this.nextRefreshMs = delay;
    this.#timer = setTimeout(() => void this.#refresh(), delay);
    this.#timer.unref();
  }
}
