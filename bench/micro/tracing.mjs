// Per-request CPU of tracing with sample_ratio 0.01 (issue 7): SERVER span + one CLIENT span +
// traceparent injection + both ends, on the real SDK, without sockets. Run after `npm run build`:
//   node bench/micro/tracing.mjs
// The exporter points at a closed port with a long batching delay, so nothing is sent while
// measuring; the 1% recorded spans are queued (and dropped at exit).
import { createTracing } from '../../dist/src/observability/tracing.js';
import pino from 'pino';
import { bestNsPerOp } from './timing.mjs';
const tr = await createTracing({ endpoint: 'http://127.0.0.1:9/v1/traces', sample_ratio: 0.01, schedule_delay: 100000, max_queue_size: 100000 }, { version: 'x', log: pino({ level: 'error' }) });
const snap = { config: { routes: [{ match: { path: { prefix: '/' } } }] } };
const route = { name: 'r', index: 0, cluster: { name: 'c' } };
const endpoint = { origin: 'http://127.0.0.1:9000' };
const req = { socket: { localPort: 8080 }, httpVersion: '1.1' };
const ctx = { id: 'abc', method: 'GET', path: '/x', scheme: 'http', host: 'h', clientIp: '127.0.0.1', req, start: 0, route, status: 200, code: undefined, trace: undefined, traceId: undefined };
const base = ['accept', '*/*', 'user-agent', 'wrk', 'host', 'h', 'x-forwarded-for', '1.2.3.4'];
const ns = bestNsPerOp(() => {
  ctx.start = performance.now();
  const headers = base.slice();
  tr.startServer(ctx, headers, snap);
  const a = ctx.trace.startAttempt(ctx, endpoint, 0);
  a.inject(headers);
  a.end(200, undefined);
  ctx.trace.end(ctx, performance.now());
});
console.log(`${(ns / 1000).toFixed(2)} µs per request (tracing on, 1% sampled)`);
process.exit(0);
