import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket, WebSocketServer } from 'ws';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let server: http.Server;
let wss: WebSocketServer;
let upstreamUrl: string;
let gh: TestGateway;
const seenHeaders: http.IncomingHttpHeaders[] = [];
let plainRequests = 0;

before(async () => {
  server = http.createServer((req, res) => {
    plainRequests++;
    const body = JSON.stringify({ upgrade: req.headers.upgrade ?? null, connection: req.headers.connection ?? null });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    seenHeaders.push(req.headers);
    ws.on('message', (m, isBinary) => ws.send(isBinary ? m : `echo:${m.toString()}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  upstreamUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  gh = await startGateway({
    routes: [
      { name: 'ws', match: { path: { prefix: '/ws' } }, cluster: 'up', websocket: true },
      { name: 'plain', match: { path: { prefix: '/' } }, cluster: 'up' },
    ],
    clusters: [{ name: 'up', endpoints: [upstreamUrl] }],
  });
});
after(async () => {
  await gh.stop();
  wss.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

test('WebSocket upgrade passes through on a websocket route, with gateway headers', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${gh.port}/ws/chat`, { headers: { 'x-gatehouse-subject': 'spoof', 'x-forwarded-for': '6.6.6.6' } });
  // 'open' follows 'upgrade' in the same tick: listen for both before awaiting either.
  const upgraded = once(ws, 'upgrade') as Promise<[http.IncomingMessage]>;
  const opened = once(ws, 'open');
  const [res] = await upgraded;
  await opened;
  assert.ok(res.headers['x-request-id']);
  ws.send('hello');
  const [msg] = (await once(ws, 'message')) as [Buffer];
  assert.equal(msg.toString(), 'echo:hello');
  const big = Buffer.alloc(256 * 1024, 3);
  ws.send(big);
  const [back] = (await once(ws, 'message')) as [Buffer];
  assert.equal(Buffer.compare(back, big), 0);
  const h = seenHeaders.at(-1)!;
  assert.equal(h['x-gatehouse-subject'], undefined);
  assert.equal(h['x-forwarded-for'], '127.0.0.1');
  assert.ok(h['x-request-id']);
  ws.close();
  await once(ws, 'close');
});

test('closing the upstream side closes the client', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${gh.port}/ws/x`);
  await once(ws, 'open');
  for (const c of wss.clients) c.terminate();
  const [code] = (await once(ws, 'close')) as [number];
  assert.ok(code === 1006 || code === 1005, `abnormal close seen by the client (${code})`);
});

test('an Upgrade on a non-websocket route is an ordinary request with the upgrade stripped', async () => {
  const before = plainRequests;
  const ws = new WebSocket(`ws://127.0.0.1:${gh.port}/other`);
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, http.IncomingMessage];
  assert.equal(res.statusCode, 200);
  let body = '';
  for await (const c of res) body += c;
  const seen = JSON.parse(body) as { upgrade: string | null; connection: string | null };
  assert.equal(seen.upgrade, null);
  assert.notEqual(seen.connection, 'Upgrade');
  assert.equal(plainRequests, before + 1);
  ws.on('error', () => undefined);
  ws.terminate();
});

test('an upgrade to an unknown route gets a 404 problem, no tunnel', async () => {
  const g2 = await startGateway({ routes: [{ name: 'ws', match: { path: { exact: '/ws' } }, cluster: 'up', websocket: true }], clusters: [{ name: 'up', endpoints: [upstreamUrl] }] });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${g2.port}/nope`);
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, http.IncomingMessage];
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['content-type'], 'application/problem+json');
    ws.on('error', () => undefined);
    ws.terminate();
  } finally {
    await g2.stop();
  }
});
