// The counter store behind rate limits and quotas: one call decides every limit of one request,
// all-or-nothing. Two implementations stand behind it (memory.ts: exact in one process; redis.ts:
// exact across processes while Redis answers), checked by one contract suite.
import type { MaybePromise } from '../pipeline/filter.js';
import type { QuotaWindow } from './windows.js';

/** A token bucket (throttle) or a calendar-window counter (quota), compiled once at config load. */
export interface LimitSpec {
  /** The limit's name: its header item name and (with the partition) its counter key. */
  readonly name: string;
  readonly kind: 'bucket' | 'window';
  /** Bucket: tokens added per millisecond (config `rate` / 1000). */
  readonly ratePerMs: number;
  /** Bucket: capacity (config `burst`); window: requests allowed per window (config `limit`). */
  readonly capacity: number;
  /** Window: the calendar period (day/week/month in a time zone, with an offset). */
  readonly window: QuotaWindow | undefined;
  /** Counted and logged when it would refuse, but never refuses. */
  readonly shadow: boolean;
  /** While the shared store is unreachable: true = decide on a local fallback bucket, false = 503. */
  readonly failOpen: boolean;
  /** The same limit scaled to this instance's share, used as the local fallback (fail_open). */
  readonly fallback: LimitSpec | undefined;
}

/** What the store says about one limit for one request. */
export interface LimitOutcome {
  /** This limit had room for the request (for a shadow limit: would have admitted it). */
  ok: boolean;
  /** Requests left after this one (whole tokens for a bucket). */
  remaining: number;
  /** When refused: milliseconds until the request could be admitted. */
  waitMs: number;
  /** Milliseconds until the limit is back at its full capacity (bucket) or the window ends. */
  resetMs: number;
  /** The window length in milliseconds (bucket: time to refill from empty). */
  windowMs: number;
}

export interface CheckResult {
  /** Every enforcing limit had room; then every limit with room was charged one request. */
  admitted: boolean;
  /** One per spec, same order. */
  outcomes: LimitOutcome[];
  /** Where the decision came from: the configured store, or the local fallback while it is down. */
  source: 'store' | 'fallback';
}

/** The store could not decide and at least one limit is fail_closed: answer 503. */
export interface StoreUnavailable {
  unavailable: true;
  error: string;
}

export interface CheckOptions {
  /** Report only: compute the outcomes without charging anything (the usage endpoint). */
  dryRun?: boolean;
  /** For logs: the request this decision belongs to. */
  requestId?: string;
}

export interface LimitStore {
  readonly type: 'memory' | 'redis';
  /**
   * Decides `specs[i]` for the counter `keys[i]`, all-or-nothing: when any enforcing (non-shadow)
   * limit has no room, nothing is charged anywhere; otherwise each limit with room is charged one.
   */
  check(specs: readonly LimitSpec[], keys: readonly string[], opts?: CheckOptions): MaybePromise<CheckResult | StoreUnavailable>;
  /** Counters for tests and (later) /metrics. */
  readonly stats: LimitStoreStats;
  close(): Promise<void>;
}

export interface LimitStoreStats {
  /** Decisions made by the configured store. */
  decisions: number;
  /** Decisions made by the local fallback while the shared store was unreachable (fail_open). */
  fallbackDecisions: number;
  /** Requests answered 503 because the store was unreachable and a limit is fail_closed. */
  unavailable: number;
  /** Store calls that failed (timeouts, connection errors, script errors). */
  errors: number;
  /** Live counters dropped to stay within max_buckets (memory store): each forgets some usage. */
  evictions: number;
}

export const newStats = (): LimitStoreStats => ({ decisions: 0, fallbackDecisions: 0, unavailable: 0, errors: 0, evictions: 0 });

/** Time to refill an empty bucket, in ms (the bucket's effective window). */
export const bucketWindowMs = (s: LimitSpec): number => Math.ceil(s.capacity / s.ratePerMs);
