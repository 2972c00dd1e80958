// The real process, as an operator runs it: start from a file, serve, SIGTERM drains in-flight
// requests and exits 0; SIGHUP reloads; a broken reload keeps the running config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { request } from 'undici';
import { startUpstream } from '../helpers/upstream.js';
import { startCliGateway } from '../helpers/cli.js';


const config = (upstream: string, header: string) => `listeners:
  - port: 0
admin: { port: 0 }
access_log: { enabled: false }
routes:
  - name: all
    cluster: up
    response_headers: { set: { x-config: ${header} } }
clusters:
  - name: up
    endpoints: [${upstream}]
`;

test('SIGTERM drains an in-flight request and exits 0', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const up = await startUpstream((_q, res) => void gate.then(() => res.end('finished')));
  const dir = mkdtempSync(join(tmpdir(), 'gh-cli-'));
  const file = join(dir, 'g.yaml');
  writeFileSync(file, config(up.url, 'one'));
  const { child, port, stderr } = await startCliGateway(file);
  try {
    const pending = request(`http://127.0.0.1:${port}/slow`).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
    for (let i = 0; i < 200 && up.requests.length < 1; i++) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    release();
    assert.deepEqual(await pending, { status: 200, body: 'finished' });
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, stderr());
    assert.match(stderr(), /draining/);
  } finally {
    release();
    child.kill('SIGKILL');
    await up.close();
  }
});

test('SIGHUP reloads the file; a broken file is reported and the running config kept', async () => {
  const up = await startUpstream((_q, res) => res.end('ok'));
  const dir = mkdtempSync(join(tmpdir(), 'gh-cli-'));
  const file = join(dir, 'g.yaml');
  writeFileSync(file, config(up.url, 'one'));
  const { child, port, stderr } = await startCliGateway(file);
  const header = async () => {
    const r = await request(`http://127.0.0.1:${port}/x`, { reset: true });
    await r.body.dump();
    return r.headers['x-config'];
  };
  const waitFor = async (re: RegExp) => {
    for (let i = 0; i < 100 && !re.test(stderr()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(stderr(), re);
  };
  try {
    assert.equal(await header(), 'one');
    writeFileSync(file, config(up.url, 'two'));
    child.kill('SIGHUP');
    await waitFor(/reloaded/);
    assert.equal(await header(), 'two');
    writeFileSync(file, 'listeners: [{ port: 0 }]\nroutes: [{ name: x, cluster: nope }]\nclusters: []\n');
    child.kill('SIGHUP');
    await waitFor(/reload failed/);
    assert.match(stderr(), /unknown cluster|nope/);
    assert.equal(await header(), 'two');
  } finally {
    child.kill('SIGKILL');
    await up.close();
  }
});
