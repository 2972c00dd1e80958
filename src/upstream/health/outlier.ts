// Passive health (outlier detection), Envoy semantics: consecutive 5xx, consecutive gateway
// failures (502/503/504) and consecutive local-origin failures (connect failures, resets,
// timeouts) eject an endpoint for base_ejection_time × its ejection count (capped), never more
// than max_ejection_percent of the endpoints at once (but always at least one). Unless
// split_external_local_origin_errors, a local-origin failure counts as a 503.
import type { Endpoint } from '../endpoint.js';

export interface OutlierSettings {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  consecutiveLocalFailure: number;
  split: boolean;
  baseEjectionMs: number;
  maxEjectionMs: number;
  intervalMs: number;
  maxEjectionPercent: number;
}

export const OUTLIER_DEFAULTS: OutlierSettings = {
  consecutive5xx: 5,
  consecutiveGatewayFailure: 0,
  consecutiveLocalFailure: 5,
  split: false,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  intervalMs: 10_000,
  maxEjectionPercent: 10,
};

export interface OutlierHost {
  /** The endpoints of the cluster now (for max_ejection_percent). */
  endpoints(): readonly Endpoint[];
  /** Health changed: the balancer must be rebuilt. */
  changed(): void;
  now(): number;
}

export class OutlierDetector {
  readonly settings: OutlierSettings;
  readonly #host: OutlierHost;
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(settings: OutlierSettings, host: OutlierHost) {
    this.settings = settings;
    this.#host = host;
  }

  /** An attempt got a response head. */
  onStatus(ep: Endpoint, status: number): void {
    // A head means the connection worked: local-origin success.
    ep.consecutiveLocalFailure = 0;
    if (status < 500) {
      ep.consecutive5xx = 0;
      ep.consecutiveGatewayFailure = 0;
      return;
    }
    this.#external(ep, status);
  }

  /** An attempt failed without a response head (connect failure, reset, timeout). */
  onLocalFailure(ep: Endpoint): void {
    const s = this.settings;
    if (s.split) {
      if (++ep.consecutiveLocalFailure >= s.consecutiveLocalFailure && s.consecutiveLocalFailure > 0) this.#eject(ep, 'consecutive_local_origin_failure');
      return;
    }
    this.#external(ep, 503);
  }

  #external(ep: Endpoint, status: number): void {
    const s = this.settings;
    ep.consecutive5xx++;
    if (status >= 502 && status <= 504) ep.consecutiveGatewayFailure++;
    else ep.consecutiveGatewayFailure = 0;
    if (s.consecutive5xx > 0 && ep.consecutive5xx >= s.consecutive5xx) this.#eject(ep, 'consecutive_5xx');
    else if (s.consecutiveGatewayFailure > 0 && ep.consecutiveGatewayFailure >= s.consecutiveGatewayFailure) this.#eject(ep, 'consecutive_gateway_failure');
  }

  #eject(ep: Endpoint, why: string): void {
    if (ep.ejected || ep.removed || this.#closed) return;
    const all = this.#host.endpoints();
    let ejected = 0;
    for (const e of all) if (e.ejected) ejected++;
    const allowed = Math.max(1, Math.floor((all.length * this.settings.maxEjectionPercent) / 100));
    if (ejected >= allowed) return;
    const s = this.settings;
    const now = this.#host.now();
    // The multiplier drops by one per interval spent in since the last uneject (Envoy decays it
    // on each interval tick without an ejection).
    if (ep.ejectionLevel > 0 && ep.unejectedAt > 0) ep.ejectionLevel = Math.max(0, ep.ejectionLevel - Math.floor((now - ep.unejectedAt) / s.intervalMs));
    ep.ejectionLevel++;
    const duration = Math.min(s.baseEjectionMs * ep.ejectionLevel, Math.max(s.maxEjectionMs, s.baseEjectionMs));
    ep.ejected = true;
    ep.ejectedAt = now;
    ep.consecutive5xx = 0;
    ep.consecutiveGatewayFailure = 0;
    ep.consecutiveLocalFailure = 0;
    ep.stats.ejections[why] = (ep.stats.ejections[why] ?? 0) + 1;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.uneject(ep);
    }, duration);
    t.unref();
    this.#timers.add(t);
    this.#host.changed();
  }

  /** Ends an ejection (its timer, or a passing active health check). */
  uneject(ep: Endpoint): void {
    if (!ep.ejected) return;
    ep.ejected = false;
    ep.unejectedAt = this.#host.now();
    this.#host.changed();
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}
