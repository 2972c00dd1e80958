// The audit trail: one hash-chained JSON record per request (allowed and denied), written to
// rotating files (or stdout) by a buffered writer that never blocks the request path — except on
// routes with `audit: required`, where a record is durably written (fsync; on stdout: handed to
// the OS) before the upstream is called. An optional webhook copies every record off the host.
// Records name the caller (subject, issuer, auth method, roles) but never a token, key or secret.
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { RequestContext } from '../pipeline/context.js';
import { IDENTITY } from '../filters/common/identity.js';
import { GENESIS, seal } from './audit-chain.js';
import { createLineSink } from './line-sink.js';
import type { AuditWebhook } from './audit-webhook.js';

/** Records kept in memory while the disk refuses writes; beyond it the oldest are dropped (and counted). */
const MAX_PENDING = 100_000;

export interface AuditOptions {
  /** `file` (default): rotating files in `dir`; `stdout`: one chain on standard output. */
  sink?: 'file' | 'stdout';
  /** Folder the chain files go to; one file set per process (the pid is in the name). */
  dir: string | undefined;
  /** Also POST every sealed record and checkpoint here. */
  webhook?: AuditWebhook | undefined;
  /** HMAC key (from a secret reference); without it the chain is unkeyed. */
  key: Buffer | undefined;
  maxFileBytes: number;
  rotateIntervalMs: number;
  flushIntervalMs: number;
  /** Where the latest hash is copied every checkpointIntervalMs (a second sink). */
  checkpointPath: string | undefined;
  checkpointIntervalMs: number;
  includeNotFound: boolean;
  includePublic: boolean;
  log: Logger;
  /** Called on every write failure (metric). */
  onFailure?: () => void;
}

export interface AuditTrail {
  /** Queue the request's record (at response close). */
  record(ctx: RequestContext, now: number): void;
  /** Write the decision record durably before the upstream is called; false when it could not be. */
  recordRequired(ctx: RequestContext): Promise<boolean>;
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly stats: { written: number; failures: number };
}

export function auditRecord(ctx: RequestContext, now: number | undefined, phase: 'complete' | 'decision'): Record<string, unknown> {
  const id = ctx.get(IDENTITY);
  const ds = ctx.decisions;
  let authz: { allowed: boolean; code: string | undefined; policy?: string; statement?: string; condition?: string; enforced: boolean } | undefined;
  const limits: { filter: string; allowed: boolean; code: string | undefined; enforced: boolean }[] = [];
  let denied: string | undefined;
  if (ds) {
    for (const d of ds) {
      if (d.filter === 'authz') authz = { allowed: d.allowed, code: d.code, policy: d.policy, statement: d.statement, condition: d.condition, enforced: d.enforced };
      else if (d.filter === 'rate_limit' || d.filter === 'quota') limits.push({ filter: d.filter, allowed: d.allowed, code: d.code, enforced: d.enforced });
      if (!d.allowed && d.enforced) denied ??= d.code;
    }
  }
  const status = phase === 'complete' ? ctx.status : undefined;
  return {
    type: 'access',
    phase,
    time: new Date().toISOString(),
    request_id: ctx.id,
    trace_id: ctx.traceId ?? null,
    client_ip: ctx.clientIp,
    method: ctx.method,
    host: ctx.host,
    path: ctx.path,
    route: ctx.route?.name ?? null,
    identity: id ? { subject: id.subject, issuer: id.issuer ?? null, auth_method: id.kind, roles: [...id.roles] } : null,
    decision: phase === 'decision' ? 'allow' : denied !== undefined || (status !== undefined && status >= 400 && ctx.upstreamStart === 0) ? 'deny' : 'allow',
    code: phase === 'decision' ? null : (ctx.code ?? denied ?? null),
    authz: authz ?? null,
    limits,
    upstream_status: phase === 'complete' && ctx.upstreamHeadersAt > 0 ? ctx.status : null,
    status: status ?? null,
    duration_ms: now === undefined ? null : Math.round((now - ctx.start) * 1000) / 1000,
  };
}

