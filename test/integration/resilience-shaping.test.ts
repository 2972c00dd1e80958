// Traffic shaping: weighted split with a header override, mirroring, fault injection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway } from '../helpers/gateway.js';
import { deadPort } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';
import { get, parallel, switchable } from './resilience-common.js';

test('weighted split sends each cluster its share; the header override picks a listed cluster; the access log names it', async () => {
  const stable = await switchable('stable');
  const canary = await switchable('canary');
  const other = await switchable('other');
  const gh = await startGateway({
    routes: [
      {
        name: 'r',
        match: { path: { prefix: '/' } },
        clusters: [{ name: 'stable', weight: 80 }, { name: 'canary', weight: 20 }, { name: 'dark', weight: 0 }],
        cluster_header: 'x-gatehouse-cluster',
      },
    ],
    clusters: [
      { name: 'stable', endpoints: [stable.url] },
      { name: 'canary', endpoints: [canary.url] },
      { name: 'dark', endpoints: [other.url] },
    ],
  });
  try {
    const results = await parallel(300, 6, () => get(`${gh.url}/x`));
    assert.ok(results.every((r) => r.status === 200));
    const c = results.filter((r) => r.upstream === 'canary').length;
    // 20% of 300 is 60; the bounds are 5 standard deviations wide.
    assert.ok(c > 25 && c < 95, `canary got ${c} of 300`);
    assert.equal(other.served(), 0, 'weight 0: no share');
    const forced = await parallel(10, 2, () => get(`${gh.url}/x`, { 'x-gatehouse-cluster': 'dark' }));
    assert.ok(forced.every((r) => r.upstream === 'other'), 'the override reaches a weight-0 cluster of the split');
    const unknown = await get(`${gh.url}/x`, { 'x-gatehouse-cluster': 'nope' });
    assert.equal(unknown.status, 200, 'an unlisted name falls back to the weights');
    const logs = await gh.accessLog((l) => l.filter((x) => x.cluster === 'dark').length >= 10);
    assert.equal(logs.filter((x) => x.cluster === 'dark').length, 10);
    assert.ok(logs.some((x) => x.cluster === 'canary') && logs.some((x) => x.cluster === 'stable'));
  } finally {
    await gh.stop();
    await Promise.all([stable, canary, other].map((u) => u.close()));
  }
});

test('mirroring copies requests fire-and-forget: a hanging or dead mirror never delays or changes the response', async () => {
  const main = await switchable('main');
  const shadow = await switchable('shadow');
  shadow.mode = 'hang';
  const dead = await deadPort();
  const gh = await startGateway({
    routes: [
      { name: 'dead', match: { path: { prefix: '/dead' } }, cluster: 'main', mirror: { cluster: 'dead' } },
      { name: 'r', match: { path: { prefix: '/' } }, cluster: 'main', mirror: { cluster: 'shadow', percent: 100 } },
    ],
    clusters: [
      { name: 'main', endpoints: [main.url] },
      { name: 'shadow', endpoints: [shadow.url] },
      { name: 'dead', endpoints: [`http://127.0.0.1:${dead}`] },
    ],
  });
  try {
    const results = await parallel(5, 5, (i) => get(`${gh.url}/m/${i}?q=1`));
    assert.ok(results.every((r) => r.status === 200 && r.upstream === 'main'), 'answered while the mirror still hangs');
    await waitFor(() => shadow.requests.length === 5, 5000, 'the copies at the mirror');
    const copy = shadow.requests[0]!;
    assert.match(copy.url, /^\/m\/\d\?q=1$/);
    assert.match(String(copy.headers.host), /-shadow$/);
    const r = await get(`${gh.url}/dead/x`);
    assert.equal(r.status, 200, 'an unreachable mirror is ignored');
  } finally {
    shadow.release();
    await gh.stop();
    await main.close();
    await shadow.close();
  }
});

test('fault injection: abort answers at once without the upstream; delay holds the request; header control', async () => {
  const up = await switchable('up');
  const gh = await startGateway({
    routes: [
      { name: 'abort', match: { path: { prefix: '/abort' } }, cluster: 'c', fault: { abort: { http_status: 503, percentage: 100 } } },
      { name: 'delay', match: { path: { prefix: '/delay' } }, cluster: 'c', fault: { delay: { fixed_delay: '300ms' } } },
      { name: 'hdr', match: { path: { prefix: '/hdr' } }, cluster: 'c', fault: { header_control: true, max_delay: '1s' } },
      { name: 'plain', match: { path: { prefix: '/' } }, cluster: 'c', fault: { delay: { fixed_delay: '5s', percentage: 0 } } },
    ],
    clusters: [{ name: 'c', endpoints: [up.url] }],
  });
  try {
    const a = await get(`${gh.url}/abort`);
    assert.equal(a.status, 503);
    assert.equal(JSON.parse(a.body).code, 'fault.abort');
    assert.equal(up.served(), 0, 'an aborted request never reaches the upstream');

    let t = performance.now();
    assert.equal((await get(`${gh.url}/delay`)).status, 200);
    assert.ok(performance.now() - t >= 250, 'delayed');

    const h = await get(`${gh.url}/hdr`, { 'x-gatehouse-fault-abort-request': '418' });
    assert.equal(h.status, 418);
    assert.equal(JSON.parse(h.body).code, 'fault.abort');
    t = performance.now();
    assert.equal((await get(`${gh.url}/hdr`, { 'x-gatehouse-fault-delay-request': '60000' })).status, 200);
    assert.ok(performance.now() - t < 4000, 'a client-asked delay is capped by max_delay');
    assert.equal((await get(`${gh.url}/plain`, { 'x-gatehouse-fault-abort-request': '500' })).status, 200, 'headers are ignored without header_control');
    const logs = await gh.accessLog((l) => l.some((x) => x.code === 'fault.abort'));
    assert.ok(logs.some((x) => x.route === 'abort' && x.code === 'fault.abort' && x.status === 503));
  } finally {
    await gh.stop();
    await up.close();
  }
});
