// Active HTTP health checks: one undici Client per endpoint (its own connection, never the
// request path's pool), a GET of `path` every interval plus a random 0..jitter, thresholds in
// both directions. Timers are unref'd and stopped by close() (cluster retired) or remove()
// (endpoint left the set).
import { Client } from 'undici';
import type { Endpoint } from '../endpoint.js';

export interface HealthCheckSettings {
  path: string;
  host: string | undefined;
  intervalMs: number;
  timeoutMs: number;
  jitterMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** Undefined: 200-299. */
  expected: ReadonlySet<number> | undefined;
}

interface Probe {
  client: Client;
  timer: NodeJS.Timeout | undefined;
  passes: number;
  failures: number;
  running: boolean;
}

export interface HealthHost {
  changed(ep: Endpoint, healthy: boolean): void;
  random(): number;
}

export class ActiveHealthChecker {
  readonly settings: HealthCheckSettings;
  readonly #connect: object;
  readonly #host: HealthHost;
  readonly #probes = new Map<Endpoint, Probe>();
  #closed = false;

  constructor(settings: HealthCheckSettings, connect: object, host: HealthHost) {
    this.settings = settings;
    this.#connect = connect;
    this.#host = host;
  }

  add(ep: Endpoint): void {
    if (this.#closed || this.#probes.has(ep)) return;
    const client = new Client(ep.origin, { connect: this.#connect, pipelining: 1, keepAliveTimeout: Math.max(this.settings.intervalMs * 2, 4_000) });
    const p: Probe = { client, timer: undefined, passes: 0, failures: 0, running: false };
    this.#probes.set(ep, p);
    // The first probe at once (jittered), so a dead endpoint is found before the first interval.
    this.#schedule(ep, p, this.#host.random() * Math.min(this.settings.jitterMs, 100));
  }

  remove(ep: Endpoint): void {
    const p = this.#probes.get(ep);
    if (p === undefined) return;
    this.#probes.delete(ep);
    if (p.timer !== undefined) clearTimeout(p.timer);
    void p.client.destroy().catch(() => undefined);
  }

  close(): void {
    this.#closed = true;
    for (const ep of [...this.#probes.keys()]) this.remove(ep);
  }

  #schedule(ep: Endpoint, p: Probe, delay: number): void {
    if (this.#closed || this.#probes.get(ep) !== p) return;
    p.timer = setTimeout(() => void this.#probe(ep, p), delay);
    p.timer.unref();
  }

  async #probe(ep: Endpoint, p: Probe): Promise<void> {
    const s = this.settings;
    let ok = false;
    try {
      const host = s.host ?? new URL(ep.origin).host;
      const res = await p.client.request({
        method: 'GET',
        path: s.path,
        headers: { host, 'user-agent': 'gatehouse-health-check' },
        headersTimeout: s.timeoutMs,
        bodyTimeout: s.timeoutMs,
        signal: AbortSignal.timeout(s.timeoutMs),
      });
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      ok = s.expected === undefined ? res.statusCode >= 200 && res.statusCode < 300 : s.expected.has(res.statusCode);
    } catch {
      ok = false;
    }
    if (this.#probes.get(ep) !== p) return;
    if (ok) {
      ep.stats.healthChecksPassed++;
      p.failures = 0;
      p.passes++;
      if (!ep.healthy && p.passes >= s.healthyThreshold) this.#host.changed(ep, true);
      else if (ep.ejected) this.#host.changed(ep, true);
    } else {
      ep.stats.healthChecksFailed++;
      p.passes = 0;
      p.failures++;
      if (ep.healthy && p.failures >= s.unhealthyThreshold) this.#host.changed(ep, false);
    }
    this.#schedule(ep, p, s.intervalMs + this.#host.random() * s.jitterMs);
  }
}
