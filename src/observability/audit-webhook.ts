// The audit trail's HTTP sink: every sealed record (and every checkpoint) is also POSTed, in
// order, as NDJSON batches to a collector (a SIEM's HTTP intake, a log pipeline). The local
// chain stays the record of truth; the webhook copies it off the host, where someone who owns
// the gateway's disk cannot reach it. One batch is in flight at a time so the receiver sees the
// chain in order; a failed batch is retried with growing backoff, and while the receiver is down
// lines queue up to max_queue, beyond which the oldest are dropped and counted.
import { Pool } from 'undici';
import type { Logger } from 'pino';

export interface AuditWebhookOptions {
  url: string;
  /** Sent with every POST (an Authorization header from a secret reference, say); never logged. */
  headers: Record<string, string>;
  batchSize: number;
  flushIntervalMs: number;
  timeoutMs: number;
  maxQueue: number;
  log: Logger;
  /** A batch was refused or could not be delivered (each attempt). */
  onFailure?: () => void;
  /** Lines dropped: the queue overflowed, or the receiver refused a batch as malformed. */
  onDropped?: (n: number) => void;
  /** First retry delay; doubles up to maxBackoffMs (tests shorten both). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface AuditWebhook {
  push(lines: readonly string[]): void;
  /** Sends what is queued, giving up after `deadlineMs` (graceful shutdown; default twice the POST timeout). */
  close(deadlineMs?: number): Promise<void>;
  readonly stats: { sent: number; failures: number; dropped: number; queued(): number };
}

/** Statuses that say the batch itself is unacceptable: sending it again cannot succeed. */
const PERMANENT = new Set([400, 413, 415, 422]);

export function createAuditWebhook(o: AuditWebhookOptions): AuditWebhook {
  const url = new URL(o.url);
  const pool = new Pool(url.origin, { connections: 1, connect: { timeout: o.timeoutMs } });
  const path = `${url.pathname}${url.search}`;
  const headers = { ...o.headers, 'content-type': 'application/x-ndjson' };
  const base = o.baseBackoffMs ?? 200;
  const max = o.maxBackoffMs ?? 30_000;
  let queue: string[] = [];
  let sending = false;
  let closing = false;
  let backoff = 0;
  let timer: NodeJS.Timeout | undefined;
  const stats = { sent: 0, failures: 0, dropped: 0, queued: () => queue.length };

  const drop = (n: number) => {
    stats.dropped += n;
    o.onDropped?.(n);
  };
  const schedule = (ms: number) => {
    if (timer !== undefined || closing) return;
    timer = setTimeout(() => {
      timer = undefined;
      void send();
    }, ms);
    timer.unref();
  };

  /** One POST of the oldest batch; true when it was delivered or permanently refused. */
  const postBatch = async (batch: string[]): Promise<boolean> => {
    try {
      const res = await pool.request({ path, method: 'POST', headers, body: batch.join(''), headersTimeout: o.timeoutMs, bodyTimeout: o.timeoutMs });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) return true;
      stats.failures++;
      o.onFailure?.();
      if (PERMANENT.has(res.statusCode)) {
        o.log.error({ status: res.statusCode, records: batch.length }, 'audit webhook refused a batch as malformed; it is dropped (the local chain keeps it)');
        drop(batch.length);
        return true;
      }
      o.log.warn({ status: res.statusCode, records: batch.length }, 'audit webhook answered an error; retrying');
    } catch (err) {
      stats.failures++;
      o.onFailure?.();
      o.log.warn({ err: { code: (err as { code?: string }).code, message: (err as Error).message }, records: batch.length }, 'audit webhook unreachable; retrying');
    }
    return false;
  };

  const send = async (): Promise<void> => {
    if (sending) return;
    sending = true;
    try {
      while (queue.length > 0) {
        // The batch leaves the queue while it is in flight, so an overflow meanwhile drops the
        // oldest *waiting* lines, never lines of this batch (which a later slice would then
        // have mistaken for sent ones).
        const batch = queue.splice(0, o.batchSize);
        if (!(await postBatch(batch))) {
          queue = batch.concat(queue);
          trim();
          backoff = Math.min(max, backoff === 0 ? base : backoff * 2);
          // Full jitter keeps a fleet of gateways from retrying in step against one collector.
          schedule(closing ? 0 : Math.floor(backoff / 2 + (Math.random() * backoff) / 2));
          return;
        }
        backoff = 0;
        stats.sent += batch.length;
        if (closing && queue.length === 0) return;
      }
    } finally {
      sending = false;
    }
  };

  /** At most max_queue lines wait (plus one batch in flight); beyond that the oldest are dropped. */
  const trim = () => {
    if (queue.length <= o.maxQueue) return;
    const over = queue.length - o.maxQueue;
    queue = queue.slice(over);
    drop(over);
    o.log.error({ dropped: over }, 'audit webhook queue is full; the oldest records were dropped from it (the local chain keeps them)');
  };

  return {
    stats,
    push(lines) {
      if (lines.length === 0) return;
      for (const l of lines) queue.push(l);
      trim();
      if (backoff > 0) return; // a retry is scheduled; it will take these too
      if (queue.length >= o.batchSize) void send();
      else schedule(o.flushIntervalMs);
    },
    async close(deadlineMs = 2 * o.timeoutMs) {
      closing = true;
      if (timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
      }
      const until = Date.now() + deadlineMs;
      // A batch in flight counts too: if it fails it comes back to the queue.
      while ((queue.length > 0 || sending) && Date.now() < until) {
        if (sending) await new Promise((r) => setTimeout(r, 10));
        else {
          const before = queue.length;
          await send();
          if (queue.length === before) await new Promise((r) => setTimeout(r, Math.min(100, Math.max(0, until - Date.now()))));
        }
      }
      if (queue.length > 0) {
        o.log.error({ undelivered: queue.length }, 'audit webhook: records still undelivered at shutdown (the local chain keeps them)');
        drop(queue.length);
        queue = [];
      }
      await pool.close().catch(() => undefined);
    },
  };
}
