// The audit trail end to end: a real gateway writes hash-chained records; `gatehouse audit verify`
// (the real CLI) accepts the intact chain and pinpoints edits, deletions, reordering, truncation
// (with checkpoints) and a wrong key. Audit-required routes refuse when the trail cannot write.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startFakeIdp, mint, type FakeIdp, type TestKey } from '../helpers/fake-idp.js';
import { runCli } from '../helpers/cli.js';
import { settle } from '../helpers/wait.js';

const KEY = 'audit-hmac-key-for-tests-0123456789';
let idp: FakeIdp;
let key: TestKey;
let up: TestUpstream;
const root = mkdtempSync(join(tmpdir(), 'gh-audit-'));

before(async () => {
  idp = await startFakeIdp();
  key = await idp.addKey('ES256');
  up = await startUpstream();
});
after(async () => {
  await up.close();
  await idp.close();
});

async function gateway(dir: string, extra: Record<string, unknown> = {}): Promise<TestGateway> {
  const jwt = { issuers: [{ issuer: idp.issuer, audiences: ['api'], roles_claim: 'groups' }] };
  return startGateway({
    authorization: { policies: { read: { Statement: [{ Sid: 'Read', Effect: 'Allow', Action: 'http:GET', Resource: 'route/orders/*' }] } }, roles: { reader: ['read'] } },
    routes: [
      { name: 'orders', match: { path: { prefix: '/orders' } }, cluster: 'up', filters: { jwt, authz: {} } },
      { name: 'payments', match: { path: { prefix: '/payments' } }, cluster: 'up', audit: 'required' },
      { name: 'health', match: { path: { prefix: '/health' } }, cluster: 'up', audit: 'off' },
      { name: 'open', match: { path: { prefix: '/open' } }, cluster: 'up' },
    ],
    clusters: [{ name: 'up', endpoints: [up.url] }],
    top: { audit: { enabled: true, dir, hmac_key: KEY, flush_interval: '50ms', checkpoint_path: join(dir, '..', `${dir.split('/').pop()}-checkpoints.log`), checkpoint_interval: '100ms', ...extra } },
  });
}

const records = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.jsonl'))
    .sort()
    .flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>));

const verify = (paths: string[], ...opts: string[]) => runCli(['audit', 'verify', ...paths, ...opts], { env: { AUDIT_KEY: KEY } });

test('one record per request, allowed and denied, with identity and decision but no token; nothing lost on shutdown; the chain verifies', async () => {
  const dir = join(root, 'a');
  const gh = await gateway(dir);
  const reader = await mint(key, { iss: idp.issuer, aud: 'api', sub: 'alice', groups: ['reader'] });
  const stranger = await mint(key, { iss: idp.issuer, aud: 'api', sub: 'bob', groups: [] });
  const send = async (path: string, tok?: string, method = 'GET') => {
    const r = await request(`${gh.url}${path}`, { method, headers: tok ? { authorization: `Bearer ${tok}` } : {} });
    await r.body.text();
    return { status: r.statusCode, id: r.headers['x-request-id'] as string };
  };
  const ok = await send('/orders/1', reader);
  const denied = await send('/orders/2', stranger);
  const anon = await send('/orders/3');
  const pay = await send('/payments/9', undefined, 'POST');
  await send('/health');
  const missing = await send('/nowhere');
  assert.deepEqual([ok.status, denied.status, anon.status, pay.status, missing.status], [200, 403, 401, 200, 404]);
  // Stop right away: the last records are still buffered, and must reach the file.
  await gh.stop();
  const recs = records(dir);
  const access = recs.filter((r) => r.type === 'access' && r.phase === 'complete');
  const byId = (id: string) => access.find((r) => r.request_id === id)!;
  assert.equal(access.length, 5, 'every request except the audit: off route');
  assert.deepEqual(byId(ok.id).identity, { subject: 'alice', issuer: idp.issuer, auth_method: 'jwt', roles: ['reader'] });
  assert.equal(byId(ok.id).decision, 'allow');
  assert.equal(byId(ok.id).authz.policy, 'read');
  assert.equal(byId(ok.id).upstream_status, 200);
  assert.equal(byId(denied.id).decision, 'deny');
  assert.equal(byId(denied.id).code, 'authz.no_matching_allow');
  assert.equal(byId(anon.id).code, 'authn.missing_credentials');
  assert.equal(byId(missing.id).route, null);
  assert.equal(byId(pay.id).upstream_status, 200);
  const decision = recs.find((r) => r.phase === 'decision' && r.request_id === pay.id);
  assert.ok(decision, 'the audit-required route wrote a decision record before the upstream call');
  assert.ok(decision.seq < byId(pay.id).seq);
  const text = readdirSync(dir).map((n) => readFileSync(join(dir, n), 'utf8')).join('');
  assert.ok(!text.includes(reader) && !text.includes(stranger), 'no token in the audit trail');
  assert.ok(!text.includes(KEY), 'no key in the audit trail');

  const v = await verify([dir], '--key-env', 'AUDIT_KEY', '--checkpoint', join(root, 'a-checkpoints.log'));
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /^ok {5}.*records, last seq \d+, keyed \(HMAC\)$/m);
  assert.match(v.stdout, /cannot be forged/);
});

