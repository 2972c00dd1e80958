// The edge layer's own log: one JSON line per request on which an edge filter decided something
// (authn, authz, rate limit, quota, cors), with the request id so it joins the access log.
// Fields: time, request_id, trace_id (only when traced), client_ip, method, host, path, route,
// status, code, decisions (the same objects as the access log's `decisions`). Never header
// values, tokens or keys.
import type { RequestContext } from '../pipeline/context.js';
import { isoTime, traceField } from './access-log.js';
import { formatDecisions, quoted } from './json-text.js';
import { createLineSink } from './line-sink.js';

export interface DecisionLog {
  write(ctx: RequestContext): void;
  reopen(): void;
  flush(): Promise<void>;
}

export function formatDecisionLine(ctx: RequestContext, wallClock: number): string {
  return (
    `{"time":"${isoTime(wallClock)}","request_id":${quoted(ctx.id)}${traceField(ctx.traceId)},"client_ip":"${ctx.clientIp}"` +
    `,"method":${quoted(ctx.method)},"host":${quoted(ctx.host)},"path":${quoted(ctx.path)}` +
    `,"route":${ctx.route ? `"${ctx.route.name}"` : 'null'},"status":${ctx.status},"code":${ctx.code === undefined ? 'null' : quoted(ctx.code)}` +
    `,"decisions":${formatDecisions(ctx.decisions ?? [])}}\n`
  );
}

export function createDecisionLog(opts: { enabled: boolean; path?: string | undefined }): DecisionLog {
  if (!opts.enabled) return { write() {}, reopen() {}, flush: async () => {} };
  const sink = createLineSink(opts.path);
  return {
    write(ctx) {
      if (ctx.decisions !== undefined) sink.append(formatDecisionLine(ctx, Date.now()));
    },
    reopen: () => sink.reopen(),
    flush: () => sink.flush(),
  };
}
