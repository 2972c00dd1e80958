// The webhook queue's bookkeeping with a real HTTP collector: lines that overflow the queue while
// a batch is in flight are the oldest *waiting* ones, counted exactly; the batch in flight is
// neither counted as dropped nor mistaken for lines sent later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import pino from 'pino';
import { createAuditWebhook } from './audit-webhook.js';

/** A real collector on an ephemeral port: each POST's whole body goes to `onBody` with its response. */
async function collector(onBody: (body: string, res: ServerResponse) => void) {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => onBody(body, res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

test('overflow while a batch is in flight drops the oldest waiting lines, and exactly those', async () => {
  const received: string[] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let posts = 0;
  const server = await collector((body, res) => {
    const first = posts++ === 0;
    void (first ? held : Promise.resolve()).then(() => {
      received.push(...body.split('\n').filter(Boolean));
      res.writeHead(204).end();
    });
  });
  const port = (server.address() as { port: number }).port;
  const dropped: number[] = [];
  const hook = createAuditWebhook({
    url: `http://127.0.0.1:${port}/in`, headers: {}, batchSize: 2, flushIntervalMs: 10, timeoutMs: 2000, maxQueue: 4,
    log: pino({ level: 'silent' }), onDropped: (n) => dropped.push(n),
  });
  const line = (i: number) => `{"n":${i}}\n`;
  try {
    hook.push([line(1), line(2), line(3)]); // 1 and 2 leave at once (a full batch); the collector holds them
    for (let i = 0; i < 200 && posts === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(posts, 1);
    hook.push(Array.from({ length: 10 }, (_, k) => line(k + 4))); // 3..13 wait; only 4 may: 10..13
    assert.equal(hook.stats.dropped, 7);
  } finally {
    release();
    await hook.close(5000);
    server.closeAllConnections();
    server.close();
  }
  assert.deepEqual(received, [1, 2, 10, 11, 12, 13].map((i) => line(i).trim()));
  assert.equal(hook.stats.sent, 6);
  assert.deepEqual(dropped, [7]);
});

test('a failed batch goes back to the front of the queue and is retried in order', async () => {
  const received: string[] = [];
  let posts = 0;
  const server = await collector((body, res) => {
    if (posts++ < 2) return void res.writeHead(503).end();
    received.push(...body.split('\n').filter(Boolean));
    res.writeHead(200).end();
  });
  const hook = createAuditWebhook({
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, headers: {}, batchSize: 3, flushIntervalMs: 10, timeoutMs: 2000,
    maxQueue: 100, log: pino({ level: 'silent' }), baseBackoffMs: 5, maxBackoffMs: 20,
  });
  try {
    hook.push(['a\n', 'b\n', 'c\n', 'd\n']);
    for (let i = 0; i < 400 && received.length < 4; i++) await new Promise((r) => setTimeout(r, 5));
  } finally {
    await hook.close(2000);
    server.closeAllConnections();
    server.close();
  }
  assert.deepEqual(received, ['a', 'b', 'c', 'd']);
  assert.equal(hook.stats.failures, 2);
  assert.equal(hook.stats.dropped, 0);
});
