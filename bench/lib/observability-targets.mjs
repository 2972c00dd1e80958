// Issue 7's benchmark: "metrics + access log + tracing (sampled 1%) on vs off", as a same-round
// req/s ratio between two copies of the plain `gatehouse` catch-all route:
//
//   gatehouse-quiet     access log off, no tracing: the baseline. Metrics cannot be turned off
//                       (the admin listener always serves /metrics), so they are on in both and
//                       the ratio measures the access log + tracing on top of them.
//   gatehouse-observed  access log on (to a file, as in `gatehouse`) and tracing with
//                       sample_ratio 0.01, exporting OTLP/HTTP to a sink started here (a node:http
//                       server in the harness process that reads each export and answers 200).
//                       wrk sends no traceparent, so every request starts a new trace and 1% of
//                       them are recorded and exported; the other 99% still get trace ids, a
//                       traceparent upstream and a trace_id in the access log.
//
// Target (issue): observed >= 0.93 x quiet.
import http from 'node:http';
import { gatehouseTarget } from './targets.mjs';

export const OBSERVED_BASELINE = 'gatehouse-quiet';
export const SAMPLE_RATIO = 0.01;

/** (i) baseline: access log off, no tracing (metrics on: they always are). */
export function gatehouseQuietTarget({ name = OBSERVED_BASELINE, label = '(i) Gatehouse quiet: metrics only (access log off, no tracing)', ...opts } = {}) {
  return Object.assign(gatehouseTarget({ name, label, accessLog: false, ...opts }), { measureAt1: false });
}

/** (j) access log on + tracing sampled 1% to a local OTLP sink. */
export function gatehouseObservedTarget({ name = 'gatehouse-observed', label = `(j) Gatehouse observed: metrics + access log + tracing (${SAMPLE_RATIO * 100}% sampled, OTLP/HTTP)`, ...opts } = {}) {
  let sink = null;
  const t = gatehouseTarget({
    name,
    label,
    ...opts,
    config: async () => {
      sink = await startOtlpSink();
      return { tracing: { endpoint: sink.url, sample_ratio: SAMPLE_RATIO } };
    },
  });
  const stop = t.stop.bind(t);
  return Object.assign(t, {
    baseline: OBSERVED_BASELINE,
    measureAt1: false,
    async stop() {
      // The gateway's graceful stop exports what is still queued, so count after it.
      await stop();
      if (sink) {
        Object.assign(this.info, { otlpExports: sink.exports, otlpBytes: sink.bytes });
        await sink.close();
        sink = null;
      }
    },
  });
}

/** A collector stand-in: reads every POST body, answers 200 with an empty OTLP response. */
async function startOtlpSink() {
  const state = { exports: 0, bytes: 0 };
  const server = http.createServer((req, res) => {
    req.on('data', (c) => (state.bytes += c.length));
    req.on('end', () => {
      state.exports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/v1/traces`,
    get exports() {
      return state.exports;
    },
    get bytes() {
      return state.bytes;
    },
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
