// Quota windows: calendar days, weeks (Monday first, ISO 8601) and months in UTC or an IANA time
// zone, optionally shifted by an offset (a day of 06:00 to 06:00, a week starting on Sunday with
// offset -1d...). Boundaries follow the zone's clock, so a day across a DST change is 23 or 25
// hours long. Computed only when a window ends; between boundaries a lookup is two comparisons.

export type QuotaPeriod = 'day' | 'week' | 'month';

const DAY_MS = 86_400_000;

export class QuotaWindow {
  readonly period: QuotaPeriod;
  readonly timeZone: string;
  readonly offsetMs: number;
  readonly #fmt: Intl.DateTimeFormat | undefined;
  #start = 0;
  #end = -1;
  #around: readonly [number, number, number, number] | undefined;

  constructor(period: QuotaPeriod, timeZone = 'UTC', offsetMs = 0) {
    this.period = period;
    this.timeZone = timeZone;
    this.offsetMs = offsetMs;
    // Throws RangeError for an unknown zone (config validation checks this first).
    this.#fmt =
      timeZone === 'UTC' || timeZone === 'Etc/UTC'
        ? undefined
        : new Intl.DateTimeFormat('en-US', {
            timeZone,
            hourCycle: 'h23',
            year: 'numeric',
            month: 'numeric',
            day: 'numeric',
            hour: 'numeric',
            minute: 'numeric',
            second: 'numeric',
          });
  }

  /** Start (inclusive) of the window holding `now`, in ms since the epoch. */
  start(now: number): number {
    this.#update(now);
    return this.#start;
  }

  /** End (exclusive) of the window holding `now`. */
  end(now: number): number {
    this.#update(now);
    return this.#end;
  }

  /**
   * [previous start, current start, next start, next end] around `now`: lets a store whose clock
   * may differ slightly from ours (Redis TIME) pick the window itself.
   */
  around(now: number): readonly [number, number, number, number] {
    this.#update(now);
    if (this.#around === undefined) {
      const [prevStart] = this.#compute(this.#start - 1);
      const [nextStart, nextEnd] = this.#compute(this.#end);
      this.#around = [prevStart, this.#start, nextStart, nextEnd];
    }
    return this.#around;
  }

  #update(now: number): void {
    if (now >= this.#start && now < this.#end) return;
    const [s, e] = this.#compute(now);
    this.#start = s;
    this.#end = e;
    this.#around = undefined;
  }

  /** [start, end) of the window holding `now` (no caching). */
  #compute(now: number): [number, number] {
    const shifted = now - this.offsetMs;
    const [y, m, d] = this.#localDate(shifted);
    let sy = y;
    let sm = m;
    let sd = d;
    let ey: number;
    let em: number;
    let ed: number;
    if (this.period === 'day') {
      [ey, em, ed] = norm(y, m, d + 1);
    } else if (this.period === 'week') {
      const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; // Monday = 0
      [sy, sm, sd] = norm(y, m, d - weekday);
      [ey, em, ed] = norm(sy, sm, sd + 7);
    } else {
      sd = 1;
      [ey, em, ed] = norm(y, m + 1, 1);
    }
    let start = this.#midnight(sy, sm, sd) + this.offsetMs;
    let end = this.#midnight(ey, em, ed) + this.offsetMs;
    // Guard against a zone whose midnight does not exist (a DST jump at 00:00): stay consistent.
    if (now < start) start = now;
    if (end <= now) end = now + 1;
    return [start, end];
  }

  /** Local calendar date [year, month 1-12, day] of an instant in the zone. */
  #localDate(t: number): [number, number, number] {
    if (this.#fmt === undefined) {
      const dt = new Date(t);
      return [dt.getUTCFullYear(), dt.getUTCMonth() + 1, dt.getUTCDate()];
    }
    const p = this.#parts(t);
    return [p[0], p[1], p[2]];
  }

  #parts(t: number): number[] {
    const out = [0, 0, 0, 0, 0, 0];
    for (const part of this.#fmt!.formatToParts(new Date(t))) {
      const i = PART_INDEX[part.type];
      if (i !== undefined) out[i] = Number(part.value);
    }
    return out;
  }

  /** The zone's offset from UTC at instant t, in ms (local - UTC). */
  #offsetAt(t: number): number {
    if (this.#fmt === undefined) return 0;
    const p = this.#parts(t);
    const asUtc = Date.UTC(p[0]!, p[1]! - 1, p[2]!, p[3]!, p[4]!, p[5]!);
    return asUtc - (t - (((t % 1000) + 1000) % 1000));
  }

  /** The instant local time in the zone reads y-m-d 00:00:00. */
  #midnight(y: number, m: number, d: number): number {
    const guess = Date.UTC(y, m - 1, d);
    if (this.#fmt === undefined) return guess;
    const o1 = this.#offsetAt(guess);
    let t = guess - o1;
    const o2 = this.#offsetAt(t);
    if (o2 !== o1) t = guess - o2;
    return t;
  }
}

const PART_INDEX: Record<string, number> = { year: 0, month: 1, day: 2, hour: 3, minute: 4, second: 5 };

/** Normalizes an overflowing y-m-d (day 0, day 32, month 13) through Date.UTC. */
function norm(y: number, m: number, d: number): [number, number, number] {
  const dt = new Date(Date.UTC(y, m - 1, d));
  return [dt.getUTCFullYear(), dt.getUTCMonth() + 1, dt.getUTCDate()];
}

/** True when `tz` is an IANA zone name this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const PERIOD_NOMINAL_MS: Record<QuotaPeriod, number> = { day: DAY_MS, week: 7 * DAY_MS, month: 30 * DAY_MS };