export async function createAuditTrail(o: AuditOptions): Promise<AuditTrail> {
  const toStdout = o.sink === 'stdout';
  if (!toStdout && o.dir === undefined) throw new Error('audit.dir is required for the file sink');
  if (!toStdout) await mkdir(o.dir!, { recursive: true });
  // stdout shares the access log's writer, so lines of the two never interleave mid-line.
  const stdout = toStdout ? createLineSink(undefined) : undefined;
  const webhook = o.webhook;
  const stats = { written: 0, failures: 0 };
  let prev = GENESIS;
  let seq = 0;
  let fileIndex = 0;
  let file: FileHandle | undefined;
  let fileName = '';
  let fileBytes = 0;
  let fileOpenedAt = 0;
  // Records are sealed (hashed and chained) when written, in order, not on the request path.
  let pending: Record<string, unknown>[] = [];
  let writing: Promise<void> = Promise.resolve();
  let closed = false;

  const nextName = () => {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    return join(o.dir!, `gatehouse-audit-${stamp}-${process.pid}-${++fileIndex}.jsonl`);
  };
  const append = (rec: Record<string, unknown>) => {
    const s = seal({ seq: ++seq, prev, ...rec }, o.key);
    prev = s.hash;
    return s.line;
  };
  /** Every chain starts with a file_start record: one per file, or one for the stdout stream. */
  const startStdout = () => {
    fileName = 'stdout';
    fileOpenedAt = Date.now();
    const line = append({ type: 'file_start', time: new Date().toISOString(), previous_file: null, stream: 'stdout', pid: process.pid });
    stdout!.append(line);
    webhook?.push([line]);
  };
  const rotate = async () => {
    const previous = fileName;
    await file?.close();
    fileName = nextName();
    file = await open(fileName, 'a', 0o600);
    fileBytes = 0;
    fileOpenedAt = Date.now();
    // The first record of every file links it to the previous file's last record.
    const line = append({ type: 'file_start', time: new Date().toISOString(), previous_file: previous ? basename(previous) : null, pid: process.pid });
    await file.write(line);
    fileBytes += Buffer.byteLength(line);
    webhook?.push([line]);
  };
  const fail = (err: unknown) => {
    stats.failures++;
    o.onFailure?.();
    o.log.error({ err }, 'audit trail write failed; serving continues');
  };
  /** Writes the queued lines (serialized with every other write); `sync` also fsyncs. */
  const drain = (sync: boolean): Promise<void> => {
    writing = writing.then(async () => {
      if (pending.length === 0 && !sync) return;
      if (stdout !== undefined) {
        if (fileName === '') startStdout();
      } else if (!file || fileBytes >= o.maxFileBytes || Date.now() - fileOpenedAt >= o.rotateIntervalMs) await rotate();
      const batch = pending;
      pending = [];
      const savedSeq = seq;
      const savedPrev = prev;
      const lines: string[] = [];
      for (const rec of batch) lines.push(append(rec));
      const out = lines.join('');
      if (out !== '') {
        try {
          if (stdout !== undefined) stdout.append(out);
          else await file!.write(out);
        } catch (err) {
          // Keep the records (up to a bound) and the chain position for the next attempt.
          seq = savedSeq;
          prev = savedPrev;
          pending = batch.concat(pending).slice(-MAX_PENDING);
          throw err;
        }
        fileBytes += Buffer.byteLength(out);
        stats.written += batch.length;
        webhook?.push(lines);
      }
      if (sync) await (stdout !== undefined ? stdout.flush() : file!.sync());
    });
    const done = writing;
    writing = writing.catch(fail);
    return done;
  };

  await drain(true);
  const timer = setInterval(() => void drain(false).catch(() => undefined), o.flushIntervalMs);
  timer.unref();
  let checkpointTimer: NodeJS.Timeout | undefined;
  const checkpoint = async () => {
    if (!o.checkpointPath && !webhook) return;
    const line = `${JSON.stringify({ type: 'checkpoint', time: new Date().toISOString(), file: basename(fileName), seq, hash: prev, pid: process.pid })}\n`;
    // Off the host, a checkpoint is what reveals that the newest local records were deleted.
    webhook?.push([line]);
    if (!o.checkpointPath) return;
    const cp = await open(o.checkpointPath, 'a', 0o600);
    try {
      await cp.write(line);
    } finally {
      await cp.close();
    }
  };
  if (o.checkpointPath || webhook) {
    checkpointTimer = setInterval(() => void checkpoint().catch(fail), o.checkpointIntervalMs);
    checkpointTimer.unref();
  }

  return {
    stats,
    record(ctx, now) {
      if (closed) return;
      if (!o.includeNotFound && ctx.route === undefined) return;
      if (!o.includePublic && ctx.route !== undefined && ctx.get(IDENTITY) === undefined && ctx.decisions === undefined) return;
      pending.push(auditRecord(ctx, now, 'complete'));
    },
    async recordRequired(ctx) {
      if (closed) return false;
      pending.push(auditRecord(ctx, undefined, 'decision'));
      try {
        await drain(true);
        return true;
      } catch {
        return false;
      }
    },
    flush: () => drain(false).catch(() => undefined),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      if (checkpointTimer) clearInterval(checkpointTimer);
      await drain(true).catch(() => undefined);
      await checkpoint().catch(() => undefined);
      await writing;
      await file?.close().catch(() => undefined);
      await webhook?.close();
    },
  };
}
