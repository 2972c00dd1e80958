// Waiting in tests: a fixed pause for work already in flight to land, and polling for a
// condition with a deadline.
import assert from 'node:assert/strict';

/** Resolves after `ms` (default 50 ms: long enough for a forwarded request to reach a local upstream). */
export const settle = (ms = 50): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 20 ms; fails the test with "timed out waiting for WHAT" once `ms` have passed. */
export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await settle(20);
  }
}

/**
 * Polls `cond` every 20 ms for at most `ms` and never fails: for callers that assert on the final
 * state themselves. Resolves with whether `cond` holds at the end.
 */
export async function pollUntil(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await settle(20);
  return cond();
}
