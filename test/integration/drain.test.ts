import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startUpstream } from '../helpers/upstream.js';
import { startGateway, simpleSpec } from '../helpers/gateway.js';

test('graceful drain: in-flight requests finish, /ready turns false, new connections are refused', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const up = await startUpstream((_q, res) => {
    void gate.then(() => {
      res.writeHead(200, { 'content-length': '4' });
      res.end('done');
    });
  });
  const gh = await startGateway(simpleSpec(up.url, {}, { limits: { drain_timeout: '10s' } }));
  try {
    const ready = await request(`${gh.adminUrl}/ready`);
    assert.equal(ready.statusCode, 200);
    await ready.body.dump();
    const inflight = Array.from({ length: 5 }, (_, i) => request(`${gh.url}/slow/${i}`).then(async (r) => ({ status: r.statusCode, body: await r.body.text() })));
    // Wait until the upstream holds all five, so they are truly in flight when the drain starts.
    for (let i = 0; i < 200 && up.requests.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(up.requests.length, 5);
    const stopped = gh.stop();
    // The admin listener stays up until the data listeners drained, so /ready must say so.
    const readyDuring = await request(`${gh.adminUrl}/ready`);
    assert.equal(readyDuring.statusCode, 503);
    assert.deepEqual(await readyDuring.body.json(), { ready: false, reason: 'draining' });
    await assert.rejects(request(`${gh.url}/new`, { reset: true }), 'new connections are refused while draining');
    release();
    const results = await Promise.all(inflight);
    for (const r of results) assert.deepEqual(r, { status: 200, body: 'done' });
    await stopped;
  } finally {
    release();
    await up.close();
  }
});

test('drain deadline: a request that outlives drain_timeout is cut and stop() still returns', async () => {
  const up = await startUpstream(() => undefined);
  const gh = await startGateway(simpleSpec(up.url, {}, { limits: { drain_timeout: '300ms' } }));
  const hung = request(`${gh.url}/hang`).then((r) => r.statusCode, () => 'cut');
  for (let i = 0; i < 200 && up.requests.length < 1; i++) await new Promise((r) => setTimeout(r, 10));
  await gh.stop();
  assert.equal(await hung, 'cut');
  await up.close();
});
