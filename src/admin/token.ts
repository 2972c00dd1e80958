// admin.token: the bearer token every admin endpoint but /healthz and /ready requires. It follows
// reloads (a rotated secret reference takes effect without a restart), and during secrets.overlap
// a rotated token's previous value is still accepted, until its deadline on the clock.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../pipeline/filter.js';
import type { PreviousSecret } from '../secrets/history.js';

const digest = (authorization: string) => createHash('sha256').update(authorization).digest();

export class AdminToken {
  readonly #clock: Clock;
  readonly #say: (line: string) => void;
  #expected: Buffer | undefined;
  #previous: readonly { readonly digest: Buffer; readonly until: number }[] = [];
  /** Deadlines of previous values already reported as used (one line each). */
  #reported = new Set<number>();

  constructor(clock: Clock, say: (line: string) => void) {
    this.#clock = clock;
    this.#say = say;
  }

  /** The token of the running config, with the previous values of its rotations. */
  set(token: string | undefined, previous: readonly PreviousSecret[]): void {
    if (token === undefined) {
      // Dropping the token would open the admin API to anyone who reaches it: not on a reload.
      if (this.#expected !== undefined) this.#say('warning: admin.token was removed from the config; the admin API keeps requiring the running token until restart');
      return;
    }
    this.#expected = digest(`Bearer ${token}`);
    this.#previous = previous.map((p) => ({ digest: digest(`Bearer ${p.value}`), until: p.until }));
  }

  get required(): boolean {
    return this.#expected !== undefined;
  }

  /** Compared as SHA-256 digests with timingSafeEqual: constant time, whatever the lengths. */
  check(authorization: string | undefined): boolean {
    const expected = this.#expected;
    if (expected === undefined) return true;
    const got = digest(authorization ?? '');
    if (timingSafeEqual(got, expected)) return true;
    const now = this.#clock.now();
    for (const p of this.#previous) {
      if (now < p.until && timingSafeEqual(got, p.digest)) {
        if (!this.#reported.has(p.until)) {
          this.#reported.add(p.until);
          this.#say(`admin: a request used the previous admin.token; accepted until ${new Date(p.until).toISOString()} (secrets.overlap)`);
        }
        return true;
      }
    }
    return false;
  }
}
