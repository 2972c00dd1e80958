// Circuit breakers per cluster (Envoy semantics, defaults 1024 / 1024 / 1024 / 3): counters the
// request path bumps with plain arithmetic, and the admission checks made before a dispatch.
// Overflow is answered at once (503 upstream.overflow) instead of queueing without bound.

export interface BreakerLimits {
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
  /** Retry budget: when set it replaces maxRetries. */
  budget: { percent: number; minConcurrency: number } | undefined;
}

export const DEFAULT_BREAKER_LIMITS: BreakerLimits = { maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, budget: undefined };

/** Overflow counters by kind, carried across reloads with the cluster's stats. */
export interface OverflowStats {
  max_requests: number;
  max_pending_requests: number;
  max_retries: number;
  retry_budget: number;
}

export const newOverflowStats = (): OverflowStats => ({ max_requests: 0, max_pending_requests: 0, max_retries: 0, retry_budget: 0 });

export class Breaker {
  /** Attempts in flight across the cluster (requests and retries). */
  active = 0;
  /** Attempts dispatched that have not got a connection yet. */
  pending = 0;
  /** Retry attempts in flight. */
  retries = 0;
  readonly limits: BreakerLimits;
  readonly overflow: OverflowStats;

  constructor(limits: BreakerLimits, overflow: OverflowStats) {
    this.limits = limits;
    this.overflow = overflow;
  }

  /** Undefined when a new request may be dispatched; otherwise the limit it would break (counted). */
  admit(): 'max_requests' | 'max_pending_requests' | undefined {
    if (this.active >= this.limits.maxRequests) {
      this.overflow.max_requests++;
      return 'max_requests';
    }
    if (this.pending >= this.limits.maxPendingRequests) {
      this.overflow.max_pending_requests++;
      return 'max_pending_requests';
    }
    return undefined;
  }

  /** Takes a retry slot (release with retryDone()); false, counted, when the limit or budget is spent. */
  admitRetry(): boolean {
    const b = this.limits.budget;
    if (b !== undefined) {
      // Envoy retry_budget: retries in flight ≤ max(min_retry_concurrency, percent × (active + pending)).
      const allowed = Math.max(b.minConcurrency, (b.percent / 100) * this.active);
      if (this.retries + 1 > allowed) {
        this.overflow.retry_budget++;
        return false;
      }
    } else if (this.retries >= this.limits.maxRetries) {
      this.overflow.max_retries++;
      return false;
    }
    this.retries++;
    return true;
  }

  retryDone(): void {
    this.retries--;
  }
}
