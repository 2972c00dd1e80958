// Counters of one rate_limit or quota filter instance (one route), asserted by the tests and, with
// the observability issue, exported as gatehouse_ratelimit_decisions_total{route,filter,outcome}.
export interface TrafficMetrics {
  /** Requests admitted (every limit had room). */
  admitted: number;
  /** Requests refused with 429 by an enforcing limit. */
  refused: number;
  /** Refusals a shadow-mode limit would have made (not enforced). */
  shadowRefused: number;
  /** 503s: the store was unreachable and a limit is fail_closed. */
  unavailable: number;
  /** Decisions taken on the local fallback bucket while the store was unreachable. */
  fallback: number;
  /** Usage endpoint answers. */
  usage: number;
}

export const newTrafficMetrics = (): TrafficMetrics => ({ admitted: 0, refused: 0, shadowRefused: 0, unavailable: 0, fallback: 0, usage: 0 });
