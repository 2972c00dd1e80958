// The audit trail's other sinks. stdout: a real `gatehouse start` process writes its chain to
// stdout beside the access log; every line stays whole and `gatehouse audit verify --mixed`
// checks the captured stream. Webhook: every sealed record and checkpoint reaches a collector in
// chain order, byte for byte as in the local file, through collector errors (retried) and outages
// (bounded queue, drops counted), without the gateway ever failing a request for it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { bin, root as repoRoot, runCli, startCliGateway } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'gh-audit-sinks-'));
const ups: TestUpstream[] = [];
after(async () => {
  for (const u of ups) await u.close();
});

async function upstream(): Promise<TestUpstream> {
  const u = await startUpstream((_q, res) => res.end('ok'));
  ups.push(u);
  return u;
}

async function get(url: string): Promise<number> {
  const r = await request(url);
  await r.body.dump();
  return r.statusCode;
}

test('stdout sink: a real process writes whole lines beside the access log; verify --mixed checks the capture and finds an edit and a deletion', async () => {
  const up = await upstream();
  const file = join(root, 'stdout.yaml');
  writeFileSync(
    file,
    `listeners:
  - port: 0
admin: { port: 0 }
audit: { enabled: true, sink: stdout, flush_interval: 20ms }
routes:
  - name: pay
    match: { path: { prefix: /pay } }
    cluster: up
    audit: required
  - name: all
    cluster: up
clusters:
  - name: up
    endpoints: [${up.url}]
`,
  );
  const gw = await startCliGateway(file);
  try {
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => get(`http://127.0.0.1:${gw.port}/item/${i}`)));
    assert.ok(statuses.every((s) => s === 200));
    // audit: required on stdout: the decision record is handed to the OS before the upstream call.
    assert.equal(await get(`http://127.0.0.1:${gw.port}/pay/1`), 200);
    assert.equal(await gw.stop(), 0, gw.stderr());
  } finally {
    gw.child.kill('SIGKILL');
  }
  const out = gw.stdout();
  const lines = out.split('\n').filter(Boolean);
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>); // throws on a split line
  const audit = parsed.filter((p) => typeof p.hash === 'string');
  const access = parsed.filter((p) => p.hash === undefined && p.request_id !== undefined);
  assert.equal(access.length, 41, 'every access-log line is there');
  assert.equal(audit.filter((a) => a.phase === 'complete').length, 41, 'one audit record per request, nothing lost at shutdown');
  const pay = audit.filter((a) => a.path === '/pay/1');
  assert.deepEqual(pay.map((a) => a.phase), ['decision', 'complete'], 'the required route wrote its decision record first');
  assert.equal(audit[0]!.type, 'file_start');
  assert.equal(audit[0]!.stream, 'stdout');

  const capture = join(root, 'capture.log');
  writeFileSync(capture, out);
  const mixed = await runCli(['audit', 'verify', '--mixed', capture]);
  assert.equal(mixed.code, 0, mixed.stdout + mixed.stderr);
  assert.match(mixed.stdout, /^ok {5}capture\.log: 43 records/m);
  const strict = await runCli(['audit', 'verify', capture]);
  assert.equal(strict.code, 1, 'without --mixed the access-log lines are not audit records');

  // `gatehouse audit verify ... | head -1`: the reader is gone before the verdict is written (here
  // before anything is); no stack trace, and the exit code is still the verdict's.
  for (const [file, want] of [[capture, 0], [join(root, 'no-such-dir'), 2]] as const) {
    const piped = spawn(process.execPath, [bin, 'audit', 'verify', '--mixed', file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let pipedErr = '';
    piped.stderr!.on('data', (d: Buffer) => (pipedErr += d));
    piped.stdout!.destroy();
    const [pipedCode] = await once(piped, 'exit');
    assert.equal(pipedCode, want, pipedErr);
    assert.doesNotMatch(pipedErr, /Unhandled|EPIPE|at /);
  }

  // Tamper with the capture: the reported line is the line in the captured file.
  const raw = out.split('\n');
  const idx = raw.findIndex((l) => l.includes('"/item/7"') && l.includes('"hash"'));
  const edited = [...raw];
  edited[idx] = edited[idx]!.replace('"/item/7"', '"/item/8"');
  writeFileSync(capture, edited.join('\n'));
  const e = await runCli(['audit', 'verify', '--mixed', capture]);
  assert.equal(e.code, 1);
  assert.match(e.stdout, new RegExp(`capture\\.log:${idx + 1}: content does not match its hash`));
  const removed = raw.filter((_, i) => i !== idx);
  writeFileSync(capture, removed.join('\n'));
  const d = await runCli(['audit', 'verify', '--mixed', capture]);
  assert.equal(d.code, 1);
  assert.match(d.stdout, /does not follow the previous record/);
});

interface Collector {
  url: string;
  bodies: string[];
  contentTypes: string[];
  auth: string[];
  /** Answers with this status while it returns one; 200 after. */
  failNext: number;
  failStatus: number;
  close(): Promise<void>;
}

