// Gateway-held upstream credentials from a secret manager (a local Vault KV v2 stand-in), injected
// over whatever the client sent, and rotated under load with no failed request and no restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { loadConfigFile, ConfigError } from '../../src/config/index.js';
import { waitFor } from '../helpers/wait.js';

const VAULT_TOKEN = 's.vault-token-for-tests-0001';
let vault: http.Server;
let vaultUrl: string;
let vaultUp = true;
const kv = new Map<string, Record<string, string>>([['apps/orders', { token: 'upstream-secret-v1' }]]);
let up: TestUpstream;
const dir = mkdtempSync(join(tmpdir(), 'gh-secrets-'));
const lines: string[] = [];

before(async () => {
  vault = http.createServer((req, res) => {
    if (!vaultUp) return void res.socket?.destroy();
    if (req.headers['x-vault-token'] !== VAULT_TOKEN) return void res.writeHead(403).end('{"errors":["permission denied"]}');
    const m = /^\/v1\/secret\/data\/(.+)$/.exec(req.url ?? '');
    const data = m ? kv.get(m[1]!) : undefined;
    if (!data) return void res.writeHead(404).end('{"errors":[]}');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { data, metadata: { version: 1 } } }));
  });
  await new Promise<void>((r) => vault.listen(0, '127.0.0.1', () => r()));
  vaultUrl = `http://127.0.0.1:${(vault.address() as AddressInfo).port}`;
  up = await startUpstream();
  process.env.GH_TEST_VAULT_TOKEN = VAULT_TOKEN;
});

after(async () => {
  await up.close();
  await new Promise<void>((r) => vault.close(() => r()));
  delete process.env.GH_TEST_VAULT_TOKEN;
});

function configFile(name: string, vaultToken = '${secret:env:GH_TEST_VAULT_TOKEN}', field = 'token'): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `listeners: [{ port: 0 }]
admin: { port: 0 }
access_log: { path: ${join(dir, `${name}.access.log`)} }
secrets:
  refresh_interval: 100ms
  vault: { address: "${vaultUrl}", token: "${vaultToken}" }
routes:
  - name: orders
    cluster: up
    request_headers:
      set: { authorization: "Bearer \${secret:vault:apps/orders#${field}}" }
clusters:
  - name: up
    endpoints: [${up.url}]
`,
  );
  return path;
}

async function start(path: string): Promise<Gateway> {
  const loaded = await loadConfigFile(path);
  return createGateway(loaded.config, { configPath: path, secretPaths: loaded.secretPaths, say: (l) => void lines.push(l) });
}

test('the upstream gets the gateway-held credential, never the client copy; it is absent from /config and logs', async () => {
  const path = configFile('inject.yaml');
  const gw = await start(path);
  try {
    const res = await request(`http://127.0.0.1:${gw.ports()[0]}/x`, { headers: { authorization: 'Bearer client-supplied' } });
    assert.equal(res.statusCode, 200);
    await res.body.text();
    const last = up.requests[up.requests.length - 1]!;
    assert.equal(last.headers.authorization, 'Bearer upstream-secret-v1');
    assert.equal(last.rawHeaders.filter((h) => h.toLowerCase() === 'authorization').length, 1, 'one Authorization, the gateway one');
    const cfg = await request(`http://127.0.0.1:${gw.adminPort()}/config`);
    const text = await cfg.body.text();
    assert.ok(!text.includes('upstream-secret-v1') && !text.includes(VAULT_TOKEN), '/config shows neither the secret nor the vault token');
    await gw.stop();
    const log = readFileSync(join(dir, 'inject.yaml.access.log'), 'utf8');
    assert.ok(!log.includes('upstream-secret') && !log.includes(VAULT_TOKEN));
  } finally {
    await gw.stop();
  }
});

test('rotation under load: every request succeeds, the new value is used after the change, the old one never again', async () => {
  kv.set('apps/orders', { token: 'upstream-secret-v1' });
  const gw = await start(configFile('rotate.yaml'));
  const url = `http://127.0.0.1:${gw.ports()[0]}/r`;
  const statuses: number[] = [];
  const seen: string[] = [];
  let rotated = false;
  try {
    for (let i = 0; i < 3000 && seen.filter((s) => s.endsWith('v2')).length < 20; i++) {
      if (i === 20) {
        kv.set('apps/orders', { token: 'upstream-secret-v2' });
        rotated = true;
      }
      const res = await request(url);
      statuses.push(res.statusCode);
      const body = (await res.body.json()) as { headers: Record<string, string> };
      seen.push(body.headers.authorization!);
    }
    assert.ok(rotated);
    assert.ok(statuses.every((s) => s === 200), `every request succeeded (${statuses.filter((s) => s !== 200).length} did not)`);
    const firstNew = seen.findIndex((s) => s === 'Bearer upstream-secret-v2');
    assert.ok(firstNew > 0, 'the new value reached the upstream');
    assert.ok(seen.slice(firstNew).every((s) => s === 'Bearer upstream-secret-v2'), 'no old value after the first new one');
    assert.ok(lines.some((l) => l.includes('secret references changed')));
    assert.ok(!lines.join('\n').includes('upstream-secret'), 'operational messages never carry the value');
  } finally {
    await gw.stop();
  }
});

test('a secret manager outage keeps the running value and says so; requests keep succeeding', async () => {
  kv.set('apps/orders', { token: 'upstream-secret-v3' });
  const gw = await start(configFile('outage.yaml'));
  try {
    vaultUp = false;
    const before = lines.length;
    await waitFor(() => lines.slice(before).some((l) => l.startsWith('secret refresh failed')), 5000, 'the failed refresh message');
    const res = await request(`http://127.0.0.1:${gw.ports()[0]}/o`);
    const body = (await res.body.json()) as { headers: Record<string, string> };
    assert.equal(res.statusCode, 200);
    assert.equal(body.headers.authorization, 'Bearer upstream-secret-v3');
  } finally {
    vaultUp = true;
    await gw.stop();
  }
});

test('load errors name the reference and the cause, never the token', async () => {
  const wrong = configFile('wrong-token.yaml', 's.wrong-token-000000');
  await assert.rejects(loadConfigFile(wrong), (err: ConfigError) => {
    const text = err.errors.join('\n');
    assert.match(text, /vault: permission denied for secret\/apps\/orders/);
    assert.ok(!text.includes('s.wrong-token'), 'the token is not echoed');
    return true;
  });
  const unset = configFile('unset-token.yaml', '${secret:env:GH_TEST_NO_SUCH_VAR}');
  await assert.rejects(loadConfigFile(unset), (err: ConfigError) => {
    assert.match(err.errors.join('\n'), /secrets\.vault needs an address and a token that resolve/);
    return true;
  });
  const missing = configFile('missing-field.yaml', undefined, 'nope');
  await assert.rejects(loadConfigFile(missing), /vault: secret\/apps\/orders has no string field "nope"/);
});