test('verify finds an edited, a deleted, a reordered record, a wrong key, and truncation with checkpoints', async () => {
  const dir = join(root, 'b');
  const gh = await gateway(dir);
  for (let i = 0; i < 6; i++) {
    const r = await request(`${gh.url}/open/${i}`);
    await r.body.text();
  }
  await gh.stop();
  const [file] = readdirSync(dir).filter((n) => n.endsWith('.jsonl'));
  const lines = readFileSync(join(dir, file!), 'utf8').split('\n').filter(Boolean);
  assert.ok(lines.length >= 7);
  const tampered = (name: string, mutate: (l: string[]) => string[]) => {
    const d = join(root, `b-${name}`);
    cpSync(dir, d, { recursive: true });
    writeFileSync(join(d, file!), `${mutate([...lines]).join('\n')}\n`);
    return d;
  };
  const edited = await verify([tampered('edit', (l) => ((l[3] = l[3]!.replace('"/open/2"', '"/open/X"')), l))], '--key-env', 'AUDIT_KEY');
  assert.equal(edited.code, 1);
  assert.match(edited.stdout, new RegExp(`BROKEN .*${file}:4: content does not match its hash`));
  const deleted = await verify([tampered('delete', (l) => (l.splice(2, 1), l))], '--key-env', 'AUDIT_KEY');
  assert.equal(deleted.code, 1);
  assert.match(deleted.stdout, /:3: does not follow the previous record/);
  const reordered = await verify([tampered('swap', (l) => ([l[2], l[3]] = [l[3]!, l[2]!], l))], '--key-env', 'AUDIT_KEY');
  assert.equal(reordered.code, 1);
  assert.match(reordered.stdout, /:3: does not follow the previous record/);
  const wrongKey = await runCli(['audit', 'verify', dir, '--key-env', 'K'], { env: { K: 'another-key-entirely-0123456789' } });
  assert.equal(wrongKey.code, 1);
  assert.match(wrongKey.stdout, /hmac does not verify/);
  // Dropping the newest records keeps a consistent chain: only the checkpoints reveal it.
  const truncatedDir = tampered('truncate', (l) => l.slice(0, 3));
  const noCp = await verify([truncatedDir], '--key-env', 'AUDIT_KEY');
  assert.equal(noCp.code, 0);
  assert.match(noCp.stdout, /deleting the newest records is not detectable without checkpoints/);
  const withCp = await verify([truncatedDir], '--key-env', 'AUDIT_KEY', '--checkpoint', join(root, 'b-checkpoints.log'));
  assert.equal(withCp.code, 1);
  assert.match(withCp.stdout, /checkpoint seq \d+ .* is not in the chain/);
  const unkeyed = await verify([dir]);
  assert.equal(unkeyed.code, 0, 'the chain itself verifies without the key');
  assert.match(unkeyed.stdout, /NOT keyed/);
});

test('rotation by size continues the chain across files', async () => {
  const dir = join(root, 'c');
  const gh = await gateway(dir, { max_file_size: '1KiB' });
  for (let i = 0; i < 12; i++) {
    const r = await request(`${gh.url}/open/${i}`);
    await r.body.text();
    await settle(60); // one flush per request, so files fill and rotate
  }
  await gh.stop();
  const files = readdirSync(dir).filter((n) => n.endsWith('.jsonl'));
  assert.ok(files.length >= 2, `rotated into ${files.length} files`);
  const v = await verify([dir], '--key-env', 'AUDIT_KEY');
  assert.equal(v.code, 0, v.stdout);
  assert.match(v.stdout, / -> /, 'one chain over several files');
  // Removing a middle file breaks the chain where the next file starts.
  const d = join(root, 'c-gap');
  cpSync(dir, d, { recursive: true });
  rmSync(join(d, files.sort()[1]!));
  const gap = await verify([d], '--key-env', 'AUDIT_KEY');
  assert.equal(gap.code, 1);
  assert.match(gap.stdout, /missing file/);
});

test('an audit-required route refuses with 503 audit.unavailable when the trail cannot write; other routes keep serving', async () => {
  const dir = join(root, 'd');
  const gh = await gateway(dir, { max_file_size: 1 }); // every write opens a new file
  // Turn the folder into a file: opening a new chain file now fails (even for root).
  rmSync(dir, { recursive: true });
  writeFileSync(dir, 'not a folder');
  const before = up.requests.length;
  const r = await request(`${gh.url}/payments/1`, { method: 'POST', body: 'x' });
  const body = (await r.body.json()) as Record<string, unknown>;
  assert.equal(r.statusCode, 503);
  assert.equal(body.code, 'audit.unavailable');
  assert.equal(up.requests.length, before, 'nothing reached the upstream');
  const open = await request(`${gh.url}/open/x`);
  await open.body.text();
  assert.equal(open.statusCode, 200);
  await settle(200);
  const m = await request(`${gh.adminUrl}/metrics`);
  assert.match(await m.body.text(), /^gatehouse_audit_write_failures_total [1-9]/m);
  await gh.stop();
});

test('validate refuses audit: required without an audit trail', async () => {
  const cfg = join(root, 'required.yaml');
  writeFileSync(cfg, 'listeners: [{ port: 8080 }]\nroutes:\n  - name: pay\n    cluster: c\n    audit: required\nclusters:\n  - name: c\n    endpoints: [http://127.0.0.1:9000]\n');
  const r = await runCli(['validate', cfg]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /routes\[0\]\.audit: audit: required needs the audit trail/);
});