async function collector(): Promise<Collector> {
  const c = { bodies: [] as string[], contentTypes: [] as string[], auth: [] as string[], failNext: 0, failStatus: 503 } as Collector;
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      if (c.failNext > 0) {
        c.failNext--;
        res.writeHead(c.failStatus).end();
        return;
      }
      c.bodies.push(body);
      c.contentTypes.push(String(req.headers['content-type']));
      c.auth.push(String(req.headers.authorization));
      res.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  c.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/ingest?source=gatehouse`;
  c.close = () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });
  return c;
}

const metric = async (adminUrl: string, name: string): Promise<number> => {
  const r = await request(`${adminUrl}/metrics`);
  const text = await r.body.text();
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
};

test('webhook: every record and checkpoint reaches the collector in chain order, identical to the file, through collector errors', async () => {
  const up = await upstream();
  const col = await collector();
  col.failNext = 3; // the first three POSTs are refused with 503 and must be retried
  const dir = join(root, 'hook');
  const gh = await startGateway({
    routes: [{ name: 'all', cluster: 'up' }],
    clusters: [{ name: 'up', endpoints: [up.url] }],
    top: {
      audit: {
        enabled: true, dir, flush_interval: '20ms', checkpoint_interval: '100ms',
        webhook: { url: col.url, headers: { authorization: 'Bearer collector-token-123' }, batch_size: 4, flush_interval: '20ms', timeout: '2s' },
      },
    },
  });
  try {
    for (let i = 0; i < 25; i++) assert.equal(await get(`${gh.url}/n/${i}`), 200);
    for (let i = 0; i < 200 && (await metric(gh.adminUrl, 'gatehouse_audit_webhook_failures_total')) < 3; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(await metric(gh.adminUrl, 'gatehouse_audit_webhook_failures_total'), 3);
  } finally {
    await gh.stop();
  }
  await col.close();
  const received = col.bodies.join('').split('\n').filter(Boolean);
  const chain = received.filter((l) => !l.includes('"type":"checkpoint"'));
  const fileLines = readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort().flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter(Boolean));
  assert.deepEqual(chain, fileLines, 'the collector received exactly the chain, in order, once');
  assert.equal(chain.filter((l) => l.includes('"phase":"complete"')).length, 25);
  assert.ok(received.some((l) => l.includes('"type":"checkpoint"')), 'checkpoints are copied off the host');
  assert.ok(col.bodies.every((b) => b.split('\n').filter(Boolean).length <= 4), 'batches respect batch_size');
  assert.ok(col.contentTypes.every((t) => t === 'application/x-ndjson'));
  assert.ok(col.auth.every((a) => a === 'Bearer collector-token-123'));

  // The copy verifies on its own, as the collector's operator would check it.
  const copy = join(root, 'hook-copy');
  const cdir = mkdtempSync(copy);
  writeFileSync(join(cdir, 'received.jsonl'), `${chain.join('\n')}\n`);
  const v = await runCli(['audit', 'verify', cdir]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
});

test('webhook outage: requests keep flowing, the queue is bounded and drops are counted; the local chain keeps everything', async () => {
  const up = await upstream();
  const col = await collector();
  await col.close(); // nothing listens on this port any more
  const dir = join(root, 'down');
  const gh = await startGateway({
    routes: [{ name: 'all', cluster: 'up' }],
    clusters: [{ name: 'up', endpoints: [up.url] }],
    top: { audit: { enabled: true, dir, flush_interval: '20ms', webhook: { url: col.url, max_queue: 5, flush_interval: '20ms', timeout: '200ms' } } },
  });
  try {
    for (let i = 0; i < 20; i++) assert.equal(await get(`${gh.url}/d/${i}`), 200);
    for (let i = 0; i < 200 && (await metric(gh.adminUrl, 'gatehouse_audit_webhook_dropped_total')) < 15; i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok((await metric(gh.adminUrl, 'gatehouse_audit_webhook_dropped_total')) >= 15, 'at most max_queue records are held');
    assert.ok((await metric(gh.adminUrl, 'gatehouse_audit_webhook_failures_total')) >= 1);
  } finally {
    await gh.stop();
  }
  const local = readdirSync(dir).flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter((l) => l.includes('"phase":"complete"')));
  assert.equal(local.length, 20);
});

test('config: the file sink needs a dir; a bad webhook URL is refused', async () => {
  const file = join(root, 'bad.yaml');
  writeFileSync(file, 'listeners: [{ port: 0 }]\naudit: { enabled: true }\nroutes: [{ name: a, cluster: c }]\nclusters: [{ name: c, endpoints: ["http://127.0.0.1:1"] }]\n');
  const r = await runCli(['validate', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr + r.stdout, /the file sink needs audit\.dir/);
  writeFileSync(file, 'listeners: [{ port: 0 }]\naudit: { enabled: true, sink: stdout, webhook: { url: "ftp://x" } }\nroutes: [{ name: a, cluster: c }]\nclusters: [{ name: c, endpoints: ["http://127.0.0.1:1"] }]\n');
  const w = await runCli(['validate', file]);
  assert.equal(w.code, 2);
  assert.match(w.stderr + w.stdout, /audit\.webhook\.url/);
});
