// Tracing end to end: a real gateway, an upstream that echoes the headers it received, and a
// local OTLP/HTTP receiver standing in for the collector. Spans are flushed by the gateway's
// stop() (which shuts the tracer provider down), so each test stops its gateway before reading.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startUpstream, deadPort, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, simpleSpec, type TestGateway } from '../helpers/gateway.js';
import type { TracingConfig } from '../../src/config/schema.js';
import { waitFor } from '../helpers/wait.js';

// --- a minimal OTLP/HTTP JSON receiver ------------------------------------------------------

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: OtlpValue }>;
  status?: { code?: number; message?: string };
}
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: 'server' | 'client' | 'other';
  attrs: Record<string, string | number | boolean>;
  statusCode: number;
  resource: Record<string, string | number | boolean>;
}
interface Receiver {
  url: string;
  spans: ReceivedSpan[];
  contentTypes: string[];
  close(): Promise<void>;
}

const flat = (kvs: Array<{ key: string; value: OtlpValue }> | undefined) => {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of kvs ?? []) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.boolValue ?? value.doubleValue ?? '';
  }
  return out;
};

async function startReceiver(): Promise<Receiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.push(String(req.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: Array<{ resource?: { attributes?: Array<{ key: string; value: OtlpValue }> }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
      };
      for (const rs of body.resourceSpans) {
        const resource = flat(rs.resource?.attributes);
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId || undefined,
              name: s.name,
              kind: s.kind === 2 ? 'server' : s.kind === 3 ? 'client' : 'other',
              attrs: flat(s.attributes),
              statusCode: s.status?.code ?? 0,
              resource,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    contentTypes,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

// --- helpers ---------------------------------------------------------------------------------

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const W3C_SAMPLED = `00-${TRACE}-${PARENT}-01`;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

let up: TestUpstream;
let receiver: Receiver;

before(async () => {
  up = await startUpstream();
  receiver = await startReceiver();
});
after(async () => {
  await up.close();
  await receiver.close();
});

async function withGateway(tracing: Partial<TracingConfig> | undefined, extra: Parameters<typeof simpleSpec>[2] = {}, route: Parameters<typeof simpleSpec>[1] = {}): Promise<TestGateway> {
  const spec = simpleSpec(up.url, { name: 'api', match: { path: { prefix: '/api' } }, ...route }, extra);
  if (tracing !== undefined) spec.top = { ...spec.top, tracing: { endpoint: receiver.url, schedule_delay: 50, ...tracing } };
  return startGateway(spec);
}

/** GET through the gateway; returns the status, the request id and the headers the upstream saw. */
async function get(gh: TestGateway, path: string, headers: Record<string, string> = {}) {
  const r = await request(`${gh.url}${path}`, { headers });
  const text = await r.body.text();
  const seen = r.statusCode === 200 ? (JSON.parse(text) as { headers: Record<string, string | undefined> }).headers : undefined;
  return { status: r.statusCode, requestId: String(r.headers['x-request-id']), seen };
}

const spansOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);

// --- tests -----------------------------------------------------------------------------------

test('W3C context: the upstream gets the CLIENT span as parent; SERVER and CLIENT spans carry the semantic-convention attributes', async () => {
  const gh = await withGateway({ sample_ratio: 1, service_name: 'edge-test' });
  const r = await get(gh, '/api/a/../items?q=1', { traceparent: W3C_SAMPLED, tracestate: 'vendor=abc,other=1' });
  assert.equal(r.status, 200);
  const m = TRACEPARENT.exec(r.seen!.traceparent ?? '');
  assert.ok(m, `upstream traceparent: ${r.seen!.traceparent}`);
  assert.equal(m[1], TRACE, 'same trace id');
  assert.notEqual(m[2], PARENT, 'a new parent span id (the CLIENT span)');
  assert.equal(m[3], '01');
  assert.equal(r.seen!.tracestate, 'vendor=abc,other=1');
  const lines = await gh.accessLog((l) => l.some((x) => x.request_id === r.requestId));
  await gh.stop();

  const spans = spansOf(TRACE);
  const server = spans.find((s) => s.kind === 'server');
  const client = spans.find((s) => s.kind === 'client');
  assert.ok(server && client, `spans: ${JSON.stringify(spans)}`);
  assert.equal(spans.length, 2);
  assert.equal(server.parentSpanId, PARENT, "SERVER span's parent is the client's span");
  assert.equal(client.parentSpanId, server.spanId, "CLIENT span's parent is the SERVER span");
  assert.equal(client.spanId, m[2], 'the upstream saw the CLIENT span as its parent');
  assert.equal(server.name, 'GET /api');
  assert.deepEqual(
    { ...server.attrs, 'server.port': undefined, 'gatehouse.request_id': undefined, 'network.protocol.version': undefined },
    {
      'http.request.method': 'GET',
      'url.path': '/api/items',
      'url.scheme': 'http',
      'http.route': '/api',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'server.port': undefined,
      'client.address': '127.0.0.1',
      'network.protocol.version': undefined,
      'gatehouse.route': 'api',
      'gatehouse.request_id': undefined,
    },
  );
  assert.equal(server.attrs['server.port'], gh.port);
  assert.equal(server.attrs['gatehouse.request_id'], r.requestId);
  assert.equal(server.statusCode, 0, 'UNSET on success');
  assert.equal(client.name, 'GET');
  assert.equal(client.attrs['http.request.method'], 'GET');
  assert.equal(client.attrs['network.peer.address'], '127.0.0.1');
  assert.equal(client.attrs['server.address'], '127.0.0.1');
  assert.equal(client.attrs['server.port'], up.port);
  assert.equal(client.attrs['http.request.resend_count'], 0);
  assert.equal(client.attrs['http.response.status_code'], 200);
  assert.equal(client.attrs['gatehouse.route'], 'api');
  assert.equal(client.attrs['gatehouse.request_id'], r.requestId);
  assert.equal(client.attrs['error.type'], undefined);
  assert.equal(server.resource['service.name'], 'edge-test');
  assert.ok(receiver.contentTypes.every((t) => t.startsWith('application/json')), `content types: ${receiver.contentTypes}`);

  const line = lines.find((x) => x.request_id === r.requestId)!;
  assert.equal(line.trace_id, TRACE, 'the access log joins the trace');
});

test('a request without trace context starts a new trace (sampled at ratio 1), and the access log names it', async () => {
  const gh = await withGateway({ sample_ratio: 1 });
  const r = await get(gh, '/api/new');
  const m = TRACEPARENT.exec(r.seen!.traceparent ?? '')!;
  assert.ok(m);
  assert.equal(m[3], '01');
  const lines = await gh.accessLog((l) => l.some((x) => x.request_id === r.requestId));
  await gh.stop();
  const spans = spansOf(m[1]!);
  assert.equal(spans.length, 2);
  const server = spans.find((s) => s.kind === 'server')!;
  assert.equal(server.parentSpanId, undefined, 'a root span');
  assert.equal(server.resource['service.name'], 'gatehouse', 'default service.name');
  assert.equal(lines.find((x) => x.request_id === r.requestId)!.trace_id, m[1]);
});

test('upstream failures (504 timeout, 503 connect failure) mark both spans ERROR with error.type', async () => {
  const hang = await startUpstream(() => undefined);
  const dead = await deadPort();
  const spec = simpleSpec(up.url);
  spec.routes = [
    { name: 'slow', match: { path: { prefix: '/slow' } }, cluster: 'hang', timeout: '200ms' },
    { name: 'dead', match: { path: { template: '/dead/{id}' } }, cluster: 'dead' },
  ];
  spec.clusters = [
    { name: 'hang', endpoints: [hang.url] },
    { name: 'dead', endpoints: [`http://127.0.0.1:${dead}`] },
  ];
  spec.top = { tracing: { endpoint: receiver.url, sample_ratio: 1, schedule_delay: 50 } };
  const gh = await startGateway(spec);
  const t504 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1';
  const t503 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2';
  const a = await get(gh, '/slow', { traceparent: `00-${t504}-${PARENT}-01` });
  const b = await get(gh, '/dead/7', { traceparent: `00-${t503}-${PARENT}-01` });
  assert.equal(a.status, 504);
  assert.equal(b.status, 503);
  await gh.stop();
  await hang.close();

  for (const [trace, status, code, route] of [
    [t504, 504, 'upstream.timeout', '/slow'],
    [t503, 503, 'upstream.connect_failure', '/dead/{id}'],
  ] as const) {
    const spans = spansOf(trace);
    const server = spans.find((s) => s.kind === 'server');
    const client = spans.find((s) => s.kind === 'client');
    assert.ok(server && client, `${code}: ${JSON.stringify(spans)}`);
    assert.equal(server.statusCode, 2, `${code}: SERVER span status ERROR`);
    assert.equal(server.attrs['error.type'], code);
    assert.equal(server.attrs['http.response.status_code'], status);
    assert.equal(server.attrs['http.route'], route);
    assert.equal(client.statusCode, 2, `${code}: CLIENT span status ERROR`);
    assert.equal(client.attrs['error.type'], code);
    assert.equal(client.attrs['http.response.status_code'], undefined, 'no upstream response');
    assert.equal(client.parentSpanId, server.spanId);
  }
});

test('retries: one CLIENT span per attempt, numbered by http.request.resend_count, each with its own traceparent', async () => {
  const seen: string[] = [];
  const flaky = await startUpstream((req, res) => {
    seen.push(String(req.headers.traceparent));
    if (seen.length === 1) res.writeHead(503).end('busy');
    else res.writeHead(200).end('ok');
  });
  const spec = simpleSpec(flaky.url, { name: 'retrying', match: { path: { prefix: '/' } }, retry_policy: { retry_on: ['5xx'], num_retries: 1 } });
  spec.top = { tracing: { endpoint: receiver.url, sample_ratio: 1, schedule_delay: 50 } };
  const gh = await startGateway(spec);
  const trace = 'ffffffffffffffffffffffffffffff77';
  const r = await request(`${gh.url}/again`, { headers: { traceparent: `00-${trace}-${PARENT}-01` } });
  await r.body.text();
  assert.equal(r.statusCode, 200);
  await gh.stop();
  await flaky.close();
  const spans = spansOf(trace);
  const server = spans.find((s) => s.kind === 'server')!;
  const clients = spans.filter((s) => s.kind === 'client').sort((a, b) => Number(a.attrs['http.request.resend_count']) - Number(b.attrs['http.request.resend_count']));
  assert.equal(clients.length, 2, JSON.stringify(spans));
  assert.deepEqual(clients.map((c) => c.attrs['http.request.resend_count']), [0, 1]);
  assert.deepEqual(clients.map((c) => c.parentSpanId), [server.spanId, server.spanId]);
  assert.deepEqual(clients.map((c) => c.attrs['http.response.status_code']), [503, 200]);
  assert.equal(clients[0]!.statusCode, 2, 'the 503 attempt is an ERROR');
  assert.equal(clients[0]!.attrs['error.type'], '503');
  assert.equal(clients[1]!.statusCode, 0);
  assert.equal(server.statusCode, 0, 'the request itself succeeded');
  assert.deepEqual(seen.map((tp) => TRACEPARENT.exec(tp)?.[2]), clients.map((c) => c.spanId), 'each attempt carried its own span as parent');
});

test('ratio 0 with parent-based sampling: a sampled parent is still recorded; an unsampled one is not, but still propagated with flag 00', async () => {
  const gh = await withGateway({ sample_ratio: 0, parent_based: true });
  const sampledTrace = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1';
  const unsampledTrace = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2';
  const s = await get(gh, '/api/s', { traceparent: `00-${sampledTrace}-${PARENT}-01` });
  const u = await get(gh, '/api/u', { traceparent: `00-${unsampledTrace}-${PARENT}-00` });
  const n = await get(gh, '/api/n');
  await gh.stop();

  assert.equal(spansOf(sampledTrace).length, 2, 'the sampled parent wins over ratio 0');
  const mu = TRACEPARENT.exec(u.seen!.traceparent ?? '')!;
  assert.ok(mu, `upstream traceparent: ${u.seen!.traceparent}`);
  assert.equal(mu[1], unsampledTrace);
  assert.notEqual(mu[2], PARENT, 'still a fresh parent span id');
  assert.equal(mu[3], '00', 'the not-sampled decision is passed on');
  assert.equal(spansOf(unsampledTrace).length, 0, 'nothing exported for the unsampled trace');
  const mn = TRACEPARENT.exec(n.seen!.traceparent ?? '')!;
  assert.ok(mn);
  assert.equal(mn[3], '00', 'a new trace at ratio 0 is not sampled');
  assert.equal(spansOf(mn[1]!).length, 0);
});

test('parent_based false: the ratio decides even when the caller says sampled', async () => {
  const gh = await withGateway({ sample_ratio: 0, parent_based: false });
  const trace = 'cccccccccccccccccccccccccccccc01';
  const r = await get(gh, '/api/x', { traceparent: `00-${trace}-${PARENT}-01` });
  await gh.stop();
  const m = TRACEPARENT.exec(r.seen!.traceparent ?? '')!;
  assert.equal(m[1], trace);
  assert.equal(m[3], '00');
  assert.equal(spansOf(trace).length, 0);
});

test('B3 single and multi headers are accepted when configured, and replaced by W3C upstream', async () => {
  const gh = await withGateway({ sample_ratio: 0, propagation: ['w3c', 'b3'] });
  const single = 'dddddddddddddddddddddddddddddd01';
  const a = await get(gh, '/api/b3', { b3: `${single}-${PARENT}-1` });
  const b = await get(gh, '/api/b3m', { 'X-B3-TraceId': 'eeeeeeeeeeeeeee1', 'X-B3-SpanId': PARENT, 'X-B3-Sampled': '1' });
  await gh.stop();
  const ma = TRACEPARENT.exec(a.seen!.traceparent ?? '')!;
  assert.equal(ma[1], single);
  assert.equal(ma[3], '01');
  assert.equal(a.seen!.b3, undefined, 'the B3 header is not forwarded');
  const mb = TRACEPARENT.exec(b.seen!.traceparent ?? '')!;
  assert.equal(mb[1], '0000000000000000eeeeeeeeeeeeeee1', '64-bit B3 ids are left-padded');
  assert.equal(b.seen!['x-b3-traceid'], undefined);
  const server = spansOf(single).find((s) => s.kind === 'server');
  assert.equal(server?.parentSpanId, PARENT);
  assert.equal(spansOf(mb[1]!).length, 2);
});

test('B3 is not accepted unless configured: it passes through untouched and a new trace starts', async () => {
  const gh = await withGateway({ sample_ratio: 0 });
  const r = await get(gh, '/api/x', { b3: `ffffffffffffffffffffffffffffff01-${PARENT}-1` });
  await gh.stop();
  assert.equal(r.seen!.b3, `ffffffffffffffffffffffffffffff01-${PARENT}-1`);
  assert.notEqual(TRACEPARENT.exec(r.seen!.traceparent ?? '')![1], 'ffffffffffffffffffffffffffffff01');
});

test('an invalid or repeated traceparent is ignored (a new trace) and never forwarded', async () => {
  const gh = await withGateway({ sample_ratio: 0 });
  const bad = await get(gh, '/api/x', { traceparent: `00-${'0'.repeat(32)}-${PARENT}-01` });
  const r = await request(`${gh.url}/api/y`, { headers: ['traceparent', W3C_SAMPLED, 'traceparent', `00-${TRACE.replace('4', '5')}-${PARENT}-01`] });
  const seen = (JSON.parse(await r.body.text()) as { headers: Record<string, string> }).headers;
  await gh.stop();
  assert.notEqual(TRACEPARENT.exec(bad.seen!.traceparent ?? '')![1], '0'.repeat(32));
  const m = TRACEPARENT.exec(seen.traceparent ?? '');
  assert.ok(m, `one traceparent of ours upstream: ${seen.traceparent}`);
  assert.notEqual(m[1], TRACE);
});

test('no tracing configured: the client traceparent reaches the upstream unchanged, nothing is exported, no trace_id logged', async () => {
  const before = receiver.spans.length;
  const gh = await withGateway(undefined);
  const r = await get(gh, '/api/plain', { traceparent: W3C_SAMPLED, tracestate: 'vendor=abc' });
  assert.equal(r.seen!.traceparent, W3C_SAMPLED);
  assert.equal(r.seen!.tracestate, 'vendor=abc');
  const lines = await gh.accessLog((l) => l.some((x) => x.request_id === r.requestId));
  await gh.stop();
  assert.equal(receiver.spans.length, before);
  assert.equal('trace_id' in lines.find((x) => x.request_id === r.requestId)!, false);
});

test('the decision log carries trace_id when traced', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'gh-trace-')), 'decisions.log');
  const gh = await withGateway(
    { sample_ratio: 0 },
    { top: { decision_log: { enabled: true, path } } },
    {
      filters: {
        sigv4: { region: 'eu-west-1', service: 'execute-api', access_keys: [{ id: 'AKIDTRACINGTEST00001', secret: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYTRACINGKEY' }] },
        authz: { allow: 'authenticated' },
      },
    },
  );
  const r = await request(`${gh.url}/api/x`, { headers: { traceparent: W3C_SAMPLED } });
  await r.body.text();
  assert.equal(r.statusCode, 401);
  const id = String(r.headers['x-request-id']);
  await waitFor(() => existsSync(path) && readFileSync(path, 'utf8').includes(id), 5000, 'the decision line');
  await gh.stop();
  const line = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.request_id === id)!;
  assert.equal(line.trace_id, TRACE);
});
